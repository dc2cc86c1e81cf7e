"""Cost of schema detections in normalize: extract + normalize to parquet of the `flat` data (its
`start_iso` column holds ISO 8601 strings) with the default detections and with none.

    python bench/detections.py [--n 300000] [--runs 3]

Each measurement runs in a fresh process and counts CPU seconds (main process and its forked
normalize worker), so other load on the machine matters less; prints one line per setting (median
and min-max)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _cpu() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(detections: str, n: int, workdir: Path) -> float:
    """CPU seconds (this process and its normalize worker): the machine may be shared."""
    import data

    import shipload

    os.environ["SHIPLOAD_PIPELINES_DIR"] = str(workdir / "pipelines")
    pages = data.pages("flat", n)
    started = _cpu()
    p = shipload.pipeline("bench_detect", destination="duckdb", dataset_name="bench")
    p.default_schema.settings["detections"] = json.loads(detections)
    p.extract(shipload.resource(iter(pages), name="games"))
    p.normalize(loader_file_format="parquet")
    return _cpu() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        with tempfile.TemporaryDirectory() as tmp:
            print(measure(args.one, args.n, Path(tmp)))
        return
    settings = ('["iso_timestamp"]', "[]")
    times: dict[str, list[float]] = {s: [] for s in settings}
    for _ in range(args.runs):  # interleaved, so load from other processes hits both alike
        for setting in settings:
            out = subprocess.run([sys.executable, __file__, "--n", str(args.n), "--one", setting],
                                 check=True, capture_output=True, text=True).stdout
            times[setting].append(float(out.split()[-1]))
    for setting, ts in times.items():
        print(f"detections={setting:<18} {statistics.median(ts):.2f} s ({min(ts):.2f}-{max(ts):.2f}), "
              f"{args.n} flat records, extract + normalize to parquet, CPU seconds")


if __name__ == "__main__":
    main()
