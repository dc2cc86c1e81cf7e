"""SIGKILL at any step, then a rerun: every row is loaded exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import shipload
from conftest import duck_rows

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


def run_worker(crash_at: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SHIPLOAD_CRASH_AT", None)
    if crash_at:
        env["SHIPLOAD_CRASH_AT"] = crash_at
    env["PYTHONPATH"] = str(WORKER.parent)
    return subprocess.run([sys.executable, str(WORKER), str(N)], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_kill_then_rerun_loads_every_row_once(crash_at: str) -> None:
    killed = run_worker(crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    rerun = run_worker(None)
    assert rerun.returncode == 0, rerun.stderr
    p = shipload.pipeline("crashy", destination="duckdb")
    ds = p.dataset_name
    assert duck_rows(p, f"SELECT count(*), count(DISTINCT id) FROM {ds}.games")[0] == (N, N)
    moves = sum(i % 5 for i in range(N))
    got = duck_rows(p, f"SELECT count(*), count(DISTINCT (_sl_parent_id, _sl_list_idx)) FROM {ds}.games__moves")[0]
    assert got == (moves, moves)
    assert duck_rows(p, f"SELECT count(*) FROM {ds}._sl_loads")[0][0] >= 1
    # a third run finds nothing new and loads nothing
    assert run_worker(None).returncode == 0
    assert duck_rows(p, f"SELECT count(*) FROM {ds}.games")[0][0] == N
