"""One benchmark measurement in this (fresh) process; prints one JSON line.

    python bench/runner.py --tool shipload|dlt|ref --scenario parquet|jsonl|postgres_insert|
        postgres_copy|duckdb|redshift_insert|filesystem_parquet|filesystem_jsonl|
        redshift_staged_parquet|redshift_staged_jsonl --kind nested|flat --n N --workdir DIR

Data is generated before the clock starts. Peak RSS is reported above the RSS after generation."""

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

import data  # noqa: E402
from proc_stats import rss_kb  # noqa: E402

#: end-to-end scenarios: (destination, loader file format)
LOAD_SCENARIOS = {
    "postgres_insert": ("postgres", "insert_values"), "postgres_copy": ("postgres", "csv"),
    "duckdb": ("duckdb", None), "redshift_insert": ("redshift", "insert_values"),
    # staged: a whole run into the local Redshift endpoint through its S3 server (bucket_url and keys
    # from the environment run.py sets)
    "redshift_staged_parquet": ("redshift", "parquet"), "redshift_staged_jsonl": ("redshift", "jsonl"),
}
#: extract + normalize for the filesystem destination (a local folder): the files staging uploads
FILESYSTEM = {"filesystem_parquet": "parquet", "filesystem_jsonl": "jsonl"}
STAGED = ("redshift_staged_parquet", "redshift_staged_jsonl")




# -- shipload -----------------------------------------------------------------------------------

def run_shipload(scenario: str, pages: list[list[dict]], workdir: Path) -> dict[str, Any]:
    import shipload
    from shipload.normalize.normalizer import Normalizer

    os.environ["SHIPLOAD_PIPELINES_DIR"] = str(workdir / "pipelines")
    res = shipload.resource(iter(pages), name="games")
    if scenario in ("parquet", "jsonl"):
        p = shipload.pipeline("bench", destination="duckdb", dataset_name="bench")
        p.extract(res)
        if scenario == "parquet":
            p.normalize(loader_file_format="parquet")
        else:
            normalizer = Normalizer(p.storage, lambda schema, table: "jsonl")
            for extracted in p.storage.extracted_packages():
                normalizer.normalize(extracted, p.schema())
        return {}
    if scenario in FILESYSTEM:
        os.environ["DESTINATION__FILESYSTEM__BUCKET_URL"] = str(workdir / "fs")
        p = shipload.pipeline("bench", destination="filesystem", dataset_name="bench")
        p.extract(res)
        p.normalize(loader_file_format=FILESYSTEM[scenario])
        return {}
    destination, fmt = LOAD_SCENARIOS[scenario]
    if destination == "duckdb":
        os.environ["DESTINATION__DUCKDB__CREDENTIALS"] = str(workdir / "bench.duckdb")
    staging = "filesystem" if scenario in STAGED else None
    p = shipload.pipeline("bench", destination=destination, staging=staging, dataset_name="bench")
    info = p.run(res, loader_file_format=fmt)
    return {"rows": sum(info.row_counts.values()), "steps": info.steps}


# -- dlt ------------------------------------------------------------------------------------------

def run_dlt(scenario: str, pages: list[list[dict]], workdir: Path) -> dict[str, Any]:
    import dlt

    res = dlt.resource(iter(pages), name="games")
    pipelines_dir = str(workdir / "dlt_pipelines")
    if scenario in ("parquet", "jsonl") or scenario in FILESYSTEM:
        os.environ["DESTINATION__FILESYSTEM__BUCKET_URL"] = str(workdir / "fs")
        p = dlt.pipeline("bench", destination="filesystem", dataset_name="bench", pipelines_dir=pipelines_dir)
        p.extract(res, loader_file_format=FILESYSTEM.get(scenario, scenario))
        p.normalize()
        return {}
    destination, fmt = LOAD_SCENARIOS[scenario]
    if destination == "duckdb":
        os.environ["DESTINATION__DUCKDB__CREDENTIALS"] = str(workdir / "dlt.duckdb")
    staging = "filesystem" if scenario in STAGED else None
    p = dlt.pipeline("bench", destination=destination, staging=staging, dataset_name="bench",
                     pipelines_dir=pipelines_dir)
    info = p.run(res, loader_file_format=fmt)
    info.raise_on_failed_jobs()
    return {}


# -- physical-limit references ---------------------------------------------------------------------

def run_reference(scenario: str, pages: list[list[dict]], workdir: Path) -> dict[str, Any]:
    from flatten import flatten

    if scenario in STAGED:
        return _reference_staged(scenario, pages)
    scenario = FILESYSTEM.get(scenario, scenario)
    if scenario == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        roots, children = flatten(pages)
        pq.write_table(pa.Table.from_pylist(roots), workdir / "games.parquet")
        if children:
            pq.write_table(pa.Table.from_pylist(children), workdir / "clocks.parquet")
        return {"rows": len(roots) + len(children)}
    if scenario == "jsonl":
        import orjson

        roots, children = flatten(pages)
        for name, rows in (("games", roots), ("clocks", children)):
            with open(workdir / f"{name}.jsonl", "wb") as out:
                dumps = orjson.dumps
                for k in range(0, len(rows), 10_000):
                    out.write(b"\n".join([dumps(r, default=str) for r in rows[k : k + 10_000]]) + b"\n")
        return {"rows": len(roots) + len(children)}
    if scenario == "duckdb":
        import duckdb
        import pyarrow as pa

        roots, children = flatten(pages)
        con = duckdb.connect(str(workdir / "ref.duckdb"))
        con.register("games_arrow", pa.Table.from_pylist(roots))
        con.execute("CREATE TABLE games AS SELECT * FROM games_arrow")
        if children:
            con.register("clocks_arrow", pa.Table.from_pylist(children))
            con.execute("CREATE TABLE clocks AS SELECT * FROM clocks_arrow")
        con.close()
        return {"rows": len(roots) + len(children)}
    return _reference_sql(scenario, pages)


def _reference_staged(scenario: str, pages: list[list[dict]]) -> dict[str, Any]:
    """Hand-written files (pyarrow parquet, or orjson lines gzipped), uploaded with boto3 and loaded
    with one COPY per table through a manifest: no schema inference, no checks."""
    import gzip

    import orjson
    import psycopg2
    import pyarrow as pa
    import pyarrow.parquet as pq
    from flatten import flatten
    from ref_s3 import ref_bucket

    ref = ref_bucket()
    roots, children = flatten(pages)
    conn = psycopg2.connect(os.environ["BENCH_DSN"])
    cur = conn.cursor()
    parquet = scenario.endswith("parquet")
    for name, rows in (("games", roots), ("clocks", children)):
        if not rows:
            continue
        cols = list(rows[0].keys() if name == "clocks" else _all_keys(rows))
        types = {c: _sql_type(next((r.get(c) for r in rows if r.get(c) is not None), None)) for c in cols}
        cur.execute(f"CREATE TABLE {name} (" + ", ".join(f'"{c}" {types[c]}' for c in cols) + ")")
        if parquet:
            buf = io.BytesIO()
            arrow = pa.Table.from_pylist(rows)
            for c in cols:
                if c not in arrow.column_names:
                    arrow = arrow.append_column(c, pa.nulls(len(rows)))
            pq.write_table(arrow.select(cols), buf)
            body, file, fmt = buf.getvalue(), f"{name}.parquet", "FORMAT AS PARQUET"
        else:
            dumps = orjson.dumps
            body = gzip.compress(b"\n".join(dumps(r, default=str) for r in rows) + b"\n", compresslevel=1)
            file, fmt = f"{name}.jsonl.gz", "FORMAT AS JSON 'auto' GZIP"
        ref.copy_file(cur, name, file, body, fmt)
    conn.commit()
    conn.close()
    return {"rows": len(roots) + len(children)}


def _literal(v: Any, backslash: bool) -> str:
    if v is None:
        return "NULL"
    if v is True:
        return "TRUE"
    if v is False:
        return "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    s = v.isoformat() if hasattr(v, "isoformat") else str(v)
    s = s.replace("'", "''")
    if backslash:
        s = s.replace("\\", "\\\\")
    return "'" + s + "'"


def _reference_sql(scenario: str, pages: list[list[dict]]) -> dict[str, Any]:
    import io

    import psycopg2
    from flatten import flatten

    conn = psycopg2.connect(os.environ["BENCH_DSN"])
    conn.autocommit = True
    roots, children = flatten(pages)
    cur = conn.cursor()
    tables = {"games": roots, "clocks": children}
    for name, rows in tables.items():
        if not rows:
            continue
        cols = list(rows[0].keys() if name == "clocks" else _all_keys(rows))
        types = {c: _sql_type(next((r.get(c) for r in rows if r.get(c) is not None), None)) for c in cols}
        cur.execute(f"CREATE TABLE {name} (" + ", ".join(f'"{c}" {types[c]}' for c in cols) + ")")
        if scenario == "postgres_copy":
            fmt = [_csv_formatter(types[c]) for c in cols]
            for k in range(0, len(rows), 50_000):
                buf = io.StringIO()
                buf.write("\n".join(
                    ",".join("" if (v := r.get(c)) is None else f(v) for c, f in zip(cols, fmt, strict=True))
                    for r in rows[k : k + 50_000]
                ))
                buf.seek(0)
                cur.copy_expert(f"COPY {name} FROM STDIN WITH (FORMAT csv)", buf)
        else:
            backslash = scenario == "redshift_insert"
            conn.autocommit = False
            head = f"INSERT INTO {name} VALUES\n"
            chunk: list[str] = []
            size = 0
            for r in rows:
                line = "(" + ",".join(_literal(r.get(c), backslash) for c in cols) + ")"
                if size + len(line) > 15 * 1024 * 1024:
                    cur.execute(head + ",\n".join(chunk))
                    chunk, size = [], 0
                chunk.append(line)
                size += len(line) + 2
            if chunk:
                cur.execute(head + ",\n".join(chunk))
            conn.commit()
            conn.autocommit = True
    conn.close()
    return {"rows": len(roots) + len(children)}


def _csv_formatter(sql_type: str) -> Any:
    if sql_type.startswith("varchar"):
        return lambda v: '"' + v.replace('"', '""') + '"'
    if sql_type == "boolean":
        return lambda v: "t" if v else "f"
    if sql_type == "timestamptz":
        return lambda v: v.isoformat()
    return str


def _all_keys(rows: list[dict]) -> list[str]:
    keys: dict[str, None] = {}
    for r in rows[:2000]:
        keys.update(dict.fromkeys(r))
    return list(keys)


def _sql_type(v: Any) -> str:
    import datetime as dt
    from decimal import Decimal

    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "bigint"
    if isinstance(v, float):
        return "double precision"
    if isinstance(v, Decimal):
        return "numeric(38,9)"
    if isinstance(v, dt.datetime):
        return "timestamptz"
    return "varchar(65535)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--kind", default="nested")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--workdir", required=True, type=Path)
    ap.add_argument("--lazy", action="store_true", help="generate pages while loading (memory scenario)")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    n = args.n or data.default_n(args.kind)
    pages: Any = data.lazy_pages(args.kind, n) if args.lazy else data.pages(args.kind, n)
    baseline = rss_kb("VmRSS")
    started = time.perf_counter()
    run = {"shipload": run_shipload, "dlt": run_dlt, "ref": run_reference}[args.tool]
    extra = run(args.scenario, pages, args.workdir)
    elapsed = time.perf_counter() - started
    peak = rss_kb("VmHWM")
    # a forked normalize worker starts with the parent's pages mapped: count what it added above that
    import resource

    worker = max(0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss - baseline)
    print(json.dumps({"tool": args.tool, "scenario": args.scenario, "kind": args.kind, "seconds": elapsed,
                      "peak_rss_mb": round((peak - baseline + worker) / 1024, 1),
                      "worker_rss_mb": round(worker / 1024, 1), **extra}))


if __name__ == "__main__":
    main()
