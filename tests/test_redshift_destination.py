"""Redshift-specific behaviour, against the local Redshift endpoint (every statement sent is also
parsed with sqlglot's redshift dialect by the redshift_db fixture)."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest

import shipload
from conftest import table_rows
from shipload.destinations.redshift.adapter import redshift_adapter
from shipload.destinations.redshift.dialect import RedshiftDialect
from shipload.exceptions import DestinationTransientError, SchemaError


def statements(info: Any, db: str | None = None) -> list[str]:
    with open(info.statement_log, encoding="utf-8") as fh:
        entries = [json.loads(line) for line in fh]
    db = db or _current_db()
    return [e["sql"] for e in entries if e["db"] == db]


def _current_db() -> str:
    import os

    return os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"]


def _columns(p: shipload.Pipeline, table: str) -> dict[str, tuple[str, int | None]]:
    rows = p.dataset().query(
        "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
        f"WHERE table_schema = '{p.dataset_name}' AND table_name = '{table}'"
    )
    return {name: (dtype, size) for name, dtype, size in rows}


def test_nested_data_round_trips_through_insert_values(redshift_db: Any) -> None:
    import datetime as dt
    from decimal import Decimal

    p = shipload.pipeline("p", destination="redshift", dataset_name="d")
    data = [{"id": i, "doc": {"k": [i, "x", None], "s": "é'\\"}, "raw": bytes([i, 255]),
             "amount": Decimal("1.123456789") * i, "at": dt.datetime(2024, 5, 6, 7, 8, 9, i, tzinfo=dt.UTC),
             "moves": [{"san": "e4", "n": 1}, {"san": "e5", "n": 2}]} for i in range(1, 4)]
    p.run(data, table_name="games", columns={"doc": {"data_type": "json"}})
    rows = p.dataset().rows("games", ["id", "doc", "raw", "amount", "at"], order_by=["id"])
    assert rows[1]["doc"] == {"k": [2, "x", None], "s": "é'\\"}
    assert bytes(rows[1]["raw"]) == bytes([2, 255]) and rows[1]["amount"] == Decimal("2.246913578")
    assert rows[2]["at"] == dt.datetime(2024, 5, 6, 7, 8, 9, 3, tzinfo=dt.UTC)
    assert table_rows(p, "games__moves", "count(*)") == [(6,)]
    sent = "\n".join(statements(redshift_db))
    assert "JSON_PARSE(" in sent and "FROM_HEX(" in sent and " super" in sent and " varbyte" in sent
    assert _columns(p, "games")["doc"][0] == "jsonb"  # SUPER (a jsonb domain on the endpoint)


def test_statements_stay_under_16_mb_and_a_40_mb_file_loads_in_one_transaction(redshift_db: Any,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORMALIZE__WORKERS", "1")  # one load file (two processes would write one each)
    p = shipload.pipeline("big", destination="redshift", dataset_name="d")
    body = "é" * 1500 + "x" * 1000  # 4000 bytes, 2500 characters: a statement limit in characters would overflow
    p.run(({"id": i, "body": body} for i in range(10_000)), table_name="big")
    assert table_rows(p, "big", "count(*), count(DISTINCT id)") == [(10_000, 10_000)]
    sent = statements(redshift_db)
    inserts = [s for s in sent if s.startswith('INSERT INTO "d"."big"')]
    sizes = [len(s.encode("utf-8")) for s in inserts]
    assert len(inserts) >= 3 and max(sizes) <= 16 * 1024 * 1024 and sum(sizes) > 40_000_000
    assert sum(sizes) / len(sizes) > 8 * 1024 * 1024  # packed close to the cap
    first, last = sent.index(inserts[0]), sent.index(inserts[-1])
    between = sent[first:last]
    assert "COMMIT" not in between and sent[first - 1] == "BEGIN"  # one transaction for the file


def test_text_columns_are_sized_from_data_and_widened(redshift_db: Any) -> None:
    p = shipload.pipeline("sizes", destination="redshift", dataset_name="d")
    p.run([{"id": 1, "short": "ab", "multi": "é" * 150}], table_name="t")
    cols = _columns(p, "t")
    assert cols["short"] == ("character varying", 256) and cols["multi"] == ("character varying", 512)  # 300 bytes
    p.run([{"id": 2, "short": "z" * 3000}], table_name="t")
    assert _columns(p, "t")["short"] == ("character varying", 4096)
    assert table_rows(p, "t", "id, length(short)", order_by="id") == [(1, 2), (2, 3000)]
    widen = [s for s in statements(redshift_db) if "ALTER COLUMN" in s]
    assert widen == ['ALTER TABLE "d"."t" ALTER COLUMN "short" TYPE varchar(4096)']


def test_text_over_65535_bytes_fails_naming_table_column_and_row(redshift_db: Any) -> None:
    p = shipload.pipeline("overflow", destination="redshift", dataset_name="d")
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run([{"id": 1, "body": "a"}, {"id": 7, "body": "é" * 40_000}], table_name="t", primary_key="id")
    message = str(err.value)
    assert "'t'" in message and "'body'" in message and "id=7" in message and "80000 bytes" in message
    with pytest.raises(shipload.exceptions.DestinationTerminalError, match="does not exist"):
        table_rows(p, "t")  # nothing was loaded: the table was never created


def test_text_overflow_truncate_setting_cuts_at_a_character_boundary(redshift_db: Any, monkeypatch: pytest.MonkeyPatch,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("DESTINATION__REDSHIFT__TEXT_OVERFLOW", "truncate")
    p = shipload.pipeline("truncate", destination="redshift", dataset_name="d")
    with caplog.at_level(logging.WARNING):
        p.run([{"id": 1, "body": "é" * 40_000}], table_name="t")
    assert table_rows(p, "t", "octet_length(body), length(body)") == [(65534, 32767)]
    assert "cut to 65535 bytes" in caplog.text


def test_merge_deletes_by_key_without_or(redshift_db: Any) -> None:
    p = shipload.pipeline("merge", destination="redshift", dataset_name="d")
    hints = {"write_disposition": "merge", "primary_key": ["id", "region"], "merge_key": "day"}
    rows = [{"id": i, "region": "eu", "day": "d1", "tags": ["a"]} for i in range(3)]
    p.run(rows, table_name="t", **hints)
    p.run(rows[:1], table_name="t", **hints)
    deletes = [s for s in statements(redshift_db) if s.startswith("DELETE")]
    assert deletes and not any(" OR " in d.upper() for d in deletes)
    assert any(" USING " in d for d in deletes)  # composite key: a join, not a correlated predicate
    assert table_rows(p, "t", "count(*)") == [(1,)]


def test_design_hints_reach_the_ddl_and_bad_hints_fail_before_any_ddl(redshift_db: Any) -> None:
    @shipload.resource(columns={"played": {"sort": True}})
    def games():
        yield [{"id": 1, "player": "p", "played": "2024-01-01", "pgn": "e4", "note": "n"}]

    p = shipload.pipeline("design", destination="redshift", dataset_name="d")
    p.run(redshift_adapter(games(), distkey="player", sortkey=["id"], encode={"pgn": "zstd"}, backup=False))
    create = next(s for s in statements(redshift_db) if s.startswith('CREATE TABLE "d"."games"'))
    assert '"pgn" varchar(256) ENCODE zstd' in create
    assert create.rstrip().endswith('DISTSTYLE KEY DISTKEY("player") COMPOUND SORTKEY("id", "played") BACKUP NO')

    with pytest.raises(SchemaError, match="one DISTKEY"):
        redshift_adapter(games(), distkey=["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="diststyle"):
        redshift_adapter(games(), diststyle="random")
    before = len(statements(redshift_db))
    p2 = shipload.pipeline("design2", destination="redshift", dataset_name="d2")
    with pytest.raises(shipload.PipelineStepFailed, match="not columns of the table"):
        p2.run(redshift_adapter(games().with_name("other"), sortkey=["nope"]))
    assert not any(s.startswith("CREATE TABLE") for s in statements(redshift_db)[before:] if '"d2"."other"' in s)


def test_column_descriptions_become_comments(redshift_db: Any) -> None:
    p = shipload.pipeline("comments", destination="redshift", dataset_name="d")
    p.run([{"id": 1, "elo": 2800}], table_name="t", columns={"elo": {"description": "rating, FIDE's"}})
    assert 'COMMENT ON COLUMN "d"."t"."elo" IS \'rating, FIDE\'\'s\'' in statements(redshift_db)
    assert p.dataset().query(
        "SELECT col_description(c.oid, a.attnum) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid WHERE n.nspname = 'd' AND c.relname = 't' AND a.attname = 'elo'"
    ) == [("rating, FIDE's",)]


def test_credentials_as_redshift_url_and_public_dataset(redshift_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    info = redshift_db
    db = _current_db()
    for key in ("HOST", "PORT", "USERNAME", "PASSWORD", "DATABASE", "SSLMODE"):
        monkeypatch.delenv(f"DESTINATION__REDSHIFT__CREDENTIALS__{key}")
    url = f"redshift://{info.username}:{info.password}@{info.redshift_host}:{info.redshift_port}/{db}"
    monkeypatch.setenv("DESTINATION__REDSHIFT__CREDENTIALS", url + "?sslmode=disable&connect_timeout=5")
    p = shipload.pipeline("public", destination="redshift", dataset_name="public")
    p.run([{"id": 1}], table_name="t")
    assert table_rows(p, "t", "id") == [(1,)]
    assert not any("CREATE SCHEMA" in s and '"public"' in s for s in statements(info, db))


def test_password_never_appears_in_errors_logs_or_files(redshift_db: Any, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture, isolated: Path) -> None:
    secret = "S3cret-Wrong-Pa55"
    monkeypatch.setenv("DESTINATION__REDSHIFT__CREDENTIALS__PASSWORD", secret)
    p = shipload.pipeline("pw", destination="redshift", dataset_name="d")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run([{"id": 1}], table_name="t")
    assert "password authentication failed" in str(err.value)
    import traceback

    trace = "".join(traceback.format_exception(err.value))
    files = "".join(f.read_text(errors="replace") for f in isolated.rglob("*") if f.is_file())
    for text in (str(err.value), repr(err.value), trace, caplog.text, files, repr(p.destination)):
        assert secret not in text
    creds = p.destination.resolve_credentials("pw")
    assert secret not in repr(creds) and secret not in str(creds)


def _raised(action: Any) -> Exception:
    try:
        action()
    except Exception as exc:
        return exc
    raise AssertionError("no error raised")


def test_errors_are_classed_by_sqlstate_and_keep_it(redshift_db: Any) -> None:
    """Real errors from the endpoint: data and SQL errors are terminal, timeouts and deadlocks transient."""
    from shipload.exceptions import DestinationTerminalError

    p = shipload.pipeline("errors", destination="redshift", dataset_name="d")
    p.run([{"id": 1}], table_name="t")
    with p.sql_client() as c:
        c.execute('CREATE TABLE "d"."short" (s VARCHAR(3), n DECIMAL(3, 0))')
        terminal = {
            "22001": _raised(lambda: c.execute("INSERT INTO \"d\".\"short\" (s) VALUES ('abcdef')")),
            "22003": _raised(lambda: c.execute('INSERT INTO "d"."short" (n) VALUES (12345)')),
            "42P01": _raised(lambda: c.execute('SELECT * FROM "d"."no_such_table"')),
        }
        for code, err in terminal.items():
            assert isinstance(err, DestinationTerminalError), (code, err)
            assert err.sqlstate == code and f"SQLSTATE {code}" in str(err)
        c.execute("SET statement_timeout TO 100")
        timeout = _raised(lambda: c.execute("SELECT pg_sleep(2)"))
        assert isinstance(timeout, DestinationTransientError) and timeout.sqlstate == "57014"
        c.execute("SET statement_timeout TO 0")
        # Redshift's error 1023 comes as XX000 (otherwise terminal); the endpoint cannot produce
        # a real one, so it is raised here with Redshift's message
        conflict = _raised(lambda: c.execute(
            "DO $$ BEGIN RAISE EXCEPTION USING MESSAGE = 'ERROR: 1023 DETAIL: Serializable isolation violation on "
            "table - 100, transactions forming the cycle are: 1, 2', ERRCODE = 'XX000'; END $$"))
        assert isinstance(conflict, DestinationTransientError) and conflict.sqlstate == "XX000"
        internal = _raised(lambda: c.execute(
            "DO $$ BEGIN RAISE EXCEPTION USING MESSAGE = 'Assert', ERRCODE = 'XX000'; END $$"))
        assert isinstance(internal, DestinationTerminalError) and internal.sqlstate == "XX000"
        assert c.execute("SELECT 1") == [(1,)]  # still usable


def test_deadlock_and_lost_connection_are_transient(redshift_db: Any) -> None:
    from shipload.local.endpoint import LocalEndpoint

    p = shipload.pipeline("deadlock", destination="redshift", dataset_name="d")
    p.run([{"id": 1}], table_name="a")
    p.run([{"id": 1}], table_name="b")
    errors: list[Exception] = []
    with p.sql_client() as one, p.sql_client() as two:
        for c, first in ((one, "a"), (two, "b")):
            c.execute("BEGIN")
            c.execute(f'LOCK "d"."{first}"')

        def lock(c: Any, table: str) -> None:
            try:
                c.execute(f'LOCK "d"."{table}"')
            except Exception as exc:
                errors.append(exc)
            finally:
                c.execute("ROLLBACK")

        waiter = threading.Thread(target=lock, args=(one, "b"))
        waiter.start()
        time.sleep(0.3)
        lock(two, "a")
        waiter.join()
    assert len(errors) == 1 and isinstance(errors[0], DestinationTransientError), errors
    assert errors[0].sqlstate == "40P01"

    with p.sql_client() as c:
        LocalEndpoint(redshift_db.folder).restart_proxy()
        lost = _raised(lambda: c.execute("SELECT 1"))
        assert isinstance(lost, DestinationTransientError), lost
        c.close()
        c.open()
        assert c.execute("SELECT 1") == [(1,)]


def test_wrong_password_is_terminal(redshift_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from shipload.exceptions import DestinationTerminalError

    monkeypatch.setenv("DESTINATION__REDSHIFT__CREDENTIALS__PASSWORD", "not-the-password")
    client = shipload.pipeline("pw", destination="redshift", dataset_name="d").sql_client()
    err = _raised(client.open)
    assert isinstance(err, DestinationTerminalError) and "password authentication failed" in str(err)


def test_lock_tables_locks_the_target_inside_each_load_transaction(redshift_db: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__REDSHIFT__LOCK_TABLES", "true")
    p = shipload.pipeline("lock", destination="redshift", dataset_name="d")
    p.run([{"id": 1}], table_name="t")
    with open(redshift_db.statement_log, encoding="utf-8") as fh:
        entries = [json.loads(line) for line in fh if f'"db":"{_current_db()}"' in line]
    insert = next(e for e in entries if e["sql"].startswith('INSERT INTO "d"."t"'))
    same_conn = [e["sql"] for e in entries if e["conn"] == insert["conn"]]
    at = same_conn.index(insert["sql"])
    begin = max(i for i, sql in enumerate(same_conn[:at]) if sql.upper().startswith("BEGIN"))
    assert 'LOCK "d"."t"' in same_conn[begin + 1:at]  # the lock is taken in the transaction that inserts
    assert table_rows(p, "t", "id") == [(1,)]


def test_case_sensitive_setting_is_refused_and_identifiers_are_lower_case(redshift_db: Any,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13 item 10: `case_sensitive` never kept case; it is removed, and `true` says so
    before anything is sent, instead of loading under other names silently."""
    p = shipload.pipeline("cased", destination="redshift", dataset_name="d")
    p.run([{"userId": 1, "Meta": {"Tags": ["a"]}}], table_name="UserEvents")
    assert table_rows(p, "user_events", "user_id") == [(1,)]
    assert p.dataset().rows("UserEvents", columns=["userId"]) == [{"user_id": 1}]  # names as the data has them
    assert "SET enable_case_sensitive_identifier TO true" not in statements(redshift_db)
    monkeypatch.setenv("DESTINATION__REDSHIFT__CASE_SENSITIVE", "true")
    before = len(statements(redshift_db))
    with pytest.raises(shipload.exceptions.ConfigError, match="case_sensitive was removed.*lower-case"):
        p.run([{"userId": 2}], table_name="UserEvents")
    assert statements(redshift_db)[before:] == []
    monkeypatch.setenv("DESTINATION__REDSHIFT__CASE_SENSITIVE", "false")
    p.drop_pending_packages()
    p.run([{"userId": 2}], table_name="UserEvents")
    assert table_rows(p, "user_events", "user_id", order_by="user_id") == [(1,), (2,)]


def test_views_survive_replace_and_block_widening_with_a_clear_error(redshift_db: Any) -> None:
    hints = {"write_disposition": {"disposition": "replace", "strategy": "insert-from-staging"}}
    p = shipload.pipeline("views", destination="redshift", dataset_name="d")
    p.run([{"id": 1, "name": "a"}], table_name="t", **hints)
    with p.sql_client() as c:
        c.execute('CREATE VIEW "d"."bound" AS SELECT id, name FROM "d"."t"')
        c.execute('CREATE VIEW "d"."late" AS SELECT id, name FROM "d"."t" WITH NO SCHEMA BINDING')
    p.run([{"id": 2, "name": "b"}], table_name="t", **hints)
    assert p.dataset().query('SELECT id FROM "d"."bound"') == [(2,)]  # replace kept the views
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run([{"id": 3, "name": "c" * 1000}], table_name="t", **hints)
    assert "d.bound" in str(err.value) and "WITH NO SCHEMA BINDING" in str(err.value)
    assert p.dataset().query('SELECT id FROM "d"."bound"') == [(2,)]  # nothing changed


@pytest.mark.parametrize("strategy", ["staging-optimized"])
def test_staging_optimized_replace_uses_alter_table_append(redshift_db: Any, strategy: str) -> None:
    hints = {"write_disposition": {"disposition": "replace", "strategy": strategy}}
    p = shipload.pipeline("append", destination="redshift", dataset_name="d")
    p.run([{"id": i, "kids": [1, 2]} for i in range(5)], table_name="t", **hints)
    p.run([{"id": i, "kids": [3]} for i in range(2)], table_name="t", **hints)
    assert table_rows(p, "t", "id", order_by="id") == [(0,), (1,)]
    assert table_rows(p, "t__kids", "value") == [(3,), (3,)]
    assert 'ALTER TABLE "d"."t" APPEND FROM "d_staging"."t"' in statements(redshift_db)


def test_connection_drop_mid_load_ends_with_every_row_once(redshift_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from shipload.local.endpoint import LocalEndpoint

    monkeypatch.setattr(RedshiftDialect, "max_statement_bytes", 256 * 1024)
    endpoint = LocalEndpoint(redshift_db.folder)
    db = _current_db()
    killed = threading.Event()

    def kill_on_first_insert() -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            if any(s.startswith('INSERT INTO "d"."t"') for s in statements(redshift_db, db)):
                endpoint.restart_proxy(pause=0.5)
                killed.set()
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=kill_on_first_insert)
    watcher.start()
    p = shipload.pipeline("drop", destination="redshift", dataset_name="d")
    rows = [{"id": i, "body": "x" * 200} for i in range(20_000)]
    try:
        p.run(rows, table_name="t")
    except shipload.PipelineStepFailed:
        p.run()  # the rerun finishes the pending package
    watcher.join()
    assert killed.is_set()
    assert table_rows(p, "t", "count(*), count(DISTINCT id)") == [(20_000, 20_000)]


def test_invalid_table_design_is_refused_before_ddl_on_a_fresh_dataset(redshift_db: Any) -> None:
    conn = psycopg2.connect(host=redshift_db.redshift_host, port=redshift_db.redshift_port, user=redshift_db.username,
                            password=redshift_db.password, dbname=_current_db())
    conn.close()
    p = shipload.pipeline("twokeys", destination="redshift", dataset_name="d")
    with pytest.raises(shipload.PipelineStepFailed, match="one DISTKEY"):
        p.run([{"a": 1, "b": 2}], table_name="t", columns={"a": {"cluster": True}, "b": {"cluster": True}})
    assert not any(s.startswith('CREATE TABLE "d"."t"') for s in statements(redshift_db))


def test_arrow_text_columns_are_sized_too(redshift_db: Any) -> None:
    import pyarrow as pa

    p = shipload.pipeline("arrow", destination="redshift", dataset_name="d")
    p.run(pa.table({"id": [1, 2], "name": ["a", "é" * 300]}), table_name="t")
    assert _columns(p, "t")["name"] == ("character varying", 1024)  # 600 bytes * 1.25 -> 1024
    assert table_rows(p, "t", "id, length(name)", order_by="id") == [(1, 1), (2, 300)]
