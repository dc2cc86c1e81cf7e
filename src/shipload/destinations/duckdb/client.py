"""DuckDB: an embedded database file; parquet load files are read by DuckDB itself."""

from __future__ import annotations

import dataclasses
import re
import threading
from pathlib import Path
from typing import Any

from shipload.config.specs import BaseSpec
from shipload.destinations.base import Capabilities
from shipload.destinations.duckdb.dialect import DuckDbDialect
from shipload.destinations.sql.client import SqlJobClient
from shipload.destinations.sql.transport import SqlTransport
from shipload.exceptions import ConfigError, DestinationTerminalError, DestinationTransientError, TerminalError
from shipload.schema.schema import Table

CAPABILITIES = Capabilities(
    preferred_loader_file_format="parquet",
    supported_loader_file_formats=("parquet", "insert_values", "sql"),
    max_identifier_length=DuckDbDialect.max_identifier_length,
    sql_dialect=DuckDbDialect,
)


@dataclasses.dataclass(repr=False)
class DuckDbCredentials(BaseSpec):
    """`database`: path of the DuckDB file (default ``<pipeline_name>.duckdb`` in the working dir)."""

    database: str | None = None

    @classmethod
    def parse_native(cls, value: str) -> dict[str, Any]:
        return {"database": value.removeprefix("duckdb:///")}


#: DuckDB's memory limit for a database file when `[destination.duckdb] memory_limit` is unset: loading
#: a parquet file streams its row groups, so this bounds the load whatever the file or data size
DEFAULT_MEMORY_LIMIT = "128MB"
_MEMORY_LIMIT = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


@dataclasses.dataclass(repr=False)
class DuckDbSettings(BaseSpec):
    """`[destination.duckdb]`; all optional. See docs/destinations/duckdb.md ("Memory")."""

    #: DuckDB's `memory_limit` for the load connection (e.g. "256MB", "1GB"). Unset: 128MB for a
    #: database file (DuckDB spills to `<database>.tmp` past it), DuckDB's own default for `:memory:`
    #: (where the data itself counts against the limit)
    memory_limit: str | None = None
    #: DuckDB's `threads` for the load connection (unset: DuckDB's default, one per core)
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.memory_limit is not None and not _MEMORY_LIMIT.match(str(self.memory_limit)):
            raise ConfigError(
                f"destination.duckdb.memory_limit must be a size like '256MB' or '1GB', got {self.memory_limit!r}"
            )
        if self.threads is not None and int(self.threads) < 1:
            raise ConfigError(f"destination.duckdb.threads must be a positive number, got {self.threads!r}")

    def session_settings(self, database: str) -> dict[str, str]:
        """The `SET` statements' values for a connection to `database`."""
        out: dict[str, str] = {}
        limit = self.memory_limit or (None if database == ":memory:" else DEFAULT_MEMORY_LIMIT)
        if limit is not None:
            out["memory_limit"] = str(limit).strip()
        if self.threads is not None:
            out["threads"] = str(int(self.threads))
        return out


_file_locks: dict[str, threading.Lock] = {}


class DuckDbTransport(SqlTransport):
    def __init__(self, database: str, settings: DuckDbSettings | None = None) -> None:
        self.database = database
        self.settings = settings or DuckDbSettings()
        self.conn: Any = None

    def connect(self) -> None:
        import duckdb

        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        self.conn = duckdb.connect(self.database)
        self.conn.execute("SET TimeZone = 'UTC'")
        # large INSERT ... SELECT from parquet: without this DuckDB holds whole files in memory
        self.conn.execute("SET preserve_insertion_order = false")
        for name, value in self.settings.session_settings(self.database).items():
            self.conn.execute(f"SET {name} = '{value}'")  # both values checked by DuckDbSettings

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(sql)
        try:
            return cur.fetchall()
        except Exception:
            return []

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.conn.execute(sql)
        if cur.description is None:
            return [], []
        return [d[0] for d in cur.description], cur.fetchall()

    def begin(self) -> None:
        self.conn.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def translate_error(self, exc: BaseException) -> BaseException:
        import duckdb

        if isinstance(exc, duckdb.OutOfMemoryException):
            limit = self.settings.session_settings(self.database).get("memory_limit", "DuckDB's default")
            return DestinationTerminalError(
                f"duckdb: {exc} (memory_limit {limit}: raise [destination.duckdb] memory_limit, "
                f"or lower [normalize] file_max_bytes)"
            )
        if isinstance(exc, duckdb.TransactionException):
            return DestinationTransientError(f"duckdb: {exc}")
        if isinstance(exc, duckdb.IOException):
            return DestinationTransientError(f"duckdb: {exc}")
        if isinstance(exc, duckdb.Error):
            return DestinationTerminalError(f"duckdb: {exc}")
        return exc


class DuckDbClient(SqlJobClient):
    def __init__(
        self, credentials: DuckDbCredentials, dataset_name: str, settings: DuckDbSettings | None = None
    ) -> None:
        transport = DuckDbTransport(credentials.database or "shipload.duckdb", settings)
        super().__init__(transport, DuckDbDialect, dataset_name, CAPABILITIES)

    def open(self) -> None:
        super().open()
        # a dataset named like the database file would make "dataset"."table" ambiguous
        self.catalog = self.execute("SELECT current_database()")[0][0]

    def load_native_file(self, table: Table, target: str, path: Path, file_format: str) -> None:
        if file_format != "parquet":
            raise TerminalError(f"duckdb cannot load {file_format!r} files")
        import pyarrow.parquet as pq

        names = pq.read_schema(str(path)).names
        cols = ", ".join(self.dialect.quote_identifier(n) for n in names)
        self.execute(
            f"INSERT INTO {target} ({cols}) SELECT {cols} FROM read_parquet({self.lit(str(path))})"
        )
