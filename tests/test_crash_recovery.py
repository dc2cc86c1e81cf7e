"""SIGKILL at any step, then a rerun: every row is loaded exactly once, on every destination."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import shipload
from conftest import table_rows

N = 3000
WORKER = Path(__file__).with_name("crash_worker.py")
CRASH_POINTS = [
    "extract.done",
    "normalize.page:3",
    "normalize.renamed",
    "load.job_committed:1",
    "load.job_moved:1",
    "load.before_complete",
    "load.package_committed",
]


def run_worker(crash_at: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SHIPLOAD_CRASH_AT", None)
    if crash_at:
        env["SHIPLOAD_CRASH_AT"] = crash_at
    env["PYTHONPATH"] = str(WORKER.parent)
    return subprocess.run([sys.executable, str(WORKER), str(N), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_kill_then_rerun_loads_every_row_once(destination: str, crash_at: str) -> None:
    killed = run_worker(crash_at, destination)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    rerun = run_worker(None, destination)
    assert rerun.returncode == 0, rerun.stderr
    p = shipload.pipeline("crashy_append", destination=destination)
    assert table_rows(p, "games", "count(*), count(DISTINCT id)")[0] == (N, N)
    moves = sum(i % 5 for i in range(N))
    got = table_rows(p, "games__moves", "count(*), count(DISTINCT _sl_parent_id || '-' || CAST(_sl_list_idx AS VARCHAR))")
    assert got[0] == (moves, moves)
    loads = table_rows(p, "_sl_loads", "load_id, count(*)", where="1 = 1 GROUP BY load_id")
    assert loads and all(n == 1 for _, n in loads)  # one commit row per package, never two
    # a third run finds nothing new and loads nothing
    assert run_worker(None, destination).returncode == 0
    assert table_rows(p, "games", "count(*)")[0][0] == N


@pytest.mark.parametrize("crash_at", ["load.job_committed:1", "load.before_complete", "load.package_committed"])
def test_kill_during_merge_then_rerun_merges_once(destination: str, crash_at: str) -> None:
    assert run_worker(None, destination, "merge", "1").returncode == 0
    killed = run_worker(crash_at, destination, "merge", "2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    rerun = run_worker(None, destination, "merge", "2")
    assert rerun.returncode == 0, rerun.stderr
    p = shipload.pipeline("crashy_merge", destination=destination)
    rows = dict(table_rows(p, "games", "id, white"))
    assert len(rows) == N
    assert all(rows[i] == f"p{i}-v{1 if i < N // 4 else 2}" for i in range(N))
    with p.sql_client() as c:
        moves = c.query(
            f"SELECT g.id, m.san FROM {c.table('games__moves')} AS m JOIN {c.table('games')} AS g "
            "ON m._sl_root_id = g._sl_id"
        )[1]
    assert len(moves) == sum(i % 5 for i in range(N)) == table_rows(p, "games__moves", "count(*)")[0][0]
    assert all(san == f"v{1 if gid < N // 4 else 2}" for gid, san in moves)
