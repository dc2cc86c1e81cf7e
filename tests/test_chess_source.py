"""The bundled chess source against a local chess.com-shaped HTTP server (never the internet)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest

import shipload
from chess_fixtures import CONTACT_UA, LAST_MONTH, NOW, OLD_MONTH, THIS_MONTH, chess_api
from conftest import duck_rows
from shipload.demo.chess_api import ChessApiServer
from shipload.demo.sample import make_game, make_profile
from shipload.exceptions import ConfigError, PipelineStepFailed
from shipload.helpers.http import HttpForbidden, HttpRetriesExhausted
from shipload.templates.chess import helpers as chess_helpers
from shipload.templates.chess import source

api = chess_api


def _pipeline() -> Any:
    return shipload.pipeline("chess_test", destination="duckdb", dataset_name="chess_data")


def _uuids(p: Any) -> list[str]:
    return [r[0] for r in duck_rows(p, "SELECT uuid FROM chess_data.players_games ORDER BY uuid")]


def test_profiles_games_and_status_load_with_types(api: ChessApiServer) -> None:
    p = _pipeline()
    info = p.run(source(["Magnus", "hikaru"], start_month=LAST_MONTH))
    data = api.data
    assert info.row_counts["players_profiles"] == 2
    profiles = duck_rows(p, "SELECT username, joined, last_online, aid FROM chess_data.players_profiles ORDER BY username")
    assert profiles[1][0] == "magnus"
    assert profiles[1][1] == dt.datetime.fromtimestamp(data.profiles["magnus"]["joined"], dt.UTC)
    assert isinstance(profiles[1][2], dt.datetime) and profiles[1][3].endswith("/player/magnus")
    # last month (4 + 4 + the shared game once) and this month's game; the old month is out of range
    expected = {g["uuid"] for (u, m), gs in data.games.items() if m >= LAST_MONTH for g in gs}
    assert _uuids(p) == sorted(expected) and len(expected) == 10
    rows = duck_rows(p, "SELECT white__username, black__result, end_time FROM chess_data.players_games "
                        "WHERE black__username = 'hikaru' AND white__username = 'magnus'")
    assert len(rows) == 1 and isinstance(rows[0][2], dt.datetime)
    # online status is a separate snapshot resource, and archives are not loaded by default
    tables = {r[0] for r in duck_rows(p, "SELECT table_name FROM information_schema.tables "
                                         "WHERE table_schema = 'chess_data'")}
    assert "players_online_status" in tables and "players_archives" not in tables
    status = duck_rows(p, "SELECT username, online_status FROM chess_data.players_online_status ORDER BY 1")
    assert status == [("hikaru", "online"), ("magnus", "online")]
    assert all(ua == CONTACT_UA for _, ua in api.requests)


def test_current_month_is_refetched_and_new_games_load_once(api: ChessApiServer) -> None:
    p = _pipeline()
    p.run(source(["magnus", "hikaru"]).with_resources("players_games"))
    first = _uuids(p)
    assert len(first) == 20
    # later this month magnus plays two more games; old months must not be fetched again
    rng = random.Random(2)
    late = [make_game(rng, "opp7", "magnus", int(NOW.timestamp()) - 30) for _ in range(2)]
    for g in late:
        api.data.add_game("magnus", THIS_MONTH, g)
    api.requests.clear()
    info = p.run(source(["magnus", "hikaru"]).with_resources("players_games"))
    assert info.row_counts == {"players_games": 2}
    assert _uuids(p) == sorted(first + [g["uuid"] for g in late])
    fetched = [path for path, _ in api.requests if "/games/2" in path]
    assert fetched == [f"/pub/player/magnus/games/{THIS_MONTH}"]
    # nothing new: nothing loaded, nothing doubled
    info = p.run(source(["magnus", "hikaru"]).with_resources("players_games"))
    assert not info.row_counts.get("players_games")
    assert len(_uuids(p)) == 22
    state = p.state["sources"]["chess"]["resources"]["players_games"]
    assert f"magnus/{OLD_MONTH}" in state["archives"]
    assert set(state["open_months"]) == {THIS_MONTH}


def test_month_range_is_validated() -> None:
    for bad in ("2024-01", "2024/13", "24/01", "2024/1"):
        with pytest.raises(ConfigError, match=f"start_month='{bad}' is not a month written YYYY/MM"):
            source(["magnus"], start_month=bad)
    with pytest.raises(ConfigError, match="start_month '2024/05' is after end_month '2024/01'"):
        source(["magnus"], start_month="2024/05", end_month="2024/01")


def test_429_and_503_are_retried(api: ChessApiServer) -> None:
    api.fail_next(429, 2, {"Retry-After": "0"})
    api.fail_next(503, 1)
    p = _pipeline()
    info = p.run(source(["magnus"]).with_resources("players_profiles"))
    assert info.row_counts["players_profiles"] == 1
    assert len(api.requests) == 4


def test_retries_give_up_with_the_last_error(api: ChessApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__CHESS__MAX_ATTEMPTS", "3")
    api.fail_next(503, 3)
    with pytest.raises(PipelineStepFailed) as err:
        _pipeline().run(source(["magnus"]).with_resources("players_profiles"))
    assert isinstance(err.value.cause, HttpRetriesExhausted)
    assert "failed 3 times; last error: 503" in str(err.value)
    # the server recovers: the rerun loads the profile
    assert _pipeline().run(source(["magnus"]).with_resources("players_profiles")).row_counts["players_profiles"] == 1


def test_connection_refused_is_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from shipload.local.ports import free_port

    monkeypatch.setenv("SOURCES__CHESS__BASE_URL", f"http://127.0.0.1:{free_port()}/pub/")
    monkeypatch.setenv("SOURCES__CHESS__MAX_ATTEMPTS", "2")
    monkeypatch.setenv("SOURCES__CHESS__BACKOFF_FACTOR", "0.01")
    with pytest.raises(PipelineStepFailed, match="failed 2 times; last error: URLError"):
        _pipeline().run(source(["magnus"]).with_resources("players_profiles"))


def test_403_names_the_user_agent_setting(api: ChessApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__CHESS__USER_AGENT", "<configure me>")  # init's placeholder, not filled in
    with pytest.raises(PipelineStepFailed) as err:
        _pipeline().run(source(["magnus"]).with_resources("players_profiles"))
    assert isinstance(err.value.cause, HttpForbidden)
    message = str(err.value)
    assert "403" in message and "user_agent under [sources.chess]" in message
    assert "SOURCES__CHESS__USER_AGENT" in message
    assert api.requests[0][1].startswith("shipload/")  # the placeholder itself is never sent
    # fix the setting, rerun: loaded
    monkeypatch.setenv("SOURCES__CHESS__USER_AGENT", CONTACT_UA)
    assert _pipeline().run(source(["magnus"]).with_resources("players_profiles")).row_counts["players_profiles"] == 1


def test_unknown_player_is_a_clear_error(api: ChessApiServer) -> None:
    with pytest.raises(PipelineStepFailed, match="player 'nobody' does not exist"):
        _pipeline().run(source(["nobody"]).with_resources("players_profiles"))


def test_parallel_requests_are_bounded(api: ChessApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__CHESS__MAX_PARALLEL", "2")
    players = [f"p{i}" for i in range(8)]
    for i, name in enumerate(players):
        api.data.profiles[name] = make_profile(name, 10 + i, 1_300_000_000, 1_700_000_000)
    info = _pipeline().run(source(players).with_resources("players_profiles"))
    assert info.row_counts["players_profiles"] == 8
    assert api.max_active <= 2


def test_archives_resource_when_selected(api: ChessApiServer, tmp_path: Path) -> None:
    p = _pipeline()
    p.run(source(["magnus"]).with_resources("players_archives"))
    rows = duck_rows(p, "SELECT username, month FROM chess_data.players_archives ORDER BY month")
    assert rows == [("magnus", OLD_MONTH), ("magnus", LAST_MONTH), ("magnus", THIS_MONTH)]


def test_last_month_stays_open_until_a_day_after_it_ended(api: ChessApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    first_of_month = dt.datetime(NOW.year, NOW.month, 1, 0, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(chess_helpers, "utc_now", lambda: first_of_month)
    p = _pipeline()
    p.run(source(["magnus"], start_month=LAST_MONTH).with_resources("players_games"))
    # a daily game of last month finishes late and shows up in last month's archive
    late = make_game(random.Random(3), "magnus", "opp8", int(first_of_month.timestamp()) - 120)
    api.data.add_game("magnus", LAST_MONTH, late)
    monkeypatch.setattr(chess_helpers, "utc_now", lambda: first_of_month + dt.timedelta(days=1, hours=1))
    info = p.run(source(["magnus"], start_month=LAST_MONTH).with_resources("players_games"))
    assert info.row_counts == {"players_games": 1} and late["uuid"] in _uuids(p)
    state = p.state["sources"]["chess"]["resources"]["players_games"]
    assert f"magnus/{LAST_MONTH}" in state["archives"]
    assert LAST_MONTH not in state["open_months"]
    api.requests.clear()
    p.run(source(["magnus"], start_month=LAST_MONTH).with_resources("players_games"))
    assert [path for path, _ in api.requests if "/games/2" in path] == [f"/pub/player/magnus/games/{THIS_MONTH}"]


def test_state_survives_a_new_base_url(api: ChessApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _pipeline()
    p.run(source(["magnus"]).with_resources("players_games"))
    with ChessApiServer(api.data) as moved:  # same API, another address (a proxy, a mirror, a new port)
        monkeypatch.setenv("SOURCES__CHESS__BASE_URL", moved.api_url)
        info = p.run(source(["magnus"]).with_resources("players_games"))
        assert not info.row_counts.get("players_games")
        assert [path for path, _ in moved.requests if "/games/2" in path] == [f"/pub/player/magnus/games/{THIS_MONTH}"]


def test_a_response_slower_than_the_timeout_is_retried(api: ChessApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__CHESS__TIMEOUT", "0.3")
    api.stall_next(1.5)
    info = _pipeline().run(source(["magnus"]).with_resources("players_profiles"))
    assert info.row_counts["players_profiles"] == 1
    assert [path for path, _ in api.requests] == ["/pub/player/magnus", "/pub/player/magnus"]
