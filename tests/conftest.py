from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in its own project folder with its own pipelines folder and a clean env."""
    for key in list(os.environ):
        if key.startswith(("DESTINATION__", "SHIPLOAD_", "CREDENTIALS__")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHIPLOAD_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.setenv("SHIPLOAD_PROJECT_DIR", str(tmp_path))
    return tmp_path


def duck_rows(pipeline: Any, sql: str) -> list[tuple[Any, ...]]:
    """Run a query on the pipeline's DuckDB file (read-only connection)."""
    import duckdb

    con = duckdb.connect(pipeline.destination.resolve_credentials(pipeline.pipeline_name).database, read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def duck_columns(pipeline: Any, table: str) -> dict[str, str]:
    rows = duck_rows(
        pipeline,
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{pipeline.dataset_name}' AND table_name = '{table}' ORDER BY ordinal_position",
    )
    return dict(rows)
