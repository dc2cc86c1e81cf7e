"""The endpoint's own files and processes: ports, the state file's mode, what repr shows, and the
statement log's masking (no PostgreSQL needed)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from shipload.local.endpoint import EndpointInfo, LocalEndpoint
from shipload.local.ports import free_port, port_is_free
from shipload.local.proxy.statement_log import LogState, StatementLog, masked


def _time_wait_port() -> int:
    """A port whose server closed first: the server side lingers in TIME_WAIT."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server closes first
    client.recv(1)
    client.close()
    server.close()
    return port


def test_a_port_in_time_wait_is_free_for_the_next_up() -> None:
    port = _time_wait_port()
    assert port_is_free(port)
    assert free_port(port) == port  # `down` then `up` keeps 5439 instead of moving to a random port


def test_a_port_someone_listens_on_is_not_free() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert not port_is_free(s.getsockname()[1])


def test_endpoint_info_repr_hides_secrets() -> None:
    info = EndpointInfo("f", "127.0.0.1", 5439, "dev", "awsuser", "Pw-secret-1", 1, "http://s3", "b", "AKIA1",
                        "s3-secret-2", "AKIA2", "s3-secret-3", "role", "role2", "log", {})
    text = repr(info)
    assert "Pw-secret-1" not in text and "s3-secret-2" not in text and "s3-secret-3" not in text
    assert "AKIA1" in text and "awsuser" in text
    assert "Pw-secret-1" in info.toml()  # handing them out stays the job of `env`


def test_state_file_is_private_from_its_creation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    modes: list[int] = []
    real_replace = os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        modes.append(os.stat(src).st_mode & 0o777)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    endpoint = LocalEndpoint(tmp_path)
    endpoint._write_state({"info": None, "admin_password": "x"})
    endpoint._admin_password()
    assert modes == [0o600, 0o600]
    assert (endpoint.state_file.stat().st_mode & 0o777) == 0o600


SECRET_CASES = {
    "create_user": ("CREATE USER loader PASSWORD 'Pw-Very-Secret1'", "Pw-Very-Secret1"),
    "alter_user": ("ALTER USER loader WITH PASSWORD 'md5a1b2c3d4e5'", "md5a1b2c3d4e5"),
    "alter_user_equals": ("ALTER USER loader PASSWORD = 'Other-Secret9' VALID UNTIL 'infinity'", "Other-Secret9"),
    "copy_credentials": ("COPY t FROM 's3://b/k' CREDENTIALS 'aws_access_key_id=AKIAX;aws_secret_access_key=sk/+1'",
                         "sk/+1"),
    "copy_keys": ("COPY t FROM 's3://b/k' ACCESS_KEY_ID 'AKIAX' SECRET_ACCESS_KEY 'sk-2' SESSION_TOKEN 'tok-3'", "sk-2"),
    "unload_master_key": ("UNLOAD ('select 1') TO 's3://b/p' IAM_ROLE 'arn:r' MASTER_SYMMETRIC_KEY 'mk-4' ENCRYPTED",
                          "mk-4"),
    "secret_after_64kb": ("COPY t FROM 's3://b/k' /* " + "x" * 70_000 + " */ SECRET_ACCESS_KEY 'late-secret-5'",
                          "late-secret-5"),
}


@pytest.mark.parametrize("case", list(SECRET_CASES))
def test_statement_log_masks_every_secret_bearing_statement(case: str) -> None:
    sql, secret = SECRET_CASES[case]
    out = masked(sql)
    assert secret not in out and "***" in out
    assert "AKIAX" in out or "AKIAX" not in sql  # key ids stay readable


def test_statement_log_can_show_the_rewritten_sql(tmp_path: Path) -> None:
    path = tmp_path / "statements.log"
    log = StatementLog(str(path), log_rewritten=True)
    state = LogState()
    log.received(state, 1, "dev", "Q", "CREATE USER u PASSWORD 'pw-6'", "CREATE USER u PASSWORD 'pw-6'")
    log.observe(state, b"E", fields={"C": "42501", "M": "permission denied to create role"})
    entry = json.loads(path.read_text())
    assert entry["outcome"] == "error" and entry["code"] == "42501"
    assert "pw-6" not in entry["sql"] and "pw-6" not in entry["rewritten"]
