"""A subprocess load for tests/test_memory_bound.py: N chess-game-like nested records, made page by page
while they are loaded (nothing holds them all), into the destination named on the command line.

    python tests/memory_load.py <destination> <n> [loader_file_format]

Prints one JSON line: rows loaded and peak RSS above the size after imports, in MB, of this process
(VmHWM) plus what its forked normalize worker added (its ru_maxrss above the same start; a fork begins
with the parent's pages counted, so this over-counts, the same way for every size)."""

from __future__ import annotations

import datetime as dt
import json
import random
import resource
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import shipload

PAGE = 1000
_MOVES = "e4 e5 Nf3 Nc6 Bb5 a6 Ba4 Nf6 O-O Be7 Re1 b5 Bb3 d6 c3 O-O h3 Nb8 d4 Nbd7 ".split()


def pages(n: int) -> Iterator[list[dict[str, Any]]]:
    rnd = random.Random(16)
    pool = " ".join(rnd.choice(_MOVES) for _ in range(3000))
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for first in range(0, n, PAGE):
        page = []
        for i in range(first, min(n, first + PAGE)):
            length = int(min(4000, max(60, rnd.lognormvariate(6.1, 0.75))))
            offset = rnd.randrange(0, len(pool) - length)
            page.append({
                "id": i, "rated": rnd.random() < 0.8, "time_class": rnd.choice(("blitz", "rapid", "daily")),
                "accuracy": round(rnd.uniform(40, 99), 2), "end_at": start + dt.timedelta(seconds=37 * i),
                "stake": Decimal(rnd.randint(0, 100_000)) / 100, "pgn": pool[offset : offset + length],
                "players": {side: {"username": f"player{rnd.randint(1, 50_000)}", "rating": rnd.randint(800, 2900)}
                            for side in ("white", "black")},
                "clocks": [{"ply": k, "seconds": round(rnd.uniform(0, 600), 1)} for k in range(rnd.randint(0, 6))],
            })
        yield page


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def main() -> None:
    destination, n = sys.argv[1], int(sys.argv[2])
    file_format = sys.argv[3] if len(sys.argv) > 3 else None
    pipeline = shipload.pipeline("memory_bound", destination=destination, dataset_name="games_data")
    start = _status_mb("VmRSS")
    info = pipeline.run(shipload.resource(pages(n), name="games"), loader_file_format=file_format)
    own = _status_mb("VmHWM") - start
    worker = max(0.0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 - start)
    print(json.dumps({"rows": info.row_counts, "own_mb": round(own, 1), "worker_mb": round(worker, 1),
                      "peak_mb": round(own + worker, 1)}))


if __name__ == "__main__":
    main()
