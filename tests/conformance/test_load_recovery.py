"""Failed jobs, lost COMMIT replies and failed schema changes: fix the cause, rerun, done, once."""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit, urlunsplit

import pytest

import shipload
from commit_drop import CommitDropLink
from conftest import table_rows


def _job_rows_without_a_load(p: shipload.Pipeline) -> list[tuple]:
    with p.sql_client() as c:
        return c.query(f"SELECT j.load_id FROM {c.table('_sl_load_jobs')} AS j WHERE NOT EXISTS "
                       f"(SELECT 1 FROM {c.table('_sl_loads')} AS l WHERE l.load_id = j.load_id)")[1]


def test_a_failed_job_runs_again_once_the_cause_is_fixed(destination: str) -> None:
    p = shipload.pipeline("resume", destination=destination)
    p.run([{"id": 1}, {"id": 2}], table_name="t")
    with p.sql_client() as c:  # the user's own constraint, which the next load breaks
        c.execute(f"CREATE UNIQUE INDEX t_id_unique ON {c.table('t')} (id)")
    for _ in range(2):  # failing twice leaves one failed job, not a job plus its error file as a job
        with pytest.raises(shipload.PipelineStepFailed) as err:
            p.run([{"id": 2}, {"id": 3}], table_name="t")
        assert "'t'" in str(err.value) and ".exception" not in str(err.value)
    (package,) = p.storage.normalized_packages()
    assert [j.table for j in package.jobs("failed_jobs")] == ["t"]
    assert "t_id_unique" in package.failure_message(package.jobs("failed_jobs")[0]) or destination == "duckdb"
    with p.sql_client() as c:  # the user fixes the cause
        c.execute(f"DELETE FROM {c.table('t')} WHERE id = 2")
    p.run()
    assert table_rows(p, "t", "id", order_by="id") == [(1,), (2,), (3,)]
    assert not p.storage.normalized_packages()
    assert _job_rows_without_a_load(p) == []
    p.run()  # nothing left to do, nothing loaded twice
    assert table_rows(p, "t", "count(*)") == [(3,)]


def _route_through(destination: str, link_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if destination == "postgres":
        parts = urlsplit(os.environ["DESTINATION__POSTGRES__CREDENTIALS"])
        netloc = parts.netloc.rsplit(":", 1)[0] + f":{link_port}"
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS",
                           urlunsplit(parts._replace(netloc=netloc, query="sslmode=disable&gssencmode=disable")))
    else:
        monkeypatch.setenv("DESTINATION__REDSHIFT__CREDENTIALS__HOST", "127.0.0.1")
        monkeypatch.setenv("DESTINATION__REDSHIFT__CREDENTIALS__PORT", str(link_port))


def _upstream(destination: str) -> tuple[str, int]:
    if destination == "postgres":
        parts = urlsplit(os.environ["DESTINATION__POSTGRES__CREDENTIALS"])
        return parts.hostname or "127.0.0.1", int(parts.port or 5432)
    return os.environ["DESTINATION__REDSHIFT__CREDENTIALS__HOST"], int(os.environ["DESTINATION__REDSHIFT__CREDENTIALS__PORT"])


LOST_REPLIES = {  # where the reply is lost: (the statement that arms the cut, the statement cut)
    "job": ('INSERT INTO "d"."_sl_load_jobs"', "COMMIT"),
    "package": ('INSERT INTO "d"."_sl_loads"', "COMMIT"),
    "schema": ('INSERT INTO "d"."_sl_version"', "COMMIT"),
    "prepare": ('DELETE FROM "d"."t"', "COMMIT"),
}


@pytest.mark.never(("duckdb",), reason="embedded: there is no connection to lose")
@pytest.mark.parametrize("step", sorted(LOST_REPLIES))
def test_connection_lost_after_the_server_committed_loads_every_row_once(
    destination: str, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply to a COMMIT (of a job, the package, a migration, the replace's truncate) is lost
    after the server committed: the step is retried on a new connection, finds its work done, and
    every row is there once."""
    arm_on, cut_at = LOST_REPLIES[step]
    if destination == "redshift" and step == "prepare":  # TRUNCATE commits by itself there
        arm_on, cut_at = 'TRUNCATE TABLE "d"."t"', "TRUNCATE"
    p = shipload.pipeline("lost_commit", destination=destination, dataset_name="d")
    p.run([{"id": i, "kids": [i]} for i in range(3)], table_name="t", write_disposition="replace")
    rows = [{"id": i, "kids": [i, i], "extra": "new column"} for i in range(500)]
    with CommitDropLink(*_upstream(destination), arm_on=arm_on, cut_at=cut_at) as link:
        _route_through(destination, link.port, monkeypatch)
        p = shipload.pipeline("lost_commit", destination=destination, dataset_name="d")
        p.run(rows, table_name="t", write_disposition="replace")  # retried on a new connection, in this run
        assert link.dropped == 1
        assert table_rows(p, "t", "count(*), count(DISTINCT id), count(extra)") == [(500, 500, 500)]
        assert table_rows(p, "t__kids", "count(*)") == [(1000,)]
        assert table_rows(p, "_sl_loads", "count(*)") == [(2,)]
        assert not p.storage.normalized_packages()


@pytest.mark.never(("duckdb",), reason="embedded: there is no connection to lose")
def test_a_failed_job_whose_commit_went_through_is_not_loaded_again(
    destination: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A COMMIT error classed terminal moves the job to failed_jobs although the server committed;
    the rerun asks the destination about failed jobs too and does not load the file again."""
    import dataclasses

    from shipload.destinations.postgres.transport import Psycopg2Transport

    every_connection_error_terminal = dataclasses.replace(Psycopg2Transport.error_classes, transient_sqlstates=(),
                                                          terminal_connect_messages=("",))
    rows = [{"id": i} for i in range(300)]
    with CommitDropLink(*_upstream(destination), arm_on='INSERT INTO "d"."_sl_load_jobs"') as link:
        _route_through(destination, link.port, monkeypatch)
        p = shipload.pipeline("failed_commit", destination=destination, dataset_name="d")
        with monkeypatch.context() as m:
            m.setattr(Psycopg2Transport, "error_classes", every_connection_error_terminal, raising=False)
            if destination == "redshift":
                from shipload.destinations.redshift.client import RedshiftTransport

                m.setattr(RedshiftTransport, "error_classes", every_connection_error_terminal)
            with pytest.raises(shipload.PipelineStepFailed):
                p.run(rows, table_name="t")
        assert link.dropped == 1
        (package,) = p.storage.normalized_packages()
        assert len(package.jobs("failed_jobs")) == 1
        p.run()
        assert table_rows(p, "t", "count(*), count(DISTINCT id)") == [(300, 300)]
        assert _job_rows_without_a_load(p) == []


@pytest.mark.parametrize("columns", [{"a": {"cluster": True}, "b": {"cluster": True}}, {"nope": {"cluster": True}}],
                         ids=["two_distkeys", "distkey_naming_no_column"])
def test_a_bad_design_hint_is_refused_before_any_package_and_blocks_nothing(redshift_db: object,
                                                                             columns: dict) -> None:
    p = shipload.pipeline("badhint", destination="redshift", dataset_name="d")
    p.run([{"id": 0}], table_name="first")
    with pytest.raises(shipload.PipelineStepFailed, match="DISTKEY") as err:
        p.run([{"id": 1, "a": 1, "b": 2}], table_name="t", columns=columns)
    assert err.value.step == "normalize"
    assert not p.storage.normalized_packages() and "t" not in p.default_schema.tables
    assert p.run([{"id": 2}], table_name="other").row_counts == {"other": 1}  # other tables load
    p.run([{"id": 1, "a": 1, "b": 2}], table_name="t", columns={"a": {"cluster": True}})  # the cause fixed
    with open(redshift_db.statement_log, encoding="utf-8") as fh:  # type: ignore[attr-defined]
        entries = [json.loads(line) for line in fh]
    database = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"]
    created = [e["sql"] for e in entries if e["db"] == database and e["sql"].startswith('CREATE TABLE "d"."t"')]
    assert len(created) == 1 and 'DISTKEY("a")' in created[0]


def test_a_failed_migration_leaves_the_pipeline_runnable_once_the_cause_is_fixed(postgres_db: str) -> None:
    """A DDL the destination refuses and no check can foresee (a sequence of the user's holds the
    table's name): the package stays pending and fails again until its cause is fixed; dropping it
    (after renaming the table in the code) brings back the schema of the last load, so nothing of
    the refused table is migrated again."""
    p = shipload.pipeline("badddl", destination="postgres", dataset_name="d")
    p.run([{"id": 0}], table_name="first")
    with p.sql_client() as c:
        c.execute('CREATE SEQUENCE "d"."taken"')
    for _ in range(2):
        with pytest.raises(shipload.PipelineStepFailed, match="taken"):
            p.run([{"id": 1}], table_name="taken")
    assert len(p.storage.normalized_packages()) == 1
    p.drop_pending_packages()
    assert "taken" not in p.default_schema.tables
    p2 = shipload.pipeline("badddl", destination="postgres", dataset_name="d")  # a new process, too
    assert "taken" not in p2.default_schema.tables
    assert p2.run([{"id": 2}], table_name="other").row_counts == {"other": 1}
    assert p2.run([{"id": 3}], table_name="first").row_counts == {"first": 1}
    assert table_rows(p2, "first", "id", order_by="id") == [(0,), (3,)]


def test_a_dataset_name_too_long_for_the_destination_is_refused_before_anything_runs(destination: str) -> None:
    from shipload.destinations.registry import as_destination

    limit = as_destination(destination).capabilities.sql_dialect.max_identifier_length
    too_long = "d" * (limit - len("_staging") + 1)  # fits, but its staging dataset does not
    with pytest.raises(shipload.exceptions.PipelineError, match="_staging"):
        shipload.pipeline("longds", destination=destination, dataset_name=too_long)
    p = shipload.pipeline("longds", destination=destination, dataset_name="short")
    assert p.run([{"id": 1}], table_name="t", write_disposition="merge", primary_key="id").row_counts == {"t": 1}
