"""One `run()` of the bench data, streamed or on disk, in this process: wall, CPU, steps, RSS.

    NORMALIZE__STREAM=true  .venv/bin/python bench/streaming_ab.py nested 100000 duckdb
    NORMALIZE__STREAM=false .venv/bin/python bench/streaming_ab.py nested 100000 duckdb

Interleave the two, a few runs each: CPU seconds (this process and the normalize worker) say more
than wall time on a shared machine. Prints one JSON line; RSS is the peak (absolute, MB), the
worker's included (it is forked, so it starts at the parent's size)."""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402


def cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    kind, n, destination = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fmt = sys.argv[4] if len(sys.argv) > 4 else None
    pages = data.pages(kind, n)
    work = Path(tempfile.mkdtemp())
    os.environ["SHIPLOAD_PIPELINES_DIR"] = str(work / "pipelines")
    os.environ.setdefault("DESTINATION__DUCKDB__CREDENTIALS", str(work / "bench.duckdb"))
    os.environ.setdefault("DESTINATION__FILESYSTEM__BUCKET_URL", str(work / "fs"))
    import shipload

    p = shipload.pipeline("bench", destination=destination, dataset_name="bench", progress="off")
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    info = p.run(shipload.resource(iter(pages), name="games"), loader_file_format=fmt)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "streamed": os.environ.get("NORMALIZE__STREAM", "true"), "wall": round(wall, 3), "cpu": round(cpu, 3),
        "worker_cpu": round(kids.ru_utime + kids.ru_stime, 3), "rows": sum(info.row_counts.values()),
        "steps": {k: round(v, 3) for k, v in info.steps.items()},
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "worker_rss_mb": kids.ru_maxrss // 1024,
    }))


if __name__ == "__main__":
    main()
