"""The examples in examples/ and the docs run as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_redshift_example_runs_on_the_local_endpoint(local_redshift: Any, tmp_path: Path) -> None:
    env = dict(os.environ, **local_redshift.env(), SHIPLOAD_PIPELINES_DIR=str(tmp_path / "pipelines"))
    for _ in range(2):  # the second run merges nothing new
        done = subprocess.run([sys.executable, str(EXAMPLES / "redshift_local.py")], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert "games: 100" in done.stdout


def test_staging_example_runs_on_the_local_endpoint(local_redshift: Any, tmp_path: Path) -> None:
    env = dict(os.environ, **local_redshift.env(), SHIPLOAD_PIPELINES_DIR=str(tmp_path / "pipelines"))
    env["DESTINATION__FILESYSTEM__BUCKET_URL"] = f"s3://{local_redshift.bucket}/examples-{tmp_path.name}"
    env["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"] = _fresh_database(local_redshift, "staging_example")
    for args in ([], ["jsonl"]):  # parquet, then jsonl: the merge keeps one row per player
        done = subprocess.run([sys.executable, str(EXAMPLES / "redshift_staging.py"), *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "players: 50 best: 2000" in done.stdout and "games: 75" in done.stdout


def _fresh_database(info: Any, name: str) -> str:
    import psycopg2

    conn = psycopg2.connect(host=info.redshift_host, port=info.redshift_port, user=info.username,
                            password=info.password, dbname=info.database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return name
