"""Live progress: plain lines when not on a terminal, rich on a terminal, off by config."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

import shipload

SCRIPT = """
import shipload
@shipload.resource(write_disposition="append")
def things():
    for page in range(5):
        yield [{"id": page * 1000 + i, "kids": [{"k": i}]} for i in range(1000)]
p = shipload.pipeline("progress_demo", destination="duckdb", dataset_name="things_data"{extra})
print(p.run(things()))
"""


def _run(tmp_path: Path, env: dict[str, str] | None = None, extra: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "script.py").write_text(SCRIPT.replace("{extra}", extra))
    full = dict(os.environ, SHIPLOAD_PROJECT_DIR=str(tmp_path), **(env or {}))
    return subprocess.run([sys.executable, "script.py"], cwd=tmp_path, env=full, capture_output=True, text=True,
                          timeout=120)


def test_plain_lines_when_not_a_tty_and_load_info_per_table(tmp_path: Path) -> None:
    done = _run(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    for step in ("extract", "normalize", "load"):
        rows = [line for line in lines if f" {step} " in f" {line} " and " things " in f" {line} "]
        assert rows and "5,000 rows" in rows[-1] and "rows/s" in rows[-1], done.stderr
    assert any("load" in line and "things__kids" in line and "5,000 rows" in line for line in lines)
    # LoadInfo: rows per table that landed
    landed = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines() if line.endswith(" rows")}
    assert landed == {"things": "5,000", "things__kids": "5,000"}


def test_periodic_lines_while_a_step_runs(tmp_path: Path) -> None:
    done = _run(tmp_path, {"RUNTIME__PROGRESS_INTERVAL": "0"})
    extract = [line for line in done.stderr.splitlines() if " extract " in line]
    counts = [int(line.split()[3].replace(",", "")) for line in extract]
    assert len(counts) >= 3 and counts == sorted(counts) and counts[-1] == 5000


@pytest.mark.parametrize("how", [{"env": {"RUNTIME__PROGRESS": "off"}}, {"extra": ", progress=False"}])
def test_off_by_config_or_argument(tmp_path: Path, how: dict) -> None:
    done = _run(tmp_path, **how)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "5,000 rows" in done.stdout


def test_rich_on_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text(SCRIPT.replace("{extra}", ""))
    leader, follower = pty.openpty()
    env = dict(os.environ, SHIPLOAD_PROJECT_DIR=str(tmp_path), COLUMNS="150", TERM="xterm")
    proc = subprocess.Popen([sys.executable, "script.py"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=follower, text=True)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(leader)
    assert proc.returncode == 0
    text = screen.decode(errors="replace")
    assert "\x1b[" in text  # drawn with terminal control codes, not plain lines
    assert "things__kids" in text and "5,000 rows" in text and "rows/s" in text
    assert "5,000 rows" in out


def test_unknown_mode_is_refused() -> None:
    p = shipload.pipeline("bad_progress", destination="duckdb", progress="loud")
    with pytest.raises(shipload.exceptions.ConfigError, match="progress='loud': use one of"):
        p.run([{"a": 1}], table_name="t")
