"""Memory stays bounded by page and file size, not by data size: a subprocess load of 300,000
nested records (made page by page) peaks within a fixed margin of the same load of 30,000.

Both runs write load files of the same size (`file_max_bytes` 16 MB, so the small run's files are
full ones too) and DuckDB runs under `memory_limit = "64MB"` (a small container's setting; its
buffer pool fills to the limit in both runs), so what may differ is only what grows with the data by
design: schema and row-count dicts, and the allocator's fragmentation over 10x more pages. 60 MB is
about 20 % of the 300k run's data (~300 MB as JSON): a load that held all rows, all pages or whole
files would exceed it several times over. Before the bound (main at d58c9f7: DuckDB without a memory
limit, insert_values frames held whole and copied) these loads peaked 365 MB (DuckDB) and 214 MB
(Postgres insert_values) for 300k against 190 MB and 124 MB for 30k; after, 207 / 164 MB and
117 / 72 MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("memory_load.py")
SMALL, BIG = 30_000, 300_000
MARGIN_MB = 60
FILE_MAX_BYTES = 16 * 1024 * 1024


def _load(destination: str, n: int, *args: str) -> dict:
    # the forked worker is measured too, on any machine; files of one size in both runs (see the docstring)
    env = {**os.environ, "NORMALIZE__WORKERS": "2", "NORMALIZE__FILE_MAX_BYTES": str(FILE_MAX_BYTES)}
    done = subprocess.run([sys.executable, str(SCRIPT), destination, str(n), *args], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _assert_bounded(destination: str, *args: str) -> tuple[dict, dict]:
    small = _load(destination, SMALL, *args)
    big = _load(destination, BIG, *args)
    assert small["rows"]["games"] == SMALL and big["rows"]["games"] == BIG
    assert big["peak_mb"] <= small["peak_mb"] + MARGIN_MB, (
        f"{destination}: peak RSS {big['peak_mb']} MB for {BIG:,} records against {small['peak_mb']} MB for "
        f"{SMALL:,} (own {big['own_mb']} / {small['own_mb']}, worker {big['worker_mb']} / {small['worker_mb']})"
    )
    print(f"{destination}{args}: peak above start {small['peak_mb']} MB ({SMALL:,}), {big['peak_mb']} MB ({BIG:,})")
    return small, big


@pytest.mark.slow
def test_duckdb_load_memory_does_not_grow_with_data_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "games.duckdb"))
    monkeypatch.setenv("DESTINATION__DUCKDB__MEMORY_LIMIT", "64MB")
    _assert_bounded("duckdb")
    import duckdb

    con = duckdb.connect(str(tmp_path / "games.duckdb"), read_only=True)
    try:  # both runs appended: every record once
        assert con.execute("SELECT count(*), count(DISTINCT id) FROM games_data.games").fetchone() == (
            SMALL + BIG, BIG)
    finally:
        con.close()


@pytest.mark.slow
def test_postgres_insert_values_memory_does_not_grow_with_data_size(postgres_db: str) -> None:
    _assert_bounded("postgres", "insert_values")
    import psycopg2

    conn = psycopg2.connect(postgres_db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), count(DISTINCT id) FROM games_data.games")
            assert cur.fetchone() == (SMALL + BIG, BIG)
    finally:
        conn.close()


def test_duckdb_memory_limit_and_threads_reach_the_load_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    import shipload
    from shipload.destinations.duckdb.client import DEFAULT_MEMORY_LIMIT

    pipeline = shipload.pipeline("limits", destination="duckdb", dataset_name="d")
    client = pipeline.destination.client("limits", "d")
    client.open()
    try:
        default = client.execute("SELECT current_setting('memory_limit')")[0][0]
    finally:
        client.close()
    monkeypatch.setenv("DESTINATION__DUCKDB__MEMORY_LIMIT", "48MB")
    monkeypatch.setenv("DESTINATION__DUCKDB__THREADS", "1")
    client = pipeline.destination.client("limits", "d")
    client.open()
    try:
        assert client.execute("SELECT current_setting('memory_limit'), current_setting('threads')")[0] == (
            "45.7 MiB", 1)  # DuckDB shows 48 MB in MiB
    finally:
        client.close()
    assert DEFAULT_MEMORY_LIMIT == "128MB" and default == "122.0 MiB"


def test_duckdb_memory_limit_refuses_a_value_that_is_not_a_size(monkeypatch: pytest.MonkeyPatch) -> None:
    import shipload
    from shipload.exceptions import PipelineStepFailed

    monkeypatch.setenv("DESTINATION__DUCKDB__MEMORY_LIMIT", "lots'; DROP TABLE x; --")
    pipeline = shipload.pipeline("limits", destination="duckdb", dataset_name="d")
    with pytest.raises(PipelineStepFailed, match=r"destination\.duckdb\.memory_limit must be a size like '256MB'"):
        pipeline.run([{"id": 1}], table_name="t")
    monkeypatch.setenv("DESTINATION__DUCKDB__MEMORY_LIMIT", "64MB")  # fixed: the rerun loads
    pipeline.run([{"id": 1}], table_name="t")


def test_duckdb_out_of_memory_names_the_setting_and_a_rerun_with_more_loads_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shipload
    from conftest import duck_rows
    from shipload.exceptions import PipelineStepFailed

    rows = [{"id": i, "text": f"{i:06d}" * 400} for i in range(5000)]
    monkeypatch.setenv("DESTINATION__DUCKDB__MEMORY_LIMIT", "2MB")
    pipeline = shipload.pipeline("oom", destination="duckdb", dataset_name="d")
    with pytest.raises(PipelineStepFailed, match=r"memory_limit 2MB: raise \[destination\.duckdb\] memory_limit"):
        pipeline.run(rows, table_name="t")
    monkeypatch.setenv("DESTINATION__DUCKDB__MEMORY_LIMIT", "256MB")
    pipeline.load()
    assert duck_rows(pipeline, "SELECT count(*), count(DISTINCT id) FROM d.t") == [(5000, 5000)]


def test_arrow_input_is_written_in_row_groups_of_bounded_size(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    import shipload

    text = "x" * 1000
    table = pa.table({"id": pa.array(range(100_000), pa.int64()), "text": pa.array([text] * 100_000)})
    pipeline = shipload.pipeline("arrow_groups", destination="duckdb", dataset_name="d")
    pipeline.extract(shipload.resource([table], name="t"))
    pipeline.normalize()
    files = [f for f in (tmp_path / "pipelines").rglob("t.*.parquet")]
    assert files, "no parquet load file for table t"
    meta = pq.ParquetFile(files[0]).metadata
    assert meta.num_rows == 100_000 and meta.num_row_groups >= 6  # ~100 MB of text in groups of <= 16 MB
    pipeline.load()
    from conftest import duck_rows

    assert duck_rows(pipeline, "SELECT count(*), min(length(text)) FROM d.t") == [(100_000, 1000)]
