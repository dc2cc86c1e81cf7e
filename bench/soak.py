"""Soak: a 2,000,000-row staged load (parquet through S3 and COPY) into a local Redshift endpoint of
its own, with exact counts and the memory the loading process held.

    .venv/bin/python bench/soak.py                 # 2,000,000 rows (a few minutes on 2 cores)
    .venv/bin/python bench/soak.py --rows 200000 --format jsonl

Rows are generated lazily (never all in memory); each has a child list, so two tables load. The
process's RSS is sampled every 0.2 s; the run passes when both tables hold exactly the rows given,
ids are distinct, and no staged file is left in the bucket. Not part of `.ci/run`."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def rows(n: int) -> Any:
    for start in range(0, n, 10_000):
        yield [{"id": i, "player": f"player-{i % 9973}", "rating": 1000 + i % 1800, "result": ("1-0", "0-1", "1/2")[i % 3],
                "moves": [{"san": "e4", "ms": i % 997}] if i % 2 else []}
               for i in range(start, min(start + 10_000, n))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--format", choices=("parquet", "jsonl"), default="parquet")
    args = parser.parse_args()
    from shipload.local.endpoint import LocalEndpoint

    with tempfile.TemporaryDirectory(prefix="shipload-soak-") as tmp:
        endpoint = LocalEndpoint(Path(tmp) / "endpoint")
        info = endpoint.up()
        try:
            os.environ.update(info.env())
            os.environ["SHIPLOAD_PIPELINES_DIR"] = str(Path(tmp) / "pipelines")
            import shipload

            samples: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    samples.append(rss_mb())
                    time.sleep(0.2)

            base = rss_mb()
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.time()
            p = shipload.pipeline("soak", destination="redshift", staging="filesystem", dataset_name="soak")
            p.run(rows(args.rows), table_name="games", loader_file_format=args.format)
            elapsed = time.time() - started
            done.set()
            sampler.join()
            with p.sql_client() as c:
                n, distinct = c.query(f"SELECT count(*), count(DISTINCT id) FROM {c.table('games')}")[1][0]
                moves = c.query(f"SELECT count(*) FROM {c.table('games__moves')}")[1][0][0]
            import boto3

            s3 = boto3.client("s3", endpoint_url=info.s3_endpoint, aws_access_key_id=info.access_key_id,
                              aws_secret_access_key=info.secret_access_key, region_name="us-east-1")
            left = s3.list_objects_v2(Bucket=info.bucket).get("Contents", [])
            children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e3
            ok = n == distinct == args.rows and moves == args.rows // 2 and not left
            print(f"rows {n:,} (distinct ids {distinct:,}), child rows {moves:,}, staged files left {len(left)}")
            print(f"{args.rows / elapsed:,.0f} rows/s in {elapsed:.1f} s; RSS at start {base:.0f} MB, "
                  f"peak {max(samples):.0f} MB (+{max(samples) - base:.0f} MB); peak of forked workers {children:.0f} MB")
            print("OK" if ok else "FAILED: counts or leftovers differ")
            return 0 if ok else 1
        finally:
            endpoint.down(remove_data=True)


if __name__ == "__main__":
    sys.exit(main())
