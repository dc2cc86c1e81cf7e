"""Injected faults during real loads into Postgres and the local Redshift endpoint: connections
dropped mid-statement and at COMMIT (backend terminated through an admin connection, or the proxy
dropping the client), statement timeouts, Redshift's 1023 serializable-isolation error at a random
statement, a terminal error. Transient faults are retried (bounded, with backoff) and the load ends
with every row once; terminal ones fail clearly, leave the package pending and nothing half-applied,
and a rerun finishes it."""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg2
import pytest

import shipload
from exactly_once import assert_holds_version, check_exactly_once, run_scenario
from shipload.exceptions import PipelineStepFailed
from shipload.local.endpoint import LocalEndpoint
from shipload.local.proxy.faults import ENV as FAULTS_ENV
from shipload.utils.faults import on_point

N = 600
SERIALIZABLE_1023 = ("1023\nDETAIL:  Serializable isolation violation on table - 100234, transactions forming the "
                     "cycle are: 4711, 4712 (pid:30123)")


@pytest.fixture(scope="module")
def fault_rules(local_redshift: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's proxy restarted with fault injection on (rules file returned); restored after."""
    rules = tmp_path_factory.mktemp("faults") / "rules.json"
    endpoint = LocalEndpoint(local_redshift.folder)
    os.environ[FAULTS_ENV] = str(rules)
    try:
        endpoint.restart_proxy()
    finally:
        del os.environ[FAULTS_ENV]
    yield rules
    endpoint.restart_proxy()


class Server:
    """The database a test loads into, and a superuser connection to the server behind it."""

    def __init__(self, destination: str, dbname: str, admin_dsn: dict[str, Any], statement_log: str = "") -> None:
        self.destination, self.dbname, self.admin_dsn = destination, dbname, admin_dsn
        self.statement_log = statement_log

    def statements(self) -> list[str]:
        """What the local endpoint received for this database so far."""
        with open(self.statement_log, encoding="utf-8") as fh:
            return [e["sql"] for e in map(json.loads, fh) if e["db"] == self.dbname]

    def admin(self) -> Any:
        conn = psycopg2.connect(**dict(self.admin_dsn, dbname=self.dbname))
        conn.autocommit = True
        return conn

    def terminate_backends(self) -> int:
        """pg_terminate_backend for every connection to the database but the admin's own."""
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", (self.dbname,))
                return int(cur.fetchone()[0])
        finally:
            conn.close()


@pytest.fixture(params=["postgres", "redshift"])
def server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Server:
    monkeypatch.setenv("LOAD__RETRY_BACKOFF", "0.01")
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_db")
        pg = request.getfixturevalue("postgres_server")
        dsn = psycopg2.extensions.parse_dsn(pg.url())
        return Server("postgres", psycopg2.extensions.parse_dsn(url)["dbname"], dsn)
    info = request.getfixturevalue("redshift_db")
    admin = orjson.loads(Path(info.folder, "endpoint.json").read_bytes())["proxy"]["admin_dsn"]
    return Server("redshift", os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"], admin, info.statement_log)


def once(action: Any) -> Any:
    fired: list[int] = []

    def run() -> None:
        if not fired:
            fired.append(1)
            action()

    run.fired = fired  # type: ignore[attr-defined]
    return run


def merge_v1(server: Server) -> shipload.Pipeline:
    p = shipload.pipeline("crashy_merge", destination=server.destination)
    run_scenario(p, "merge", N, 1)
    return p




# -- the connection drops ---------------------------------------------------------------------------

@pytest.mark.parametrize("point", ["load.job_data", "load.job_marker", "load.followup_sql"])
def test_backend_terminated_mid_transaction_is_retried(server: Server, point: str, caplog: pytest.LogCaptureFixture) -> None:
    """pg_terminate_backend while a job (mid-statements, or right before its COMMIT) or the package's
    follow-up SQL runs: the transaction is lost, retried on a new connection, every row once."""
    p = merge_v1(server)
    kill = once(server.terminate_backends)
    with caplog.at_level("WARNING", logger="shipload.load"), on_point(point, kill):
        run_scenario(p, "merge", N, 2)
    assert kill.fired
    assert "retry 1 of 5" in caplog.text
    check_exactly_once(p, "merge", N)


@pytest.mark.parametrize(("after", "what"), [(r"INSERT INTO .*_sl_load_jobs", "job"), (r"INSERT INTO .*_sl_loads", "package")])
def test_commit_ran_but_its_reply_was_lost(server: Server, fault_rules: Path, after: str, what: str) -> None:
    """The proxy lets a COMMIT (of a job, or of the package) run, then drops the connection before the
    reply: the loader cannot know; it reconnects, finds the job or package committed, does not repeat it."""
    if server.destination != "redshift":
        pytest.skip("the proxy sits in front of the local Redshift endpoint only")
    p = merge_v1(server)
    fault_rules.write_text(json.dumps([{"db": server.dbname, "after": after, "match": r"^\s*COMMIT", "action": "drop_after"}]))
    try:
        run_scenario(p, "merge", N, 2)
    finally:
        fired = fault_rules.with_name("rules.json.fired").read_text() if fault_rules.with_name("rules.json.fired").exists() else ""
        fault_rules.write_text("[]")
    assert server.dbname in fired and "drop_after" in fired
    check_exactly_once(p, "merge", N)


def test_connection_dropped_before_a_statement_reaches_the_server(server: Server, fault_rules: Path) -> None:
    if server.destination != "redshift":
        pytest.skip("the proxy sits in front of the local Redshift endpoint only")
    p = merge_v1(server)
    fault_rules.write_text(json.dumps([{"db": server.dbname, "match": r"^\s*INSERT INTO", "nth": 2, "action": "drop"}]))
    try:
        run_scenario(p, "merge", N, 2)
    finally:
        fault_rules.write_text("[]")
    check_exactly_once(p, "merge", N)


# -- statement timeout ------------------------------------------------------------------------------

def hold_lock(server: Server, table: str, seconds: float | None) -> tuple[threading.Event, threading.Thread]:
    """An admin transaction holding ACCESS EXCLUSIVE on `table` for `seconds` (None: until released)."""
    taken, release = threading.Event(), threading.Event()

    def run() -> None:
        conn = server.admin()
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute(f'LOCK TABLE "crashy_merge_dataset"."{table}" IN ACCESS EXCLUSIVE MODE')
            taken.set()
            release.wait(seconds)
            cur.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert taken.wait(10)
    return release, thread


def set_timeout(server: Server, value: str) -> None:
    conn = server.admin()
    with conn.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{server.dbname}" SET statement_timeout = {value!r}')
    conn.close()


def test_statement_timeout_is_retried_until_the_lock_is_gone(server: Server, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """The follow-up DELETE waits on a lock held elsewhere and hits statement_timeout (57014): retried
    with backoff; the lock goes away, the merge lands once."""
    p = merge_v1(server)
    monkeypatch.setenv("LOAD__RETRY_BACKOFF", "0.2")
    set_timeout(server, "300ms")
    holder: list[Any] = []
    take = once(lambda: holder.append(hold_lock(server, "games", 0.8)))
    with caplog.at_level("WARNING", logger="shipload.load"), on_point("load.before_complete", take):
        run_scenario(p, "merge", N, 2)
    holder[0][1].join()
    assert "statement timeout" in caplog.text
    check_exactly_once(p, "merge", N)


def test_statement_timeout_that_outlasts_the_retries_fails_clearly_then_resumes(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    p = merge_v1(server)
    monkeypatch.setenv("LOAD__MAX_RETRIES", "2")
    set_timeout(server, "200ms")
    holder: list[Any] = []
    take = once(lambda: holder.append(hold_lock(server, "games", None)))
    with on_point("load.before_complete", take), pytest.raises(PipelineStepFailed) as failed:
        run_scenario(p, "merge", N, 2)
    message = str(failed.value)
    assert "commit package" in message and "gave up after 2 retries" in message and "statement timeout" in message
    assert p.storage.normalized_packages(), "the package stays pending"
    release, thread = holder[0]
    release.set()
    thread.join()
    assert_holds_version(p, N, 1)  # nothing of the failed merge is visible
    p.run()  # the cause is gone: the pending package loads
    check_exactly_once(p, "merge", N)


# -- 1023 at a random statement ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_serializable_isolation_error_at_a_random_statement_is_retried(server: Server, fault_rules: Path, seed: int) -> None:
    """Redshift's error 1023 (a conflict between concurrent transactions) on the k-th statement of a
    load, k random: the step is retried on a fresh connection; the merge lands once."""
    if server.destination != "redshift":
        pytest.skip("error 1023 is Redshift's")
    p = merge_v1(server)
    before = len(server.statements())
    sent = before  # version 2 sends about as many statements as version 1 did
    k = random.Random(seed).randint(1, sent)
    fault_rules.write_text(json.dumps([{"db": server.dbname, "match": ".", "nth": k, "action": "error",
                                        "code": "XX000", "message": SERIALIZABLE_1023}]))
    try:
        run_scenario(p, "merge", N, 2)
    finally:
        fired = fault_rules.with_name("rules.json.fired")
        fired_text = fired.read_text() if fired.exists() else ""
        fault_rules.write_text("[]")
    assert server.dbname in fired_text, f"statement {k} of about {sent} was never reached"
    check_exactly_once(p, "merge", N)


# -- terminal errors --------------------------------------------------------------------------------

def test_terminal_error_in_a_job_fails_it_clearly_and_the_rerun_finishes(server: Server, fault_rules: Path) -> None:
    if server.destination != "redshift":
        pytest.skip("the proxy sits in front of the local Redshift endpoint only")
    p = merge_v1(server)
    fault_rules.write_text(json.dumps([{"db": server.dbname, "match": r"^\s*INSERT INTO .*games__moves", "action": "error",
                                        "code": "42501", "message": "permission denied for relation games__moves"}]))
    try:
        with pytest.raises(PipelineStepFailed) as failed:
            run_scenario(p, "merge", N, 2)
    finally:
        fault_rules.write_text("[]")
    message = str(failed.value)
    assert "games__moves" in message and "permission denied" in message and "retry" not in message
    [package] = p.storage.normalized_packages()
    assert package.jobs("failed_jobs") and "permission denied" in package.failure_message(package.jobs("failed_jobs")[0])
    assert_holds_version(p, N, 1)
    p.run()
    check_exactly_once(p, "merge", N)
