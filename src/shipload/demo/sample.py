"""The bundled chess.com-shaped sample (`data/chess_sample.json.gz`) and the generator that made it.

    python -m shipload.demo.sample    # writes the file again (deterministic: same seed, same bytes)

Games follow the shape of chess.com's monthly archives (url, pgn, time_control, end_time, rated,
accuracies, tcn, uuid, fen, time_class, rules, eco, white/black {rating, result, @id, username, uuid});
a game between two sample players appears in both players' archives, as on chess.com."""

from __future__ import annotations

import datetime as dt
import gzip
import random
import uuid as uuidlib
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from shipload.demo.chess_api import ChessData

SAMPLE_FILE = "chess_sample.json.gz"
PLAYERS = ("alice_gm", "bob_blitz", "carol_rapid", "dave_daily")
MONTHS = ("2024/01", "2024/02", "2024/03")
GAMES_PER_PLAYER_MONTH = 260
START_FEN = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1"
OPENINGS = (
    ("Sicilian-Defense", "1. e4 c5 2. Nf3 d6 3. d4 cxd4 4. Nxd4 Nf6 5. Nc3 a6"),
    ("Ruy-Lopez-Opening", "1. e4 e5 2. Nf3 Nc6 3. Bb5 a6 4. Ba4 Nf6 5. O-O Be7"),
    ("Queens-Gambit-Declined", "1. d4 d5 2. c4 e6 3. Nc3 Nf6 4. Bg5 Be7 5. e3 O-O"),
    ("French-Defense", "1. e4 e6 2. d4 d5 3. Nc3 Bb4 4. e5 c5 5. a3 Bxc3+"),
    ("Caro-Kann-Defense", "1. e4 c6 2. d4 d5 3. e5 Bf5 4. Nf3 e6 5. Be2 c5"),
    ("English-Opening", "1. c4 e5 2. Nc3 Nf6 3. Nf3 Nc6 4. g3 d5 5. cxd5 Nxd5"),
    ("Kings-Indian-Defense", "1. d4 Nf6 2. c4 g6 3. Nc3 Bg7 4. e4 d6 5. Nf3 O-O"),
)
TIME_CONTROLS = (("bullet", "60"), ("blitz", "180"), ("blitz", "180+2"), ("rapid", "600"), ("daily", "1/86400"))
RESULTS = (("win", "resigned"), ("win", "checkmated"), ("win", "timeout"), ("agreed", "agreed"),
           ("repetition", "repetition"), ("stalemate", "stalemate"), ("resigned", "win"), ("checkmated", "win"))
API = "https://api.chess.com/pub/"


def _uuid(rng: random.Random) -> str:
    return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))


def make_profile(username: str, player_id: int, joined: int, last_online: int, **extra: Any) -> dict[str, Any]:
    return {
        "avatar": f"https://images.chesscomfiles.com/uploads/v1/user/{player_id}.jpeg",
        "player_id": player_id, "@id": f"{API}player/{username}", "url": f"https://www.chess.com/member/{username}",
        "name": username.replace("_", " ").title(), "username": username, "followers": player_id % 5000,
        "country": f"{API}country/{('NO', 'US', 'DE', 'IN')[player_id % 4]}", "location": "Sample City",
        "last_online": last_online, "joined": joined, "status": "premium", "is_streamer": False,
        "verified": False, "league": "Champion", **extra,
    }


def make_game(rng: random.Random, white: str, black: str, end_time: int, ratings: tuple[int, int] = (2500, 2500),
              game_id: int | None = None) -> dict[str, Any]:
    """One game as chess.com's archives return it."""
    time_class, time_control = rng.choice(TIME_CONTROLS)
    opening, moves = rng.choice(OPENINGS)
    white_result, black_result = rng.choice(RESULTS)
    score = "1-0" if white_result == "win" else "0-1" if black_result == "win" else "1/2-1/2"
    game_id = game_id or rng.randrange(10**10, 10**11)
    day = dt.datetime.fromtimestamp(end_time, dt.UTC)
    pgn = "\n".join([
        '[Event "Live Chess"]', '[Site "Chess.com"]', f'[Date "{day:%Y.%m.%d}"]', '[Round "-"]',
        f'[White "{white}"]', f'[Black "{black}"]', f'[Result "{score}"]', f'[TimeControl "{time_control}"]',
        f'[ECOUrl "https://www.chess.com/openings/{opening}"]', f'[EndTime "{day:%H:%M:%S} GMT+0000"]', "",
        f"{moves} {score}",
    ])
    game: dict[str, Any] = {
        "url": f"https://www.chess.com/game/{'daily' if time_class == 'daily' else 'live'}/{game_id}",
        "pgn": pgn, "time_control": time_control, "end_time": end_time, "rated": rng.random() > 0.1,
        "tcn": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789!?") for _ in range(40)),
        "uuid": _uuid(rng), "initial_setup": START_FEN,
        "fen": "r1bqk2r/2ppbppp/p1n2n2/1p2p3/4P3/1B3N2/PPPP1PPP/RNBQR1K1 b kq - 1 7",
        "time_class": time_class, "rules": "chess", "eco": f"https://www.chess.com/openings/{opening}",
        "white": {"rating": ratings[0], "result": white_result, "@id": f"{API}player/{white.lower()}",
                  "username": white, "uuid": _uuid(rng)},
        "black": {"rating": ratings[1], "result": black_result, "@id": f"{API}player/{black.lower()}",
                  "username": black, "uuid": _uuid(rng)},
    }
    if rng.random() < 0.6:
        game["accuracies"] = {"white": round(rng.uniform(60, 99), 2), "black": round(rng.uniform(60, 99), 2)}
    if time_class == "daily":
        game["start_time"] = end_time - rng.randrange(86400, 86400 * 20)
    return game


def generate(seed: int = 7) -> ChessData:
    rng = random.Random(seed)
    data = ChessData()
    ratings = {p: 2300 + 100 * i for i, p in enumerate(PLAYERS)}
    for i, p in enumerate(PLAYERS):
        data.profiles[p] = make_profile(p, 100_000 + i, 1_400_000_000 + i * 10_000_000, 1_711_900_000 + i)
        data.status[p] = {"onlineStatus": ("online", "offline")[i % 2], "lastLoginDate": 1_711_900_000 + i}
    opponents = [f"opponent_{n:03d}" for n in range(120)]
    for month in MONTHS:
        year, mon = int(month[:4]), int(month[5:])
        start = int(dt.datetime(year, mon, 1, tzinfo=dt.UTC).timestamp())
        for p in PLAYERS:
            for _ in range(GAMES_PER_PLAYER_MONTH):
                # every 10th game is against another sample player: it shows in both archives
                other = rng.choice([q for q in PLAYERS if q != p]) if rng.random() < 0.1 else rng.choice(opponents)
                white, black = (p, other) if rng.random() < 0.5 else (other, p)
                game = make_game(rng, white, black, start + rng.randrange(0, 27 * 86400),
                                 (ratings.get(white, 2000 + rng.randrange(400)), ratings.get(black, 2000 + rng.randrange(400))))
                data.add_game(p, month, game)
                if other in data.profiles:
                    data.add_game(other, month, game)
    for games in data.games.values():
        games.sort(key=lambda g: g["end_time"])
    return data


def to_json(data: ChessData) -> bytes:
    return orjson.dumps({
        "profiles": data.profiles, "status": data.status,
        "games": [{"username": u, "month": m, "games": g} for (u, m), g in sorted(data.games.items())],
    })


def load_sample() -> ChessData:
    raw = gzip.decompress(resources.files("shipload.demo").joinpath("data", SAMPLE_FILE).read_bytes())
    body = orjson.loads(raw)
    data = ChessData(profiles=body["profiles"], status=body["status"])
    for entry in body["games"]:
        data.games[(entry["username"], entry["month"])] = entry["games"]
    return data


if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "data" / SAMPLE_FILE
    target.write_bytes(gzip.compress(to_json(generate()), mtime=0))
    print(f"wrote {target} ({target.stat().st_size:,} bytes)")
