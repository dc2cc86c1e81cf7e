"""dbt-redshift (on redshift_connector) against the local endpoint: a project with a source, a table
model, a late-binding view model and an incremental model; `dbt run` twice, `dbt test` and
`dbt docs generate` pass, and the tables hold what dbt built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg2
import pytest

pytest.importorskip("dbt.adapters.redshift")

PROJECT = {
    "dbt_project.yml": """
name: shipload_endpoint
version: "1.0"
profile: shipload_endpoint
model-paths: ["models"]
""",
    "models/schema.yml": """
version: 2
sources:
  - name: raw
    schema: dbt_endpoint_src
    tables:
      - name: games
        columns:
          - name: id
            data_tests: [not_null, unique]
models:
  - name: games_table
    columns:
      - name: id
        data_tests: [not_null, unique]
  - name: games_view
    columns:
      - name: title
        data_tests: [not_null]
  - name: games_incremental
    columns:
      - name: id
        data_tests: [not_null, unique]
""",
    "models/games_table.sql": """
{{ config(materialized='table', dist='id', sort='id') }}
select id, title, doc, updated_at from {{ source('raw', 'games') }}
""",
    "models/games_view.sql": """
{{ config(materialized='view', bind=False) }}
select id, upper(title) as title from {{ ref('games_table') }}
""",
    "models/games_incremental.sql": """
{{ config(materialized='incremental', unique_key='id') }}
select id, title, updated_at from {{ source('raw', 'games') }}
{% if is_incremental() %}
where updated_at > (select max(updated_at) from {{ this }})
{% endif %}
""",
}


def _sql(info: Any, *statements: str) -> list[tuple[Any, ...]]:
    with closing(psycopg2.connect(host=info.redshift_host, port=info.redshift_port, user=info.username,
                                  password=info.password, dbname=info.database)) as conn, conn.cursor() as cur:
        conn.autocommit = True
        for sql in statements:
            cur.execute(sql)
        return cur.fetchall() if cur.description else []


def _dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DBT_PROFILES_DIR=str(project), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    dbt = Path(sys.executable).parent / "dbt"
    proc = subprocess.run([str(dbt), *args, "--project-dir", str(project)], capture_output=True, text=True,
                          env=env, cwd=project, timeout=300)
    assert proc.returncode == 0, f"dbt {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    return proc


@pytest.mark.slow
def test_dbt_redshift_project_runs_twice_tests_and_documents(local_redshift: Any, tmp_path: Path) -> None:
    info = local_redshift
    project = tmp_path / "dbt"
    for name, text in PROJECT.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text.lstrip(), encoding="utf-8")
    (project / "profiles.yml").write_text(
        "shipload_endpoint:\n  target: dev\n  outputs:\n    dev:\n      type: redshift\n"
        f"      host: {info.redshift_host}\n      port: {info.redshift_port}\n      user: {info.username}\n"
        f"      password: {info.password}\n      dbname: {info.database}\n      schema: dbt_endpoint_out\n"
        "      threads: 1\n      sslmode: disable\n", encoding="utf-8")
    _sql(info, "DROP SCHEMA IF EXISTS dbt_endpoint_out CASCADE", "DROP SCHEMA IF EXISTS dbt_endpoint_src CASCADE",
         "CREATE SCHEMA dbt_endpoint_src",
         "CREATE TABLE dbt_endpoint_src.games (id INT, title VARCHAR(40), doc SUPER, updated_at TIMESTAMP)",
         "INSERT INTO dbt_endpoint_src.games VALUES (1, 'a', JSON_PARSE('{\"k\": 1}'), '2024-01-01'), "
         "(2, 'b', NULL, '2024-01-02')")

    _dbt(project, "run")
    _sql(info, "INSERT INTO dbt_endpoint_src.games VALUES (3, 'c', JSON_PARSE('[1, 2]'), '2024-01-03')",
         "UPDATE dbt_endpoint_src.games SET title = 'b2', updated_at = '2024-01-04' WHERE id = 2")
    _dbt(project, "run")  # the incremental model's second run merges (delete+insert on the unique key)
    _dbt(project, "test")
    _dbt(project, "docs", "generate")

    assert _sql(info, "SELECT id, title FROM dbt_endpoint_out.games_incremental ORDER BY id") == [
        (1, "a"), (2, "b2"), (3, "c")]
    assert _sql(info, "SELECT id, title FROM dbt_endpoint_out.games_view ORDER BY id") == [
        (1, "A"), (2, "B2"), (3, "C")]
    assert _sql(info, "SELECT doc FROM dbt_endpoint_out.games_table WHERE id = 3") == [("[1,2]",)]
    catalog = json.loads((project / "target" / "catalog.json").read_text())
    assert not catalog.get("errors")
    nodes = {key.rsplit(".", 1)[1]: node for key, node in catalog["nodes"].items()}
    assert list(nodes["games_table"]["columns"]) == ["id", "title", "doc", "updated_at"]
    assert nodes["games_table"]["columns"]["doc"]["type"] == "super"
    assert list(nodes["games_view"]["columns"]) == ["id", "title"]
    assert nodes["games_table"]["stats"]["rows"]["value"] == 3  # svv_table_info.tbl_rows
