"""Secret scan: real loads with distinctive secrets (a database password, AWS keys forwarded to COPY,
an STS session token), successful and failing, then every place a secret could leak is searched:
logs at every level, exception messages and tracebacks, repr of config and client objects, the
trace file, load packages and everything else in the pipeline's working folder (dbt's profiles,
logs and target files after a real dbt run included), the local endpoint's statement log and proxy
log, and the logs of the S3 outage gates (tests/test_s3_faults.py) after an outage during COPY."""

from __future__ import annotations

import gzip
import logging
import os
import traceback
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg2
import pytest

import shipload
import shipload.dbt
from conftest import PG_PASSWORD
from shipload.local.proxy.statement_log import read_entries
from shipload.utils.faults import on_point
from test_s3_faults import Gates, Once, gates, s3_gates  # noqa: F401 (fixtures)

RS_USER = "scanuser"
RS_PASSWORD = "Rs-Scan-Pw-7f3c9e1b"
SESSION_TOKEN = "FwoGZXIvYXdzEScanSessionToken9d2a4c"


def texts_under(folder: Path) -> dict[str, str]:
    """Every file below `folder` as text (gzip files inflated)."""
    out: dict[str, str] = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        out[str(path)] = data.decode("utf-8", "replace")
    return out


def assert_no_secret(secrets: list[str], places: dict[str, str]) -> None:
    leaks = [(where, s) for where, text in places.items() for s in secrets if s and s in text]
    assert not leaks, f"secrets found in: {sorted({w for w, _ in leaks})}"


def failure_texts(exc: BaseException) -> dict[str, str]:
    return {"exception message": str(exc),
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}


def object_reprs(p: shipload.Pipeline) -> dict[str, str]:
    out = {"repr(pipeline)": repr(p), "repr(destination)": repr(p.destination),
           "repr(credentials)": repr(p.destination.resolve_credentials(p.pipeline_name)),
           "repr(settings)": repr(p.destination.settings(p.pipeline_name))}
    if p.staging is not None:
        out["repr(staging)"] = repr(p.staging)
        out["repr(staging credentials)"] = repr(p.staging.resolve_credentials(p.pipeline_name))
    with p.sql_client() as client:
        out["repr(client)"] = repr(client)
        out["repr(transport)"] = repr(client.transport)
        out["client statements"] = "\n".join(client.statements)
    return out


@pytest.fixture
def scan_user(redshift_db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A Redshift user with a distinctive password, owning the test's database."""
    admin = orjson.loads(Path(redshift_db.folder, "endpoint.json").read_bytes())["proxy"]["admin_dsn"]
    db = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"]
    conn = psycopg2.connect(**dict(admin, dbname=db))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"SELECT 1 FROM pg_roles WHERE rolname = '{RS_USER}'")
        if not cur.fetchone():
            cur.execute("SET password_encryption = 'md5'")
            cur.execute(f"CREATE ROLE {RS_USER} LOGIN PASSWORD %s", (RS_PASSWORD,))
            cur.execute(f"ALTER ROLE {RS_USER} SET standard_conforming_strings = off")
        cur.execute(f'ALTER DATABASE "{db}" OWNER TO {RS_USER}')
    conn.close()
    monkeypatch.setenv("DESTINATION__REDSHIFT__CREDENTIALS__USERNAME", RS_USER)
    monkeypatch.setenv("DESTINATION__REDSHIFT__CREDENTIALS__PASSWORD", RS_PASSWORD)
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", f"s3://{redshift_db.bucket}/{db}")
    return redshift_db


def rows(n: int = 50) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"n{i}", "tags": [{"t": "x"}]} for i in range(n)]


def load_and_fail(p: shipload.Pipeline, monkeypatch: pytest.MonkeyPatch, password_var: str,
                  **run: Any) -> dict[str, str]:
    """A good load, a load refused by the destination, and a connection with a wrong password."""
    places: dict[str, str] = {}
    p.run(rows(), table_name="items", **run)
    with pytest.raises(Exception) as refused:  # a new column under a frozen contract is refused
        p.run([{"id": 1, "extra": Decimal("1.5")}], table_name="items", schema_contract="freeze", **run)
    places.update({f"refused load: {k}": v for k, v in failure_texts(refused.value).items()})
    p.drop_pending_packages()
    monkeypatch.setenv(password_var, "wrong-" + "x" * 8)
    with pytest.raises(Exception) as denied:
        shipload.pipeline(p.pipeline_name, destination=p.destination.name).run(rows(1), table_name="items", **run)
    places.update({f"wrong password: {k}": v for k, v in failure_texts(denied.value).items()})
    return places


def endpoint_logs(info: Any) -> dict[str, str]:
    return {"statement log": Path(info.statement_log).read_text("utf-8"),
            "proxy log": Path(info.folder, "proxy.log").read_text("utf-8", "replace")}


@pytest.mark.parametrize("destination_name", ["postgres", "redshift"])
def test_direct_loads_leak_no_password(request: pytest.FixtureRequest, destination_name: str, isolated: Path,
                                      monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    if destination_name == "postgres":
        request.getfixturevalue("postgres_db")
        secrets, var = [PG_PASSWORD], "DESTINATION__POSTGRES__CREDENTIALS__PASSWORD"
    else:
        info = request.getfixturevalue("scan_user")
        secrets, var = [RS_PASSWORD], "DESTINATION__REDSHIFT__CREDENTIALS__PASSWORD"
    p = shipload.pipeline("scan", destination=destination_name)
    places = object_reprs(p) if destination_name == "redshift" else {}
    places.update(load_and_fail(p, monkeypatch, var))
    places["logs (DEBUG)"] = caplog.text
    places.update(texts_under(isolated / "pipelines"))
    if destination_name == "redshift":
        places.update(endpoint_logs(info))
    else:
        monkeypatch.delenv(var)
        places.update(object_reprs(shipload.pipeline("scan", destination="postgres")))
    assert any("trace.json" in k for k in places), "the trace file was scanned"
    assert_no_secret(secrets, places)


@pytest.mark.parametrize("token", [None, SESSION_TOKEN], ids=["keys", "sts-token"])
def test_staged_loads_leak_no_key_token_or_password(scan_user: Any, isolated: Path, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture, token: str | None) -> None:
    """Staged through S3 with the keys (and a session token) forwarded to COPY."""
    caplog.set_level(logging.DEBUG)
    if token:
        monkeypatch.setenv("DESTINATION__FILESYSTEM__CREDENTIALS__AWS_SESSION_TOKEN", token)
    monkeypatch.setenv("DESTINATION__REDSHIFT__FORWARD_STAGING_CREDENTIALS", "true")
    p = shipload.pipeline("scan_staged", destination="redshift", staging="filesystem")
    places = object_reprs(p)
    if token:  # the local S3 server knows no STS tokens: the load fails at the bucket check; scan that path
        with pytest.raises(Exception) as refused:
            p.run(rows(), table_name="items")
        places.update(failure_texts(refused.value))
        assert "X-Amz-Security-Token" in caplog.text or "***" in caplog.text  # the header was logged, masked
        places["logs (DEBUG)"] = caplog.text
        places.update(texts_under(isolated / "pipelines"))
        places.update(endpoint_logs(scan_user))
        assert_no_secret([RS_PASSWORD, scan_user.secret_access_key, token], places)
        return
    places.update(load_and_fail(p, monkeypatch, "DESTINATION__REDSHIFT__CREDENTIALS__PASSWORD"))
    db = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"]
    copies = [e["sql"] for e in read_entries(scan_user.statement_log)
              if e["db"] == db and e["sql"].lstrip().upper().startswith("COPY")]
    # the keys really travelled in the COPY (masked in the log)
    assert copies and all(scan_user.access_key_id in c and "***" in c for c in copies), copies[:1]
    places["logs (DEBUG)"] = caplog.text
    places.update(texts_under(isolated / "pipelines"))
    places.update(endpoint_logs(scan_user))
    assert_no_secret([RS_PASSWORD, scan_user.secret_access_key], places)


def dbt_package(folder: Path) -> Path:
    """A dbt project of two models over the loaded table: one builds, one fails (no such table)."""
    (folder / "models").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text('name: scan_dbt\nversion: "1.0.0"\nconfig-version: 2\nprofile: scan\n'
                                            'model-paths: ["models"]\n')
    (folder / "models" / "item_count.sql").write_text(
        "select count(*) as n from {{ var('source_dataset_name') }}.items\n")
    (folder / "models" / "broken.sql").write_text("select * from {{ var('source_dataset_name') }}.no_such_table\n")
    return folder


@pytest.mark.slow  # dbt starts in 10-14 s
def test_dbt_files_leak_no_password_or_key(scan_user: Any, isolated: Path, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """A staged load with forwarded keys, then one real dbt run (one model built, one failing): the
    profiles, logs and target files dbt wrote, the failure, the logs and the statement log hold no
    password or key."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DESTINATION__REDSHIFT__FORWARD_STAGING_CREDENTIALS", "true")
    p = shipload.pipeline("scan_dbt", destination="redshift", staging="filesystem")
    p.run(rows(), table_name="items")
    runner = shipload.dbt.package(p, dbt_package(isolated / "scan_dbt"))
    with pytest.raises(shipload.dbt.DbtCommandFailed) as failed:
        runner.run_all(run_params=())
    assert "no_such_table" in str(failed.value)
    assert {r.name: r.status for r in failed.value.results}["item_count"] == "success"
    with p.sql_client() as c:
        assert c.query(f"SELECT n FROM {c.table('item_count')}")[1] == [(50,)]
    work = Path(p.working_dir) / "dbt"
    dbt_files = texts_under(work)
    written = {Path(k).relative_to(work).parts[1] for k in dbt_files}
    assert {"profiles", "target", "logs"} <= written, written  # dbt did write its files there
    assert any(k.endswith("dbt.log") and v for k, v in dbt_files.items())
    places = {**failure_texts(failed.value), "repr(runner)": repr(runner), "repr(profile)": repr(runner.profile),
              "logs (DEBUG)": caplog.text, **texts_under(isolated), **endpoint_logs(scan_user)}
    assert_no_secret([RS_PASSWORD, scan_user.secret_access_key], places)


def test_s3_outage_during_copy_leaks_no_key_or_password(scan_user: Any, gates: Gates, isolated: Path,  # noqa: F811
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """The S3 server stops while COPY reads the bucket (keys forwarded in the COPY) and stays down
    past the retries; then it is back and a rerun loads. The retry warnings, the failure, the gate
    logs, the statement and proxy logs and the pipeline folder hold no secret."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DESTINATION__REDSHIFT__FORWARD_STAGING_CREDENTIALS", "true")
    monkeypatch.setenv("LOAD__MAX_RETRIES", "1")
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL",
                       f"s3://{scan_user.bucket}/{os.environ['DESTINATION__REDSHIFT__CREDENTIALS__DATABASE']}")
    p = shipload.pipeline("scan_outage", destination="redshift", staging="filesystem")
    stop = Once(gates.reads.down)
    with on_point("staging.uploaded", stop), pytest.raises(Exception) as failed:
        p.run(rows(), table_name="items", loader_file_format="parquet")
    assert "S3CurlException" in str(failed.value)
    gates.up()
    p.run()
    with p.sql_client() as c:
        assert c.query(f"SELECT count(*) FROM {c.table('items')}")[1] == [(50,)]
    gate_logs = {str(path): path.read_text("utf-8") for path in gates.logs()}
    assert any("down" in text for text in gate_logs.values())
    places = {**failure_texts(failed.value), "logs (DEBUG)": caplog.text, **gate_logs,
              **texts_under(isolated / "pipelines"), **endpoint_logs(scan_user)}
    assert "retry 1 of 1" in caplog.text
    assert_no_secret([RS_PASSWORD, scan_user.secret_access_key], places)
