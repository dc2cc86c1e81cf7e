"""`shipload pipeline ...` end to end against the local Redshift endpoint (a real destination)."""

from __future__ import annotations

import io
import json
import shutil
from typing import Any

import psycopg2
import pytest
import yaml

import shipload
from chess_fixtures import THIS_MONTH, chess_api
from conftest import table_rows
from shipload.cli.main import main
from shipload.templates.chess import source

PLAYERS = ["magnus", "hikaru"]
api = chess_api


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _pipeline() -> Any:
    return shipload.pipeline("chess_pipeline", destination="redshift", dataset_name="chess_data")


def _connect(rs: Any) -> Any:
    conn = psycopg2.connect(host=rs.redshift_host, port=rs.redshift_port, user=rs.username, password=rs.password,
                            dbname=__import__("os").environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"])
    conn.autocommit = True
    return conn


def _tables(rs: Any) -> set[str]:
    conn = _connect(rs)
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'chess_data'")
        names = {r[0] for r in cur.fetchall()}
    conn.close()
    return names


def test_info_trace_schema_list(redshift_db: Any, api: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _pipeline().run(source(PLAYERS).with_resources("players_profiles", "players_games"))
    capsys.readouterr()
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "info")
    assert code == 0
    assert "destination redshift" in out and "dataset     chess_data" in out and "schemas     chess" in out
    assert "players_games (chess): tables players_games" in out and '"open_months"' in out
    assert "1 loaded, 0 pending" in out
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "trace")
    assert code == 0 and "completed" in out
    lines = out.splitlines()
    steps = [line.split()[0] for line in lines if line.startswith("  ") and not line.startswith("      ")]
    assert steps == ["extract", "normalize", "load"]
    assert any(line.split() == ["players_games", "20", "rows"] for line in lines)
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "trace", "--format", "json")
    trace = json.loads(out)
    assert trace["steps"][2]["row_counts"] == {"players_profiles": 2, "players_games": 20}
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "schema")
    schema = yaml.safe_load(out)
    assert schema["name"] == "chess" and schema["tables"]["players_games"]["columns"]["end_time"]["data_type"] == "timestamp"
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "schema", "--format", "json")
    assert json.loads(out)["tables"]["players_profiles"]["write_disposition"] == "replace"
    code, out, _ = _cli(capsys, "pipeline", "--list")
    assert code == 0 and "chess_pipeline" in out and "redshift" in out and "chess_data" in out


def test_failed_run_shows_in_trace(redshift_db: Any, api: Any, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SOURCES__CHESS__USER_AGENT", "no details")
    with pytest.raises(shipload.PipelineStepFailed):
        _pipeline().run(source(PLAYERS).with_resources("players_profiles"))
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "trace")
    assert code == 0 and "FAILED" in out and "403" in out and "ERROR" in out


def test_failed_jobs_and_load_package_then_recovery(redshift_db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    p = shipload.pipeline("notes", destination="redshift", dataset_name="notes_data")
    p.run([{"id": 1, "note": "first"}], table_name="notes")
    conn = _connect(redshift_db)
    with conn.cursor() as cur:  # someone changes the table behind the pipeline's back
        cur.execute("ALTER TABLE notes_data.notes DROP COLUMN note")
    with pytest.raises(shipload.PipelineStepFailed):
        p.run([{"id": 2, "note": "second"}], table_name="notes")
    code, out, _ = _cli(capsys, "pipeline", "notes", "failed-jobs")
    assert code == 5
    assert "(table notes)" in out and "note" in out.split("(table notes)")[1] and "does not exist" in out
    code, out, _ = _cli(capsys, "pipeline", "notes", "load-package")
    assert code == 0 and "normalized" in out and "failed_jobs" in out and "error:" in out
    load_id = out.split()[1]
    code, out, _ = _cli(capsys, "pipeline", "notes", "info")
    assert f"pending {load_id} (normalized)" in out
    # fix the cause, rerun: the pending package loads, nothing fails any more
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE notes_data.notes ADD COLUMN note VARCHAR(256)")
    conn.close()
    p.run()
    assert sorted(table_rows(p, "notes", "id, note")) == [(1, None), (2, "second")]
    code, out, _ = _cli(capsys, "pipeline", "notes", "failed-jobs")
    assert code == 0 and "no failed jobs" in out
    code, out, _ = _cli(capsys, "pipeline", "notes", "load-package", load_id)
    assert code == 0 and f"package {load_id} of notes: loaded" in out


def test_drop_resource_then_reload(redshift_db: Any, api: Any, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    _pipeline().run(source(PLAYERS).with_resources("players_profiles", "players_games"))
    assert "players_games" in _tables(redshift_db)
    # declined at the prompt: nothing happens
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "drop", "players_games")
    assert code == 4 and "nothing dropped" in out and "players_games" in _tables(redshift_db)
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "drop", "players_games", "--yes")
    assert code == 0, out
    assert "tables dropped in redshift dataset chess_data: players_games" in out
    tables = _tables(redshift_db)
    assert "players_games" not in tables and "players_profiles" in tables
    p = _pipeline()
    assert "players_games" not in p.state["sources"]["chess"].get("resources", {})
    assert "players_games" not in p.default_schema.tables
    # the new state is stored in the destination: a pipeline on another machine sees it too
    shutil.rmtree(p.working_dir)
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "sync", "--destination", "redshift",
                        "--dataset-name", "chess_data")
    assert code == 0, out
    p = _pipeline()
    assert "players_games" not in p.state["sources"]["chess"].get("resources", {})
    # the next run loads every game again, once
    info = p.run(source(PLAYERS).with_resources("players_games"))
    assert info.row_counts == {"players_games": 20}
    assert table_rows(p, "players_games", "count(*), count(DISTINCT uuid)") == [(20, 20)]


def test_sync_restores_a_lost_working_folder(redshift_db: Any, api: Any, capsys: pytest.CaptureFixture[str]) -> None:
    p = _pipeline()
    p.run(source(PLAYERS).with_resources("players_games"))
    before = p.state["sources"]["chess"]["resources"]["players_games"]
    shutil.rmtree(p.working_dir)
    code, _, err = _cli(capsys, "pipeline", "chess_pipeline", "sync")
    assert code == 3 and "give --destination" in err
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "sync", "--destination", "redshift",
                        "--dataset-name", "chess_data")
    assert code == 0 and "restored pipeline chess_pipeline from redshift dataset chess_data: schemas chess" in out
    restored = _pipeline()
    assert restored.state["sources"]["chess"]["resources"]["players_games"] == before
    # the restored state keeps the incremental: only the open month is fetched again, nothing doubles
    api.requests.clear()
    info = restored.run(source(PLAYERS).with_resources("players_games"))
    assert not info.row_counts.get("players_games")
    assert [path for path, _ in api.requests if "/games/2" in path] == [f"/pub/player/magnus/games/{THIS_MONTH}"]
    # sync with the folder present rebuilds it from the destination too
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "sync")
    assert code == 0 and "restored" in out
    code, out, _ = _cli(capsys, "pipeline", "chess_pipeline", "info")
    assert code == 0 and "players_games" in out


def test_not_found_and_usage_exit_codes(redshift_db: Any, api: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "pipeline", "nope", "info")
    assert code == 3 and "no pipeline 'nope'" in err
    _pipeline().run(source(PLAYERS).with_resources("players_profiles"))
    code, _, err = _cli(capsys, "pipeline", "chess_pipeline", "drop", "players_nothing", "--yes")
    assert code == 3 and "no resource 'players_nothing'" in err and "players_profiles" in err
    code, _, err = _cli(capsys, "pipeline", "chess_pipeline", "load-package", "123.456")
    assert code == 3 and "no package '123.456'" in err
    with pytest.raises(SystemExit) as exit_:
        main(["pipeline", "chess_pipeline"])
    assert exit_.value.code == 2


def test_drop_takes_child_tables_along_on_postgres(postgres_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    @shipload.resource(write_disposition="append")
    def games():
        yield [{"id": 1, "moves": [{"san": "e4"}, {"san": "e5"}]}]

    @shipload.resource(write_disposition="replace")
    def players():
        yield {"name": "magnus"}

    p = shipload.pipeline("nested", destination="postgres", dataset_name="nested_data")
    p.run([games(), players()])
    conn = psycopg2.connect(postgres_db)
    conn.autocommit = True

    def tables() -> set[str]:
        with conn.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'nested_data'")
            return {r[0] for r in cur.fetchall() if not r[0].startswith("_sl_")}

    assert tables() == {"games", "games__moves", "players"}
    code, out, _ = _cli(capsys, "pipeline", "nested", "drop", "games", "--yes")
    assert code == 0 and "games, games__moves" in out
    assert tables() == {"players"}
    p = shipload.pipeline("nested", destination="postgres", dataset_name="nested_data")
    p.run(games())
    assert tables() == {"games", "games__moves", "players"}
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM nested_data.games__moves")
        assert cur.fetchone()[0] == 2
    conn.close()
