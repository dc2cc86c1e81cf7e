"""PostgreSQL destination (psycopg2): csv through COPY FROM STDIN by default, insert_values and sql."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from shipload.config.specs import ConnectionStringCredentials
from shipload.destinations.base import Capabilities
from shipload.destinations.postgres.dialect import PostgresDialect
from shipload.destinations.postgres.transport import Psycopg2Transport
from shipload.destinations.sql.client import SqlJobClient
from shipload.exceptions import TerminalError
from shipload.schema.schema import Table

CAPABILITIES = Capabilities(
    preferred_loader_file_format="csv",
    supported_loader_file_formats=("csv", "insert_values", "sql"),
    max_identifier_length=PostgresDialect.max_identifier_length,
    sql_dialect=PostgresDialect,
)


@dataclasses.dataclass(repr=False)
class PostgresCredentials(ConnectionStringCredentials):
    """`postgresql://user:password@host:5432/database?sslmode=require` or the separate fields."""


class PostgresClient(SqlJobClient):
    def __init__(self, credentials: PostgresCredentials, dataset_name: str) -> None:
        transport = Psycopg2Transport(credentials.connect_kwargs(), credentials.secret_values(), "postgres")
        super().__init__(transport, PostgresDialect, dataset_name, CAPABILITIES)

    def load_native_file(self, table: Table, target: str, path: Path, file_format: str) -> None:
        if file_format != "csv":
            raise TerminalError(f"postgres cannot load {file_format!r} files")
        with open(path, encoding="utf-8", newline="") as fh:
            names = next(csv.reader([fh.readline()]))
        cols = ", ".join(self.dialect.quote_identifier(n) for n in names)
        sql = f"COPY {target} ({cols}) FROM STDIN WITH (FORMAT csv, HEADER true)"
        self.statements.append(sql)
        self.run_driver(lambda: self.transport.copy_from_file(sql, path))  # type: ignore[attr-defined]

