"""psycopg2 transport, shared by Postgres and Redshift (both speak the Postgres wire protocol).

The connection runs in autocommit mode; `transaction()` opens explicit BEGIN/COMMIT blocks so
that what runs inside a transaction is decided by the client, not by the driver."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from shipload.destinations.postgres.errors import POSTGRES_ERRORS, ErrorClasses, translate
from shipload.destinations.sql.transport import SqlTransport


class Psycopg2Transport(SqlTransport):
    #: which errors are transient (see destinations/postgres/errors.py)
    error_classes: ErrorClasses = POSTGRES_ERRORS

    def __init__(self, connect_kwargs: dict[str, Any], secrets: Sequence[str] = (), label: str = "postgres") -> None:
        self._kwargs = connect_kwargs
        self._secrets = [s for s in secrets if s]
        self.label = label
        self.conn: Any = None

    def __repr__(self) -> str:
        return f"Psycopg2Transport({self.label}, host={self._kwargs.get('host')!r}, db={self._kwargs.get('dbname')!r})"

    def connect(self) -> None:
        import psycopg2

        try:
            self.conn = psycopg2.connect(**self._kwargs)
        except psycopg2.Error as exc:
            raise self.translate_error(exc) from None
        self.conn.autocommit = True

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description is not None else []

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a query."""
        with self.conn.cursor() as cur:
            cur.execute(sql)
            if cur.description is None:
                return [], []
            return [d[0] for d in cur.description], cur.fetchall()

    def copy_from_file(self, sql: str, path: Path) -> None:
        """Run ``COPY ... FROM STDIN`` with the file's bytes as input."""
        with self.conn.cursor() as cur, open(path, "rb") as fh:
            cur.copy_expert(sql, fh, size=1024 * 1024)

    def begin(self) -> None:
        self.execute("BEGIN")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn is not None and not self.conn.closed:
            self.execute("ROLLBACK")

    @contextlib.contextmanager
    def redacting(self, secrets: Sequence[str]) -> Iterator[None]:
        """Also mask `secrets` in errors while the block runs (e.g. keys inside a COPY statement)."""
        added = [s for s in secrets if s and s not in self._secrets]
        self._secrets.extend(added)
        try:
            yield
        finally:
            for s in added:
                self._secrets.remove(s)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def translate_error(self, exc: BaseException) -> BaseException:
        return translate(exc, self.error_classes, self.label, self._redact)
