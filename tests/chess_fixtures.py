"""chess.com-shaped test data relative to a fixed "now" (the 15th of the current month)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import pytest

from shipload.demo.chess_api import ChessApiServer, ChessData
from shipload.demo.sample import make_game, make_profile
from shipload.templates.chess import helpers as chess_helpers
from shipload.templates.chess.helpers import month_of, months_ago

CONTACT_UA = "chess-tests/1.0 (contact: tests@example.com)"
_today = dt.datetime.now(dt.UTC)
NOW = dt.datetime(_today.year, _today.month, 15, 12, tzinfo=dt.UTC)
THIS_MONTH = month_of(NOW)
LAST_MONTH = months_ago(1, NOW)
OLD_MONTH = months_ago(3, NOW)


def ts(month: str, day: int = 3) -> int:
    return int(dt.datetime(int(month[:4]), int(month[5:]), day, 12, tzinfo=dt.UTC).timestamp())


def chess_data(rng: random.Random) -> ChessData:
    """magnus and hikaru: 5 games each in OLD_MONTH, 4 each plus one between them in LAST_MONTH,
    and one of magnus in THIS_MONTH (20 distinct games)."""
    data = ChessData()
    for i, name in enumerate(("magnus", "hikaru")):
        data.profiles[name] = make_profile(name, 3000 + i, 1_280_000_000, int(NOW.timestamp()) - 3600)
        data.status[name] = {"onlineStatus": "online", "lastLoginDate": 1_700_000_000}
    for month, n in ((OLD_MONTH, 5), (LAST_MONTH, 4)):
        for k in range(n):
            data.add_game("magnus", month, make_game(rng, "magnus", f"opp{k}", ts(month, k + 1)))
            data.add_game("hikaru", month, make_game(rng, f"opp{k}", "hikaru", ts(month, k + 1)))
    shared = make_game(rng, "magnus", "hikaru", ts(LAST_MONTH, 20))
    data.add_game("magnus", LAST_MONTH, shared)
    data.add_game("hikaru", LAST_MONTH, shared)
    data.add_game("magnus", THIS_MONTH, make_game(rng, "magnus", "opp9", int(NOW.timestamp()) - 60))
    return data


@pytest.fixture
def chess_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The local chess.com-shaped API with `chess_data`, configured for the chess source by env."""
    monkeypatch.setattr(chess_helpers, "utc_now", lambda: NOW)
    with ChessApiServer(chess_data(random.Random(1))) as server:
        monkeypatch.setenv("SOURCES__CHESS__BASE_URL", server.api_url)
        monkeypatch.setenv("SOURCES__CHESS__USER_AGENT", CONTACT_UA)
        monkeypatch.setenv("SOURCES__CHESS__BACKOFF_FACTOR", "0.01")
        yield server
