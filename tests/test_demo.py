"""`shipload demo`: offline, the bundled sample through the full Redshift path (local endpoint, S3
staging, one COPY per table), or DuckDB; a second run adds no rows; it stops what it started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipload.demo.run import run_demo
from shipload.demo.sample import load_sample
from shipload.local.endpoint import LocalEndpoint

SAMPLE = load_sample()
GAMES = SAMPLE.game_count()


def _demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESTINATION__", "SOURCES__"))}
    env.update(SHIPLOAD_PROJECT_DIR=str(tmp_path), SHIPLOAD_PIPELINES_DIR=str(tmp_path / "pipelines"))
    return subprocess.run([sys.executable, "-m", "shipload.cli.main", "demo", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_demo_on_the_local_endpoint_twice(tmp_path: Path) -> None:
    first = _demo(tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert f"({len(SAMPLE.profiles)} players, {GAMES:,} games)" in out
    assert "loaded through S3 staging: 2 COPY statement(s) this run (one per table)" in out
    assert f"players_games: {GAMES:,} rows" in out and "players_profiles: 4 rows" in out
    assert "white__username | black__username" in out and "alice_gm" in out
    assert "stopped the local endpoint it started" in out and "shipload init chess redshift" in out
    assert " extract " in first.stderr and " load " in first.stderr  # progress lines (not a terminal)
    assert not LocalEndpoint(tmp_path / ".shipload" / "local").status()["running"]
    second = _demo(tmp_path, "--quiet")
    assert second.returncode == 0, second.stderr
    # profiles are replaced (one COPY), no game is new: the same rows, nothing doubled
    assert "1 COPY statement(s)" in second.stdout
    assert f"players_games: {GAMES:,} rows" in second.stdout and "players_profiles: 4 rows" in second.stdout
    assert second.stderr == ""
    assert not LocalEndpoint(tmp_path / ".shipload" / "local").status()["running"]


@pytest.mark.slow
def test_demo_leaves_a_running_endpoint_running(tmp_path: Path) -> None:
    from shipload.local.ports import free_port

    endpoint = LocalEndpoint(tmp_path / ".shipload" / "local")
    endpoint.up(free_port())
    try:
        said: list[str] = []
        result = run_demo("redshift", tmp_path / ".shipload", progress="off", say=said.append)
        assert not result.started_endpoint and not result.stopped_endpoint
        assert any("already running" in line for line in said)
        assert endpoint.status()["running"]
        assert result.row_counts == {"players_profiles": 4, "players_games": GAMES}
        assert len(result.copy_statements) == 2
    finally:
        endpoint.down(remove_data=True)


def test_demo_into_duckdb_twice_and_after_the_file_is_gone(tmp_path: Path) -> None:
    said: list[str] = []
    first = run_demo("duckdb", tmp_path / "demo", progress="off", say=said.append)
    assert first.row_counts == {"players_profiles": 4, "players_games": GAMES}
    assert first.load_info.row_counts == {"players_profiles": 4, "players_games": GAMES}
    assert not first.started_endpoint and not first.copy_statements
    second = run_demo("duckdb", tmp_path / "demo", progress="off", say=said.append)
    assert second.row_counts == {"players_profiles": 4, "players_games": GAMES}
    assert "players_games" not in second.load_info.row_counts or second.load_info.row_counts["players_games"] == 0
    # the database file is deleted: the demo notices its state is stale and loads everything again
    (tmp_path / "demo" / "chess_demo.duckdb").unlink()
    third = run_demo("duckdb", tmp_path / "demo", progress="off", say=said.append)
    assert third.row_counts == {"players_profiles": 4, "players_games": GAMES}
