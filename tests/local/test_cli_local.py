"""`shipload local up/env/status/down` as a user runs them, and recovery from a killed endpoint."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from shipload.local.s3server import process_alive


def shipload(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipload.cli.main", "local", "--folder", str(folder), *args],
                          capture_output=True, text=True, timeout=180)


def _pids(folder: Path) -> dict[str, int]:
    return json.loads((folder / "endpoint.json").read_text())["info"]["pids"]


def _postgres_children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def test_up_env_status_down_leaves_no_process(tmp_path: Path) -> None:
    folder = tmp_path / "ep"
    started = time.time()
    up = shipload(folder, "up")
    assert up.returncode == 0, up.stderr
    assert time.time() - started < 60
    env = shipload(folder, "env", "--format", "json")
    info = json.loads(env.stdout)
    toml = shipload(folder, "env", "--format", "toml").stdout
    assert "[destination.redshift.credentials]" in toml and f"port = {info['redshift_port']}" in toml
    exports = shipload(folder, "env", "--format", "env").stdout
    assert "export DESTINATION__REDSHIFT__CREDENTIALS__HOST=127.0.0.1" in exports
    assert "DESTINATION__FILESYSTEM__BUCKET_URL=s3://shipload-local" in exports
    conn = psycopg2.connect(host="127.0.0.1", port=info["redshift_port"], user=info["username"],
                            password=info["password"], dbname=info["database"])
    conn.close()
    assert shipload(folder, "status").returncode == 0
    pids = _pids(folder)
    children = _postgres_children(pids["postgres"])
    down = shipload(folder, "down")
    assert down.returncode == 0 and "proxy" in down.stdout and "postgres" in down.stdout
    for pid in [*pids.values(), *children]:
        assert not process_alive(pid), pid
    assert shipload(folder, "status").returncode == 3


def test_a_killed_endpoint_is_detected_and_cleaned_on_the_next_up(tmp_path: Path) -> None:
    folder = tmp_path / "ep"
    assert shipload(folder, "up").returncode == 0
    first = _pids(folder)
    os.kill(first["proxy"], signal.SIGKILL)
    os.kill(first["s3"], signal.SIGKILL)
    time.sleep(0.2)
    assert shipload(folder, "status").returncode == 3
    again = shipload(folder, "up")
    assert again.returncode == 0, again.stderr
    second = _pids(folder)
    # cleaned: the survivor of the killed endpoint (postgres) was stopped, and everything started anew
    assert not process_alive(first["postgres"])
    assert second["postgres"] != first["postgres"] and second["proxy"] != first["proxy"]
    assert all(process_alive(p) for p in second.values())
    info = json.loads(shipload(folder, "env", "--format", "json").stdout)
    psycopg2.connect(host="127.0.0.1", port=info["redshift_port"], user=info["username"],
                     password=info["password"], dbname=info["database"]).close()
    assert shipload(folder, "down", "--remove").returncode == 0
    assert not any(process_alive(p) for p in second.values())
    assert not folder.exists()


def test_up_on_a_taken_port_fails_clearly_and_leaves_nothing_running(tmp_path: Path) -> None:
    folder = tmp_path / "ep"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        up = shipload(folder, "up", "--port", str(port))
        assert up.returncode == 1
        assert f"port {port} on 127.0.0.1 is taken" in up.stderr
    assert shipload(folder, "status").returncode == 3  # nothing half-started
    assert "nothing was running" in shipload(folder, "down").stdout
