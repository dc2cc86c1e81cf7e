from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in its own project folder with its own pipelines folder and a clean env."""
    for key in list(os.environ):
        if key.startswith(("DESTINATION__", "SHIPLOAD_", "CREDENTIALS__")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHIPLOAD_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.setenv("SHIPLOAD_PROJECT_DIR", str(tmp_path))
    return tmp_path


def duck_rows(pipeline: Any, sql: str) -> list[tuple[Any, ...]]:
    """Run a query on the pipeline's DuckDB file (read-only connection)."""
    import duckdb

    con = duckdb.connect(pipeline.destination.resolve_credentials(pipeline.pipeline_name).database, read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def duck_columns(pipeline: Any, table: str) -> dict[str, str]:
    rows = duck_rows(
        pipeline,
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{pipeline.dataset_name}' AND table_name = '{table}' ORDER BY ordinal_position",
    )
    return dict(rows)


# -- destinations for the conformance suite ------------------------------------------------------

#: the opt-in tier: the same tests against a real Redshift cluster, when these are set:
#: SHIPLOAD_TEST_REDSHIFT_HOST, _PORT (5439), _DATABASE, _USERNAME, _PASSWORD. That database is
#: wiped (every schema the user owns, except public) before each test: use a scratch database.
REDSHIFT_CLUSTER = {k.removeprefix("SHIPLOAD_TEST_REDSHIFT_").lower(): v for k, v in os.environ.items()
                    if k.startswith("SHIPLOAD_TEST_REDSHIFT_")}
DESTINATIONS = ("duckdb", "postgres", "redshift") + (("redshift-cluster",) if REDSHIFT_CLUSTER.get("host") else ())
PG_PASSWORD = "pg-Secret-0x51"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "notimpl(destinations, reason): not implemented yet for these destinations")
    config.addinivalue_line("markers", "never(destinations, reason): these destinations cannot support this")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("destination") if callspec else None
        if name is None:
            continue
        name = name.split("-", 1)[0]  # redshift-cluster is redshift
        for mark in item.iter_markers("notimpl"):
            if name in mark.args[0]:
                item.add_marker(pytest.mark.xfail(reason=mark.kwargs.get("reason", "not implemented"), strict=True))
        for mark in item.iter_markers("never"):
            if name in mark.args[0]:
                item.add_marker(pytest.mark.skip(reason=mark.kwargs.get("reason", "not supported")))


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real PostgreSQL server for the whole test session (password auth, random port)."""
    from shipload.local.postgres import PostgresServer

    server = PostgresServer(tmp_path_factory.mktemp("pg"), PG_PASSWORD)
    server.start()
    yield server
    server.stop(remove=True)


_db_counter = iter(range(1, 1_000_000))


@pytest.fixture
def postgres_db(postgres_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database on the session server; the postgres destination is configured for it."""
    import psycopg2

    name = f"t{next(_db_counter)}"
    conn = psycopg2.connect(postgres_server.url())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    url = postgres_server.url(name)
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", url)
    return url


@pytest.fixture
def redshift_db(local_redshift: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh database on the session's local Redshift endpoint, configured for the redshift
    destination. Afterwards every statement sent to it must parse with sqlglot's redshift dialect."""
    import json
    import re

    import psycopg2
    import sqlglot

    name = f"rs{next(_db_counter)}"
    conn = psycopg2.connect(host=local_redshift.redshift_host, port=local_redshift.redshift_port,
                            user=local_redshift.username, password=local_redshift.password,
                            dbname=local_redshift.database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    for key, value in local_redshift.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DESTINATION__REDSHIFT__CREDENTIALS__DATABASE", name)
    yield local_redshift
    with open(local_redshift.statement_log, encoding="utf-8") as fh:
        sent = [json.loads(line)["sql"] for line in fh if f'"db":"{name}"' in line]
    unparsable = []
    for sql in sent:
        try:
            # clients' positional parameters ($1, $2: dbt seeds via redshift_connector) read as
            # sqlglot's dollar quotes ("$1,$"): parse them as placeholders
            sqlglot.parse(re.sub(r"\$\d+\b", "?", sql), read="redshift")
        except Exception as exc:  # report them all at once
            unparsable.append(f"{exc}\n  {sql[:300]}")
    assert not unparsable, "statements sqlglot's redshift dialect cannot parse:\n" + "\n".join(unparsable)


@pytest.fixture(params=DESTINATIONS)
def destination(request: pytest.FixtureRequest) -> str:
    """Each conformance test runs once per destination."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_db")
    if request.param == "redshift":
        request.getfixturevalue("redshift_db")
    if request.param == "redshift-cluster":
        request.getfixturevalue("redshift_cluster")
    return str(request.param).split("-", 1)[0]


@pytest.fixture
def redshift_cluster(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The real cluster of the opt-in tier, wiped of the test user's schemas first."""
    import psycopg2

    c = REDSHIFT_CLUSTER
    conn = psycopg2.connect(host=c["host"], port=int(c.get("port", 5439)), dbname=c["database"], user=c["username"],
                            password=c["password"], sslmode=c.get("sslmode", "require"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT nspname FROM pg_namespace WHERE nspowner = (SELECT usesysid FROM pg_user "
                    "WHERE usename = current_user) AND nspname <> 'public'")
        for (schema,) in cur.fetchall():
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
    conn.close()
    for key in ("host", "port", "database", "username", "password", "sslmode"):
        if key in c:
            monkeypatch.setenv(f"DESTINATION__REDSHIFT__CREDENTIALS__{key.upper()}", c[key])
    return c


def table_rows(pipeline: Any, table: str, columns: str = "*", order_by: str | None = None, where: str | None = None) -> list[tuple[Any, ...]]:
    """Rows of a loaded table through the pipeline's own client (works on every SQL destination)."""
    with pipeline.sql_client() as client:
        sql = f"SELECT {columns} FROM {client.table(table)}"
        if where:
            sql += f" WHERE {where}"
        if order_by:
            sql += f" ORDER BY {order_by}"
        return client.query(sql)[1]
