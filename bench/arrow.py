"""The Arrow scenarios: one measurement in this (fresh) process; prints one JSON line.

    python bench/arrow.py --tool shipload|dlt|ref --scenario duckdb_arrow|redshift_staged_arrow
        --kind batches --n N --workdir DIR

Data (made with pyarrow before the clock starts, the same for every tool): N rows (default
2,000,000) of 6 columns, an int64 id, a nullable text (one in seven null, multi-byte characters
included), a double, a bool, a timestamp with time zone (UTC, microseconds) and a decimal(18,2), as
record batches of 100,000 rows. shipload and dlt run with their defaults (`run` of a resource that
yields the batches; DuckDB, or Redshift with `staging="filesystem"` and parquet). The references:
pyarrow's parquet write plus DuckDB's `read_parquet`, and pyarrow parquet + boto3 upload + one
`COPY ... MANIFEST`. Both loaders add their own columns where their defaults do: shipload
`_sl_load_id` and `_sl_id` on every row, dlt none for Arrow input."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proc_stats import cpu_seconds, rss_kb  # noqa: E402

BATCH = 100_000
WORDS = ["alpha", "béta", "gamma", "δέλτα", "epsilon zeta", "日本語のテキスト", "omega-long-" * 4]


def batches(n: int) -> list[Any]:
    """The record batches (deterministic, built column by column)."""
    import decimal

    import pyarrow as pa

    out = []
    base = 1_704_067_200_000_000  # 2024-01-01 UTC in microseconds
    for start in range(0, n, BATCH):
        m = min(BATCH, n - start)
        rows = range(start, start + m)
        out.append(pa.RecordBatch.from_arrays([
            pa.array(rows, pa.int64()),
            pa.array([None if i % 7 == 3 else WORDS[i % len(WORDS)] for i in rows], pa.string()),
            pa.array([i * 0.25 for i in rows], pa.float64()),
            pa.array([i % 3 == 0 for i in rows], pa.bool_()),
            pa.array([base + i * 1_000_003 for i in rows], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            pa.array([decimal.Decimal(i * 7) / 100 for i in rows], pa.decimal128(18, 2)),
        ], names=["id", "name", "score", "flag", "at", "amount"]))
    return out


def run_shipload(scenario: str, data: list[Any], workdir: Path) -> dict[str, Any]:
    import shipload

    os.environ["SHIPLOAD_PIPELINES_DIR"] = str(workdir / "pipelines")
    res = shipload.resource(iter(data), name="events")
    if scenario == "duckdb_arrow":
        os.environ["DESTINATION__DUCKDB__CREDENTIALS"] = str(workdir / "bench.duckdb")
        p = shipload.pipeline("bench", destination="duckdb", dataset_name="bench")
        info = p.run(res)
    else:
        p = shipload.pipeline("bench", destination="redshift", staging="filesystem", dataset_name="bench")
        info = p.run(res, loader_file_format="parquet")
    return {"rows": sum(info.row_counts.values())}


def run_dlt(scenario: str, data: list[Any], workdir: Path) -> dict[str, Any]:
    import dlt

    res = dlt.resource(iter(data), name="events")
    pipelines_dir = str(workdir / "dlt_pipelines")
    if scenario == "duckdb_arrow":
        os.environ["DESTINATION__DUCKDB__CREDENTIALS"] = str(workdir / "dlt.duckdb")
        p = dlt.pipeline("bench", destination="duckdb", dataset_name="bench", pipelines_dir=pipelines_dir)
        info = p.run(res)
    else:
        p = dlt.pipeline("bench", destination="redshift", staging="filesystem", dataset_name="bench",
                         pipelines_dir=pipelines_dir)
        info = p.run(res, loader_file_format="parquet")
    info.raise_on_failed_jobs()
    return {}


def run_reference(scenario: str, data: list[Any], workdir: Path) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_batches(data)
    if scenario == "duckdb_arrow":
        import duckdb

        path = workdir / "events.parquet"
        pq.write_table(table, path)
        con = duckdb.connect(str(workdir / "ref.duckdb"))
        con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{path}')")
        con.close()
        return {"rows": len(table)}
    import psycopg2
    from ref_s3 import ref_bucket

    ref = ref_bucket()
    buf = io.BytesIO()
    pq.write_table(table, buf)
    conn = psycopg2.connect(os.environ["BENCH_DSN"])
    cur = conn.cursor()
    cur.execute('CREATE TABLE events (id bigint, "name" varchar(256), score double precision, flag boolean, '
                '"at" timestamptz, amount numeric(18,2))')
    ref.copy_file(cur, "events", "events.parquet", buf.getvalue(), "FORMAT AS PARQUET")
    conn.commit()
    conn.close()
    return {"rows": len(table)}




def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--scenario", required=True, choices=("duckdb_arrow", "redshift_staged_arrow"))
    ap.add_argument("--kind", default="batches")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--workdir", required=True, type=Path)
    ap.add_argument("--lazy", action="store_true", help="accepted for run.py's sake; has no effect")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = batches(args.n or 2_000_000)
    baseline = rss_kb("VmRSS")
    cpu = cpu_seconds()
    started = time.perf_counter()
    run = {"shipload": run_shipload, "dlt": run_dlt, "ref": run_reference}[args.tool]
    extra = run(args.scenario, data, args.workdir)
    elapsed = time.perf_counter() - started
    print(json.dumps({"tool": args.tool, "scenario": args.scenario, "kind": args.kind, "seconds": elapsed,
                      "cpu_s": round(cpu_seconds() - cpu, 2),
                      "peak_rss_mb": round((rss_kb("VmHWM") - baseline) / 1024, 1), **extra}))


if __name__ == "__main__":
    sys.exit(main())
