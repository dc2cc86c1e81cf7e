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
    p = shipload.pipeline("fields", destination="postgres")
    p.run([{"id": 1}], table_name="t")
    with p.sql_client() as c:
        assert c.execute("SHOW application_name") is not None
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


def test_has_dataset_does_not_need_schema_ownership(postgres_db: str) -> None:
    p = shipload.pipeline("public", destination="postgres", dataset_name="public")
    p.run([{"id": 1}], table_name="t")
    assert table_rows(p, "t", "id") == [(1,)]
