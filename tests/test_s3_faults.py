"""The S3 server stops during a staged Redshift load: during the upload (after the first file of a
table's copy job) and during COPY (the local endpoint's COPY reads the bucket while S3 is down).

Both the pipeline's uploads and the endpoint's COPY reads go to the session's SeaweedFS through a
TCP forwarder (`tcp_gate.TcpGate`) the test shuts (connections refused, open ones reset) and opens
again. A short outage is retried with backoff (botocore's own attempts per request, then the
loader's `RetryPolicy` per job); an outage that outlasts the retries fails the run naming the
cause, changes nothing in the target table and leaves the package pending; with S3 back, a rerun
loads every row exactly once and leaves no staged file behind."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import shipload
from exactly_once import assert_holds_version, check_exactly_once, run_scenario
from shipload.exceptions import PipelineStepFailed
from shipload.local.endpoint import LocalEndpoint
from shipload.local.proxy.faults import S3_ENDPOINT_ENV
from shipload.utils.faults import on_point
from tcp_gate import TcpGate

N = 600
#: a staged COPY error that means "S3 did not answer", as Redshift words it
S3_UNREACHABLE = "S3CurlException"


class Gates:
    """Two gates in front of the session's S3 server: the pipeline's uploads go through `uploads`,
    the endpoint's COPY reads through `reads`."""

    def __init__(self, s3_port: int, folder: Path) -> None:
        self.uploads = TcpGate(s3_port, folder / "s3_gate_uploads.log").start()
        self.reads = TcpGate(s3_port, folder / "s3_gate_reads.log").start()

    def up(self) -> None:
        self.uploads.up()
        self.reads.up()

    def logs(self) -> list[Path]:
        return [self.uploads.log_path, self.reads.log_path]


@pytest.fixture(scope="module")
def s3_gates(local_redshift: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gates]:
    """The gates, and the session's proxy restarted to read buckets through `reads` (restored after)."""
    gates = Gates(int(local_redshift.s3_endpoint.rsplit(":", 1)[1]), tmp_path_factory.mktemp("s3gate"))
    endpoint = LocalEndpoint(local_redshift.folder)
    os.environ[S3_ENDPOINT_ENV] = gates.reads.url
    try:
        endpoint.restart_proxy()
    finally:
        del os.environ[S3_ENDPOINT_ENV]
    yield gates
    endpoint.restart_proxy()
    gates.uploads.close()
    gates.reads.close()


@pytest.fixture
def gates(s3_gates: Gates, redshift_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gates]:
    """A fresh database whose staged loads upload through the gate, to a bucket prefix of its own."""
    prefix = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"]
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", f"s3://{redshift_db.bucket}/{prefix}")
    monkeypatch.setenv("DESTINATION__FILESYSTEM__CREDENTIALS__ENDPOINT_URL", s3_gates.uploads.url)
    monkeypatch.setenv("LOAD__RETRY_BACKOFF", "0.05")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # botocore's attempts per request (5 by default)
    # several files per table, uploaded one by one: the hook after the first file stops S3 mid-upload
    monkeypatch.setenv("NORMALIZE__FILE_MAX_ROWS", "100")
    monkeypatch.setenv("SHIPLOAD_CRASH_AT", "staging.file_uploaded:1000000")
    s3_gates.up()
    yield s3_gates
    s3_gates.up()


class OnLog(logging.Handler):
    """Runs `action` once, when a record of the load step's logger contains `text`."""

    def __init__(self, text: str, action: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self.text, self.action, self.fired = text, action, False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.fired and self.text in record.getMessage():
            self.fired = True
            self.action()


def staged_pipeline() -> shipload.Pipeline:
    return shipload.pipeline("crashy_merge", destination="redshift", staging="filesystem")


def merge_v1(file_format: str) -> shipload.Pipeline:
    p = staged_pipeline()
    run_scenario(p, "merge", N, 1, file_format)
    return p


class Once:
    """`action()` the first time it is called; counts every call."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.action, self.calls = action, 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls == 1:
            self.action()


def staged_files_left(info: Any) -> list[str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=info.s3_endpoint, aws_access_key_id=info.access_key_id,
                      aws_secret_access_key=info.secret_access_key, region_name="us-east-1")
    prefix = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"] + "/"
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=info.bucket, Prefix=prefix).get("Contents", []))




#: where S3 stops: after the first staged file of a copy job was uploaded (the uploads' path), or
#: once every file and the manifest are up and the COPY is about to read them (the COPY's path)
WHEN = {"upload": "staging.file_uploaded", "copy": "staging.uploaded"}
#: what the first failure says: the upload's own error, or the COPY error the endpoint reports
CAUSE = {"upload": "upload of", "copy": S3_UNREACHABLE}


def stopped(gates: Gates, during: str) -> TcpGate:
    return gates.uploads if during == "upload" else gates.reads


# the format changes the files and the COPY, not the steps: jsonl is the `slow` part
@pytest.mark.parametrize("file_format", ["parquet", pytest.param("jsonl", marks=pytest.mark.slow)])
@pytest.mark.parametrize("during", ["upload", "copy"])
def test_s3_stops_briefly_then_the_retry_loads_every_row_once(gates: Gates, redshift_db: Any, during: str,
                                                             file_format: str, caplog: pytest.LogCaptureFixture) -> None:
    """S3 stops mid-upload or right before COPY reads the bucket and is back after the first retry:
    the job is retried (bounded, with backoff), the merge lands once, no staged file is left."""
    p = merge_v1(file_format)
    gate = stopped(gates, during)
    stop = Once(gate.down)
    back = OnLog("retry 1 of", gate.up)
    logging.getLogger("shipload.load").addHandler(back)
    try:
        with caplog.at_level("WARNING", logger="shipload.load"), on_point(WHEN[during], stop):
            run_scenario(p, "merge", N, 2, file_format)
    finally:
        logging.getLogger("shipload.load").removeHandler(back)
    assert stop.calls and back.fired
    first = next(r.getMessage() for r in caplog.records if "retry 1 of" in r.getMessage())
    assert CAUSE[during] in first, first
    if during == "upload":  # S3 stopped with data files of the job still to upload (not only its manifest)
        assert ".manifest" not in first.partition("failed:")[0], first
    assert "down reset=" in gate.log_path.read_text()
    check_exactly_once(p, "merge", N)
    assert staged_files_left(redshift_db) == []


@pytest.mark.parametrize("during", ["upload", "copy"])
def test_s3_stays_down_fails_clearly_changes_nothing_and_the_rerun_finishes(gates: Gates, redshift_db: Any,
                                                                            during: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 stays down past the retries: the run fails naming the job, the retries and the cause; the
    target tables are unchanged, the package stays pending; with S3 back, a rerun loads it once."""
    p = merge_v1("parquet")
    monkeypatch.setenv("LOAD__MAX_RETRIES", "2")
    stop = Once(stopped(gates, during).down)
    with on_point(WHEN[during], stop), pytest.raises(PipelineStepFailed) as failed:
        run_scenario(p, "merge", N, 2, "parquet")
    message = str(failed.value)
    assert "job games." in message and "gave up after 2 retries" in message, message
    if during == "upload":
        assert "upload of" in message and "Could not connect to the endpoint URL" in message, message
    else:  # the COPY's own error, as Redshift reports an S3 it cannot reach
        assert "COPY" in message or S3_UNREACHABLE in message, message
        assert S3_UNREACHABLE in message and "CanRetry 1" in message, message
    assert p.storage.normalized_packages(), "the package stays pending"
    assert_holds_version(p, N, 1)
    gates.up()
    p.run()
    check_exactly_once(p, "merge", N)
    assert staged_files_left(redshift_db) == []


def test_copy_reading_a_stopped_s3_is_a_redshift_like_retryable_error(gates: Gates, redshift_db: Any) -> None:
    """What the endpoint's COPY reports while S3 is down: SQLSTATE XX000 with Redshift's S3 client
    wording, which the client classifies as transient (a missing prefix stays terminal)."""
    import psycopg2

    from shipload.destinations.postgres.errors import is_transient
    from shipload.destinations.redshift.client import REDSHIFT_ERRORS

    conn = psycopg2.connect(host=redshift_db.redshift_host, port=redshift_db.redshift_port, user=redshift_db.username,
                            password=redshift_db.password,
                            dbname=os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"])
    conn.autocommit = True
    creds = f"aws_access_key_id={redshift_db.access_key_id};aws_secret_access_key={redshift_db.secret_access_key}"
    copy = f"COPY t FROM 's3://{redshift_db.bucket}/nothing/' CREDENTIALS '{creds}' FORMAT AS PARQUET"
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE t (a INT)")
        gates.reads.down()
        with pytest.raises(psycopg2.Error) as down:
            cur.execute(copy)
        cur.execute("SELECT pg_last_copy_count()")
        assert cur.fetchone()[0] == 0  # the COPY had begun: its count is 0
        gates.reads.up()
        with pytest.raises(psycopg2.Error) as missing:
            cur.execute(copy)
    conn.close()
    assert down.value.pgcode == "XX000" and S3_UNREACHABLE in str(down.value) and "CanRetry 1" in str(down.value)
    assert is_transient(REDSHIFT_ERRORS, "XX000", str(down.value), connection_error=False, interface_error=False)
    assert "does not exist" in str(missing.value)
    assert not is_transient(REDSHIFT_ERRORS, "XX000", str(missing.value), connection_error=False, interface_error=False)
