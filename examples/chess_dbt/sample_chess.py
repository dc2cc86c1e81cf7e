"""Chess-shaped sample data, offline: the tables and fields of the chess source of `shipload init chess`
(chess.com's public API, time stamps as the source converts them) with made-up games, so the dbt
example runs without a network.

Tables: players_profiles (replace), players_games (append; the monthly archive's fields),
players_online_status (append)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import shipload

PLAYERS = ("MagnusCarlsen", "Hikaru", "Firouzja2003")
RESULTS = (("win", "checkmated"), ("resigned", "win"), ("agreed", "agreed"), ("timeout", "win"), ("win", "resigned"))


def profile(username: str) -> dict[str, Any]:
    key = username.lower()
    return {
        "@id": f"https://api.chess.com/pub/player/{key}",
        "url": f"https://www.chess.com/member/{key}",
        "username": key,
        "player_id": int(hashlib.sha1(key.encode()).hexdigest()[:6], 16),
        "name": f"Player {username}",
        "title": "GM",
        "followers": len(key) * 1000,
        "country": "https://api.chess.com/pub/country/NO",
        "last_online": dt.datetime(2023, 11, 14, 22, 13, tzinfo=dt.UTC),
        "joined": dt.datetime(2011, 3, 13, 7, 6, tzinfo=dt.UTC),
        "status": "premium",
        "is_streamer": False,
        "verified": False,
        "league": "Legend",
    }


def games_of_month(year: int, month: int, count: int) -> list[dict[str, Any]]:
    """`count` games among PLAYERS that ended in `year`-`month`, results cycling through RESULTS."""
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    out = []
    for i in range(count):
        white, black = PLAYERS[i % len(PLAYERS)], PLAYERS[(i + 1) % len(PLAYERS)]
        white_result, black_result = RESULTS[i % len(RESULTS)]
        uuid = hashlib.md5(f"{year}-{month}-{i}".encode()).hexdigest()
        out.append({
            "url": f"https://www.chess.com/game/live/{uuid[:10]}",
            "pgn": f'[Event "Live Chess"]\n[White "{white}"]\n[Black "{black}"]\n\n1. e4 e5 2. Nf3 Nc6 *',
            "time_control": "180",
            "end_time": start + dt.timedelta(hours=i + 1),
            "rated": i % 4 != 0,
            "accuracies": {"white": 90.5 - i % 7, "black": 88.25 - i % 5},
            "tcn": "mC0Kgv5Q",
            "uuid": uuid,
            "initial_setup": "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1",
            "fen": "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq -",
            "time_class": "blitz",
            "rules": "chess",
            "white": {"rating": 3000 + i, "result": white_result, "@id": f"https://api.chess.com/pub/player/{white.lower()}",
                      "username": white, "uuid": hashlib.md5(white.encode()).hexdigest()},
            "black": {"rating": 2900 + i, "result": black_result, "@id": f"https://api.chess.com/pub/player/{black.lower()}",
                      "username": black, "uuid": hashlib.md5(black.encode()).hexdigest()},
        })
    return out


@shipload.source(name="chess")
def sample_chess(months: tuple[tuple[int, int], ...] = ((2023, 10), (2023, 11)), games_per_month: int = 10) -> Any:
    @shipload.resource(write_disposition="replace")
    def players_profiles() -> Any:
        yield [profile(p) for p in PLAYERS]

    @shipload.resource(write_disposition="append")
    def players_games() -> Any:
        for year, month in months:
            yield games_of_month(year, month, games_per_month)

    @shipload.resource(write_disposition="append")
    def players_online_status() -> Any:
        yield [{"username": p.lower(), "online_status": "offline"} for p in PLAYERS]

    return players_profiles, players_games, players_online_status
