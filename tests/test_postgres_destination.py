"""Postgres-specific behaviour against the real server: credentials, errors, secrets, COPY."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest

import shipload
from conftest import PG_PASSWORD, table_rows


def _fields(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {"host": parts.hostname, "port": str(parts.port), "database": parts.path.lstrip("/"),
            "username": parts.username, "password": PG_PASSWORD}


def test_separate_fields_and_libpq_parameters_from_env(postgres_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS")
    for key, value in _fields(postgres_db).items():
        monkeypatch.setenv(f"DESTINATION__POSTGRES__CREDENTIALS__{key.upper()}", value)
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS__SSLMODE", "disable")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS__CONNECT_TIMEOUT", "7")
    p = shipload.pipeline("fields", destination="postgres")
    p.run([{"id": 1}], table_name="t")
    kwargs = p.destination.resolve_credentials("fields").connect_kwargs()
    assert (kwargs["sslmode"], kwargs["connect_timeout"]) == ("disable", 7)
    fields = _fields(postgres_db)
    with p.sql_client() as c:  # the session runs as the user, in the database, the fields name
        assert c.execute("SELECT current_user, current_database()") == [(fields["username"], fields["database"])]
        assert c.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == [(False,)]
    assert table_rows(p, "t", "id") == [(1,)]


def test_connection_string_with_query_parameters(postgres_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_db + "?sslmode=disable&application_name=shipload_t")
    p = shipload.pipeline("url", destination="postgres")
    with p.sql_client() as c:
        assert c.execute("SHOW application_name") == [("shipload_t",)]


def test_wrong_password_error_names_the_problem_and_hides_the_secret(
    postgres_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bad = "Wr0ng-pa55-Secret"
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_db.replace(PG_PASSWORD, bad))
    p = shipload.pipeline("badpw", destination="postgres")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run([{"id": 1}], table_name="t")
    text = str(err.value) + repr(err.value) + caplog.text + repr(p.destination)
    assert "password authentication failed" in text
    assert bad not in text and PG_PASSWORD not in text


def test_terminal_database_error_reports_table_and_file(postgres_db: str) -> None:
    p = shipload.pipeline("terminal", destination="postgres")
    p.run([{"id": 1, "v": 1}], table_name="t")
    with p.sql_client() as c:
        c.execute(f"ALTER TABLE {c.table('t')} ADD CONSTRAINT v_small CHECK (v < 100)")
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run([{"id": 2, "v": 1000}], table_name="t")
    message = str(err.value)
    assert "'t'" in message and ".csv" in message and "v_small" in message and "23514" in message
    assert table_rows(p, "t", "id") == [(1,)]


def test_has_dataset_does_not_need_schema_ownership(postgres_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain role that may create tables in `public` (owned by someone else) but may not create
    schemas: the dataset `public` is found, not created again."""
    import psycopg2

    parts = urlsplit(postgres_db)
    conn = psycopg2.connect(postgres_db)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS plain_loader")
        cur.execute("CREATE ROLE plain_loader LOGIN PASSWORD 'plain-Pw-42' NOSUPERUSER NOCREATEDB")
        cur.execute(f"REVOKE CREATE ON DATABASE {parts.path.lstrip('/')} FROM PUBLIC")
        cur.execute("GRANT USAGE, CREATE ON SCHEMA public TO plain_loader")
        cur.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public'")
        assert cur.fetchone()[0] != "plain_loader"
    conn.close()
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS",
                       f"postgresql://plain_loader:plain-Pw-42@{parts.hostname}:{parts.port}{parts.path}")
    p = shipload.pipeline("public", destination="postgres", dataset_name="public")
    p.run([{"id": 1}], table_name="t")
    assert table_rows(p, "t", "id") == [(1,)]
    with p.sql_client() as c:
        assert c.execute("SELECT current_user") == [("plain_loader",)]
