"""Seeded chess-game-like records for the benchmark (standard library only: the dlt venv imports it).

nested: 17 scalar fields (ints, an epoch bigint, floats, bools, ISO timestamp strings, tz-aware
datetimes, Decimals, short enum strings, a PGN text of 60-4000 characters averaging ~560, nullable
fields), one dict of 8 leaves over two levels (`players`), and a list of 0-9 dicts averaging ~3
(`clocks`, a child table). flat: the 17 scalars."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

PAGE = 1000
SEED = 20261126
_MOVES = "e4 e5 Nf3 Nc6 Bb5 a6 Ba4 Nf6 O-O Be7 Re1 b5 Bb3 d6 c3 O-O h3 Nb8 d4 Nbd7 c4 c6 cxb5 axb5 Nc3 Bb7 ".split()


def _text_pool(rnd: random.Random) -> str:
    return " ".join(rnd.choice(_MOVES) for _ in range(3000))


def record(i: int, rnd: random.Random, pool: str, nested: bool) -> dict[str, Any]:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=37 * i)
    length = int(min(4000, max(60, rnd.lognormvariate(6.1, 0.75))))
    offset = rnd.randrange(0, len(pool) - length)
    rec: dict[str, Any] = {
        "id": i,
        "url": f"https://www.chess.com/game/live/{9_000_000_000 + i}",
        "end_time": 1_704_067_200 + 37 * i,
        "rated": rnd.random() < 0.8,
        "time_class": rnd.choice(("blitz", "rapid", "bullet", "daily")),
        "rules": "chess" if rnd.random() < 0.95 else "chess960",
        "accuracy_white": round(rnd.uniform(40, 99), 2),
        "accuracy_black": round(rnd.uniform(40, 99), 2) if rnd.random() < 0.7 else None,
        "start_iso": start.isoformat(),
        "end_at": start + dt.timedelta(minutes=rnd.randint(1, 90)),
        "stake": Decimal(rnd.randint(0, 100_000)) / 100,
        "fee": Decimal(rnd.randint(0, 500)) / 100 if rnd.random() < 0.5 else None,
        "eco": f"{rnd.choice('ABCDE')}{rnd.randint(0, 99):02d}",
        "termination": rnd.choice(("checkmate", "resignation", "timeout", "agreed", "stalemate")),
        "pgn": pool[offset : offset + length],
        "tournament": f"https://www.chess.com/tournament/t{rnd.randint(1, 500)}" if rnd.random() < 0.2 else None,
        "moves_count": rnd.randint(10, 120),
    }
    if nested:
        rec["players"] = {
            side: {"username": f"player{rnd.randint(1, 50_000)}", "rating": rnd.randint(800, 2900),
                   "result": rnd.choice(("win", "lose", "draw")), "uuid": f"{rnd.getrandbits(64):016x}"}
            for side in ("white", "black")
        }
        rec["clocks"] = [
            {"ply": k, "seconds": round(rnd.uniform(0, 600), 1), "san": rnd.choice(_MOVES)}
            for k in range(int(rnd.triangular(0, 10, 0)))
        ]
    return rec


def pages(kind: str, n: int) -> list[list[dict[str, Any]]]:
    """All records, as pages of 1,000 (generated before any clock starts)."""
    rnd = random.Random(SEED)
    pool = _text_pool(rnd)
    nested = kind == "nested"
    records = [record(i, rnd, pool, nested) for i in range(n)]
    return [records[k : k + PAGE] for k in range(0, n, PAGE)]


def default_n(kind: str) -> int:
    return 100_000 if kind == "nested" else 300_000


def lazy_pages(kind: str, n: int) -> Any:
    """The same records, made page by page while they are consumed (nothing held in memory)."""
    rnd = random.Random(SEED)
    pool = _text_pool(rnd)
    nested = kind == "nested"
    for start in range(0, n, PAGE):
        yield [record(i, rnd, pool, nested) for i in range(start, min(n, start + PAGE))]
