"""shipload.dbt: the chess dbt example built on each destination after a chess load, and the errors
a user meets (a broken model, a wrong password), with secrets kept out of every file dbt writes."""

from __future__ import annotations

import logging
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import shipload
import shipload.dbt
from conftest import table_rows

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "chess_dbt"
sys.path.insert(0, str(EXAMPLE))
from sample_chess import PLAYERS, games_of_month, sample_chess  # noqa: E402

OUTCOME = {"win": "win", "checkmated": "loss", "resigned": "loss", "timeout": "loss", "agreed": "draw"}


@pytest.fixture
def package_dir(tmp_path: Path) -> Path:
    """A copy of the example package, so a test may break it."""
    target = tmp_path / "dbt_transform"
    shutil.copytree(EXAMPLE / "dbt_transform", target)
    return target


def chess_pipeline(destination: str) -> Any:
    return shipload.pipeline("chess_dbt", destination=destination, dataset_name="chess_data")


def expected_per_player_month(months: list[tuple[int, int]], per_month: int) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """(username, 'YYYY-MM-01') -> (games, wins, losses, draws), counted from the sample games."""
    out: Counter[tuple[str, str, str]] = Counter()
    for year, month in months:
        for game in games_of_month(year, month, per_month):
            for side in ("white", "black"):
                key = (game[side]["username"].lower(), f"{year}-{month:02d}-01")
                out[key + ("games",)] += 1
                out[key + (OUTCOME[game[side]["result"]],)] += 1
    keys = {(u, m) for u, m, _ in out}
    return {k: (out[k + ("games",)], out[k + ("win",)], out[k + ("loss",)], out[k + ("draw",)]) for k in keys}


def model_rows(pipeline: Any) -> dict[tuple[str, str], tuple[int, ...]]:
    rows = table_rows(pipeline, "games_per_player_month", "username, month, games, wins, losses, draws")
    return {(r[0], str(r[1])[:10]): tuple(int(v) for v in r[2:]) for r in rows}


def files_containing(folder: Path, secret: str) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and secret.encode() in path.read_bytes():
            found.append(str(path))
    return found


def test_chess_models_build_on_each_destination(destination: str, package_dir: Path) -> None:
    """The same package, unchanged, on redshift (dbt-redshift on the local endpoint), postgres and duckdb:
    models hold the expected rows, only completed loads are read, an incremental run adds new loads once."""
    assert "profile: chess" in (package_dir / "dbt_project.yml").read_text()  # no such profile exists anywhere
    pipeline = chess_pipeline(destination)
    pipeline.run(sample_chess(months=((2023, 10), (2023, 11)), games_per_month=10))
    with pipeline.sql_client() as client:  # a game of a load that never completed: must not be counted
        client.execute(f"INSERT INTO {client.table('players_games')} (uuid, end_time, white__username, "
                       "black__username, white__result, black__result, _sl_load_id, _sl_id) VALUES "
                       "('orphan', '2023-11-14 22:13:20', 'Hikaru', 'MagnusCarlsen', 'win', 'resigned', '1.5', 'orphan-id')")

    runner = shipload.dbt.package(pipeline, package_dir)
    results = runner.run_all(source_tests_selector="source:*")

    assert sorted(r.name for r in results) == ["games_per_player_month", "player_games", "view_player_games"]
    assert {r.status for r in results} == {"success"}
    assert all(r.time > 0 and r.message for r in results)
    assert model_rows(pipeline) == expected_per_player_month([(2023, 10), (2023, 11)], 10)
    view = table_rows(pipeline, "view_player_games", "username, player_name, player_title, opponent")
    assert len(view) == 2 * 20
    assert {(u, n, t) for u, n, t, _ in view} == {(p, f"Player {p}", "GM") for p in PLAYERS}
    assert "orphan" not in {r[0] for r in table_rows(pipeline, "player_games", "game_uuid")}

    tests = runner.test()
    assert tests and {t.status for t in tests} == {"pass"}

    # a new month arrives: the incremental model takes in only the new load
    pipeline.run(sample_chess(months=((2023, 12),), games_per_month=5))
    runner.run_all()
    per_game = Counter(r[0] for r in table_rows(pipeline, "player_games", "game_uuid"))
    assert len(per_game) == 25 and set(per_game.values()) == {2}
    assert model_rows(pipeline) == expected_per_player_month([(2023, 10), (2023, 11), (2023, 12)], 10) | \
        expected_per_player_month([(2023, 12)], 5)


@pytest.mark.parametrize("destination", ["redshift", "duckdb"], indirect=True)
def test_failing_model_names_the_node_and_the_database_message(destination: str, package_dir: Path) -> None:
    pipeline = chess_pipeline(destination)
    pipeline.run(sample_chess(games_per_month=3))
    broken = package_dir / "models" / "broken_model.sql"
    broken.write_text("select no_such_column from {{ source('chess', 'players_games') }}\n")
    runner = shipload.dbt.package(pipeline, package_dir)

    with pytest.raises(shipload.dbt.DbtCommandFailed) as info:
        runner.run_all()
    err = info.value
    assert err.command == "run"
    assert err.node is not None and err.node.name == "broken_model" and err.node.status == "error"
    assert "no_such_column" in err.database_message and "does not exist" in err.database_message.lower() \
        or "not found" in err.database_message.lower()
    assert "broken_model" in str(err) and "no_such_column" in str(err)
    assert {r.name for r in err.results} >= {"broken_model"}

    broken.unlink()  # fix the cause, rerun: done
    assert {r.status for r in runner.run_all()} == {"success"}
    assert model_rows(pipeline) == expected_per_player_month([(2023, 10), (2023, 11)], 3)


@pytest.mark.parametrize("destination", ["redshift"], indirect=True)
def test_wrong_password_fails_clearly_without_the_password(destination: str, package_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    pipeline = chess_pipeline(destination)
    pipeline.run(sample_chess(games_per_month=2))
    wrong = "Wr0ng-Pass-Zq81"
    creds = pipeline.destination.resolve_credentials(pipeline.pipeline_name)
    monkeypatch.setenv(f"DESTINATION__{destination.upper()}__CREDENTIALS__PASSWORD", wrong)
    monkeypatch.delenv(f"DESTINATION__{destination.upper()}__CREDENTIALS", raising=False)
    for field in ("host", "port", "database", "username"):
        monkeypatch.setenv(f"DESTINATION__{destination.upper()}__CREDENTIALS__{field.upper()}", str(getattr(creds, field)))
    monkeypatch.setenv(f"DESTINATION__{destination.upper()}__CREDENTIALS__SSLMODE", "disable")
    caplog.set_level(logging.DEBUG, logger="shipload")

    runner = shipload.dbt.package(pipeline, package_dir)
    with pytest.raises(shipload.dbt.DbtCommandFailed) as info:
        runner.run_all()
    message = str(info.value)
    assert "password authentication failed" in message.lower(), message
    assert wrong not in message and wrong not in repr(info.value.results) and wrong not in repr(runner)
    assert caplog.text and wrong not in caplog.text
    assert files_containing(Path(pipeline.working_dir), wrong) == []
    assert files_containing(package_dir, wrong) == []

    monkeypatch.setenv(f"DESTINATION__{destination.upper()}__CREDENTIALS__PASSWORD", creds.password)
    assert {r.status for r in shipload.dbt.package(pipeline, package_dir).run_all()} == {"success"}


@pytest.mark.parametrize("destination", ["redshift"], indirect=True)
def test_no_file_written_by_dbt_holds_the_password(destination: str, package_dir: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    pipeline = chess_pipeline(destination)
    pipeline.run(sample_chess(games_per_month=2))
    password = pipeline.destination.resolve_credentials(pipeline.pipeline_name).password
    caplog.set_level(logging.DEBUG, logger="shipload")
    runner = shipload.dbt.package(pipeline, package_dir)
    runner.run_all(source_tests_selector="source:*")
    runner.test()

    work = Path(pipeline.working_dir) / "dbt"
    written = {p.relative_to(work).parts[1] for p in work.rglob("*") if p.is_file()}
    assert {"profiles", "target", "logs"} <= written  # dbt did write its files there
    assert (work / "dbt_transform" / "logs" / "dbt.log").stat().st_size > 0
    assert files_containing(work, password) == []
    assert files_containing(package_dir, password) == []
    assert "dbt:" in caplog.text and password not in caplog.text
    assert password not in repr(runner) and password not in repr(runner.profile)


INCREMENTAL_MODEL = """{{ config(materialized='incremental', on_schema_change='fail') }}
select * from {{ source('chess', 'players_profiles') }}
"""


def test_incremental_out_of_sync_is_rebuilt_with_full_refresh(package_dir: Path) -> None:
    pipeline = chess_pipeline("duckdb")
    pipeline.run(sample_chess(games_per_month=2))
    (package_dir / "models" / "profiles_copy.sql").write_text(INCREMENTAL_MODEL)
    shipload.dbt.package(pipeline, package_dir).run_all(["--select", "profiles_copy"])

    pipeline.run([dict(username="newplayer", name="New", shiny_new_field=7)], table_name="players_profiles",
                 write_disposition="replace")
    with pytest.raises(shipload.dbt.IncrementalOutOfSync) as info:
        shipload.dbt.package(pipeline, package_dir, auto_full_refresh_when_out_of_sync=False).run_all(
            ["--select", "profiles_copy"])
    assert info.value.node.name == "profiles_copy" and "out of sync" in info.value.database_message

    results = shipload.dbt.package(pipeline, package_dir).run_all(["--select", "profiles_copy"])
    assert [(r.name, r.status) for r in results] == [("profiles_copy", "success")]
    assert table_rows(pipeline, "profiles_copy", "username, shiny_new_field") == [("newplayer", 7)]


def test_source_tests_fail_before_the_raw_tables_exist(package_dir: Path) -> None:
    pipeline = chess_pipeline("duckdb")
    pipeline.run([{"username": "only_profiles"}], table_name="players_profiles")
    with pytest.raises(shipload.dbt.SourceTestsFailed) as info:
        shipload.dbt.package(pipeline, package_dir).run_all(source_tests_selector="source:*")
    assert info.value.command == "test" and "players_games" in str(info.value)


def test_deps_seed_and_vars(package_dir: Path, tmp_path: Path) -> None:
    helpers = tmp_path / "chess_helpers"  # a local dbt package the project depends on
    (helpers / "macros").mkdir(parents=True)
    (helpers / "dbt_project.yml").write_text("name: chess_helpers\nversion: '1.0'\nconfig-version: 2\n")
    (helpers / "macros" / "sides.sql").write_text("{% macro sides() %}2{% endmacro %}\n")
    (package_dir / "packages.yml").write_text(f"packages:\n  - local: {helpers}\n")
    (package_dir / "models" / "uses_dependency.sql").write_text("select {{ chess_helpers.sides() }} as sides\n")
    pipeline = chess_pipeline("duckdb")
    pipeline.run(sample_chess(games_per_month=1))
    runner = shipload.dbt.package(pipeline, package_dir)
    assert runner.deps() == [] and (package_dir / "dbt_packages" / "chess_helpers").exists()
    seeds = runner.seed()
    assert [(s.name, s.status) for s in seeds] == [("result_codes", "success")]
    assert ("checkmated", "loss") in table_rows(pipeline, "result_codes", "result, outcome")
    assert runner.vars(destination_dataset_name="marts") == {"source_dataset_name": "chess_data",
                                                            "destination_dataset_name": "marts"}
    # models into another dataset, reading the pipeline's
    assert "uses_dependency" in {r.name for r in runner.run_all(destination_dataset_name="chess_marts")}
    marts = shipload.pipeline("chess_dbt", destination="duckdb", dataset_name="chess_marts")
    assert sum(r[0] for r in table_rows(marts, "games_per_player_month", "games")) == 2 * 1 * 2  # months x games x sides


def test_a_python_without_dbt_is_refused_clearly(tmp_path: Path, package_dir: Path) -> None:
    import venv

    venv.EnvBuilder(with_pip=False).create(tmp_path / "bare")
    pipeline = chess_pipeline("duckdb")
    pipeline.run(sample_chess(games_per_month=1))
    bare = shipload.dbt.Venv(tmp_path / "bare" / "bin" / "python", tmp_path / "bare")
    with pytest.raises(shipload.dbt.DbtNotInstalled, match="get_venv"):
        shipload.dbt.package(pipeline, package_dir, venv=bare).run()


def test_get_venv_uses_the_current_environment_when_dbt_is_there() -> None:
    pipeline = chess_pipeline("duckdb")
    assert shipload.dbt.get_venv(pipeline).is_current
    with pytest.raises(shipload.dbt.DbtError, match="no dbt adapter"):
        shipload.dbt.venv.requirements_for("filesystem")
    assert shipload.dbt.venv.version_spec("1.11.2") == "==1.11.2"


@pytest.mark.slow
def test_get_venv_creates_an_isolated_environment_once(package_dir: Path) -> None:
    pipeline = chess_pipeline("duckdb")
    pipeline.run(sample_chess(games_per_month=2))
    env = shipload.dbt.get_venv(pipeline, use_current=False)
    assert not env.is_current and env.path == Path(pipeline.working_dir) / "dbt" / "venv"
    marker = env.path / shipload.dbt.venv.MARKER
    created = marker.stat().st_mtime_ns
    assert shipload.dbt.get_venv(pipeline, use_current=False) == env
    assert marker.stat().st_mtime_ns == created  # reused, not reinstalled
    assert not list(env.path.glob("lib/python*/site-packages/shipload*"))  # dbt's venv needs no shipload
    results = shipload.dbt.package(pipeline, package_dir, venv=env).run(["--select", "player_games"])
    assert [(r.name, r.status) for r in results] == [("player_games", "success")]
    assert len(table_rows(pipeline, "player_games", "game_uuid")) == 2 * 2 * 2  # months x games x sides


def test_chess_dbt_example_runs(tmp_path: Path) -> None:
    import os
    import subprocess

    env = dict(os.environ, SHIPLOAD_PIPELINES_DIR=str(tmp_path / "pipelines"))
    done = subprocess.run([sys.executable, str(EXAMPLE / "chess_dbt.py")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "model games_per_player_month: success" in done.stdout
    for (user, month), (games, wins, _, _) in expected_per_player_month([(2023, 10), (2023, 11)], 10).items():
        assert f"{user} {month} {games} {wins}" in done.stdout
