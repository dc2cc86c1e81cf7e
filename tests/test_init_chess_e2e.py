"""The getting-started path end to end: `shipload init chess redshift`, secrets from `shipload local env`,
the source's base URL at a local chess.com-shaped server, `python chess_pipeline.py` loads the tables."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from shipload.cli.main import main
from shipload.demo.chess_api import ChessApiServer, ChessData
from shipload.demo.sample import make_game, make_profile
from shipload.templates.chess.helpers import month_of, months_ago

ROOT = Path(__file__).resolve().parent.parent
PLAYERS = ["magnuscarlsen", "vincentkeymer", "dommarajugukesh", "rpragchess"]


def _chess_data() -> ChessData:
    rng = random.Random(5)
    now = dt.datetime.now(dt.UTC)
    data = ChessData()
    for i, name in enumerate(PLAYERS):
        data.profiles[name] = make_profile(name, 500 + i, 1_300_000_000, int(now.timestamp()) - 100)
        data.status[name] = {"onlineStatus": "offline", "lastLoginDate": 1_700_000_000}
        for month in (months_ago(2), months_ago(1), month_of(now)):
            for k in range(3):
                data.add_game(name, month, make_game(rng, name, f"opp{k}", int(now.timestamp()) - 86400 * 40 + k))
    return data


def _run(folder: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=folder, env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("staging", [[], ["--staging", "filesystem"]], ids=["insert_values", "s3_staging"])
def test_init_chess_redshift_then_run_against_local_endpoint(local_redshift: Any, tmp_path: Path, staging: list[str],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    project.mkdir()
    assert main(["init", "chess", "redshift", "--folder", str(project), *staging]) == 0
    log = Path(local_redshift.statement_log)
    log_offset = log.stat().st_size if log.exists() else 0
    # a database of its own on the shared endpoint, so reruns of the suite start empty
    conn = psycopg2.connect(host=local_redshift.redshift_host, port=local_redshift.redshift_port,
                            user=local_redshift.username, password=local_redshift.password, dbname="dev")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS chess_e2e")
        cur.execute("CREATE DATABASE chess_e2e")
    conn.close()
    secrets = project / ".shipload/secrets.toml"
    secrets.write_text(local_redshift.toml().replace(f'database = "{local_redshift.database}"',
                                                     'database = "chess_e2e"'))
    with ChessApiServer(_chess_data()) as api:
        config = project / ".shipload/config.toml"
        config.write_text(config.read_text().replace("<configure me>", "tests@example.com")
                          + f'base_url = "{api.api_url}"\nbackoff_factor = 0.01\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPLOAD_", "DESTINATION__", "SOURCES__"))}
        env["SHIPLOAD_PIPELINES_DIR"] = str(tmp_path / "pipelines")
        done = _run(project, env, sys.executable, "chess_pipeline.py")
        assert done.returncode == 0, done.stderr
        assert all("contact: tests@example.com" in ua for _, ua in api.requests)
        again = _run(project, env, sys.executable, "chess_pipeline.py")  # current month refetched, nothing doubled
        assert again.returncode == 0, again.stderr
    conn = psycopg2.connect(host=local_redshift.redshift_host, port=local_redshift.redshift_port,
                            user=local_redshift.username, password=local_redshift.password, dbname="chess_e2e")
    with conn.cursor() as cur:
        counts = {}
        for table in ("players_profiles", "players_games", "players_online_status"):
            cur.execute(f"SELECT count(*) FROM chess_players_games_data.{table}")
            counts[table] = cur.fetchone()[0]
        cur.execute("SELECT count(DISTINCT uuid) FROM chess_players_games_data.players_games")
        distinct = cur.fetchone()[0]
    conn.close()
    # games of last month and this month (start_month = last month), 3 per player and month
    assert counts == {"players_profiles": 4, "players_games": 24, "players_online_status": 8}
    assert distinct == 24
    assert "players_games" in done.stdout and "24 rows" in done.stdout
    with open(local_redshift.statement_log, "rb") as fh:
        fh.seek(log_offset)
        copies = [line for line in fh if b'"db":"chess_e2e"' in line and b'"sql":"COPY' in line]
    # one COPY per table and run: profiles, games, online status; the second run has no new game
    assert len(copies) == (3 + 2 if staging else 0)

@pytest.mark.slow
def test_generated_requirements_install_in_a_fresh_venv(tmp_path: Path) -> None:
    """pip install of the working tree (not editable: package data must be in the wheel), then of the
    requirements.txt init wrote; the installed `shipload init` works there."""
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    py = str(target / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPLOAD_", "VIRTUAL_ENV", "PYTHONPATH"))}
    project = tmp_path / "project"
    project.mkdir()
    installed = _run(tmp_path, env, py, "-m", "pip", "install", "-q", str(ROOT))
    assert installed.returncode == 0, installed.stderr
    init = _run(project, env, str(target / "bin" / "shipload"), "init", "chess", "redshift")
    assert init.returncode == 0, init.stderr
    req = _run(project, env, py, "-m", "pip", "install", "-q", "-r", "requirements.txt")
    assert req.returncode == 0, req.stderr
    check = _run(project, env, py, "-c", "import psycopg2, chess, shipload.demo.sample as s; "
                                         "print(len(s.load_sample().profiles))")
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "4"
