"""The Python examples of the getting-started and chess source pages run as written (the chess one
against the local chess.com-shaped server, into DuckDB instead of a cluster)."""

from __future__ import annotations

import random
import re
from decimal import Decimal
from pathlib import Path

import pytest

from chess_fixtures import CONTACT_UA, ts
from conftest import duck_rows
from shipload.demo.chess_api import ChessApiServer, ChessData
from shipload.demo.sample import make_game, make_profile

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _python_block(page: str, after: str) -> str:
    text = (DOCS / page).read_text()
    return re.search(r"```python\n(.*?)```", text[text.index(after):], re.S).group(1)


def test_getting_started_ten_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code = _python_block("getting-started.md", "## A pipeline in ten lines")
    namespace: dict = {}
    exec(compile(code, "getting-started.md", "exec"), namespace)
    pipeline = namespace["pipeline"]
    assert duck_rows(pipeline, "SELECT id, name FROM chess_data.players") == [(1, "magnus")]
    assert sorted(duck_rows(pipeline, "SELECT year FROM chess_data.players__titles")) == [(2013,), (2014,)]
    assert "players__titles" in capsys.readouterr().out


def test_chess_source_page_example(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code = _python_block("sources/chess.md", "# The chess source")
    code = code.replace("from chess import source", "from shipload.templates.chess import source")
    code = code.replace('destination="redshift"', 'destination="duckdb"')
    data = ChessData()
    rng = random.Random(4)
    for i, name in enumerate(("magnuscarlsen", "hikaru")):
        data.profiles[name] = make_profile(name, i + 1, 1_300_000_000, 1_700_000_000)
        for month in ("2023/12", "2024/01", "2024/02", "2024/03", "2024/04"):
            data.add_game(name, month, make_game(rng, name, "opp", ts(month)))
    with ChessApiServer(data) as api:
        monkeypatch.setenv("SOURCES__CHESS__BASE_URL", api.api_url)
        monkeypatch.setenv("SOURCES__CHESS__USER_AGENT", CONTACT_UA)
        namespace: dict = {}
        exec(compile(code, "sources/chess.md", "exec"), namespace)
    pipeline = namespace["pipeline"]
    assert duck_rows(pipeline, "SELECT count(*) FROM chess_players_games_data.players_games") == [(6,)]
    assert duck_rows(pipeline, "SELECT count(*) FROM chess_players_games_data.players_profiles") == [(2,)]


def test_getting_started_arrow_example(capsys: pytest.CaptureFixture[str]) -> None:
    code = _python_block("getting-started.md", "## Arrow and pandas input")
    namespace: dict = {}
    exec(compile(code, "getting-started.md", "exec"), namespace)
    pipeline = namespace["pipeline"]
    assert duck_rows(pipeline, "SELECT count(*), count(name), sum(amount) FROM arrow_data.events") == [
        (3000, 2700, Decimal("44985.00"))]
    assert duck_rows(pipeline, "SELECT player__name, player__elo, tags::VARCHAR FROM arrow_data.events LIMIT 1") == [
        ("magnus", 2830, '["blitz"]')]
    assert "events" in capsys.readouterr().out
