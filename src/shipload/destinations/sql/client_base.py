"""The plumbing every SQL job client part stands on: transport, dialect, statement running with
error translation, and name/literal rendering."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from shipload.destinations.base import Capabilities, JobClient
from shipload.destinations.sql.dialect import SqlDialect
from shipload.destinations.sql.system_tables import SYSTEM_TABLES
from shipload.destinations.sql.transport import SqlTransport
from shipload.schema.naming import SnakeCaseNaming

STATE_ENGINE_VERSION = 1


class RecentStatements:
    """The most recent statements (long ones cut to their first 64 KB) and their sizes in bytes."""

    KEEP = 2000
    CUT = 64 * 1024

    def __init__(self) -> None:
        self.texts: collections.deque[str] = collections.deque(maxlen=self.KEEP)
        self.sizes: collections.deque[int] = collections.deque(maxlen=self.KEEP)

    def append(self, sql: str) -> None:
        self.texts.append(sql if len(sql) <= self.CUT else sql[: self.CUT] + " /* cut */")
        self.sizes.append(len(sql) if sql.isascii() else len(sql.encode("utf-8")))  # no 16 MB copy when ASCII

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def __len__(self) -> int:
        return len(self.texts)

    def clear(self) -> None:
        self.texts.clear()
        self.sizes.clear()


class SqlClientBase(JobClient):
    dialect: type[SqlDialect]

    def __init__(
        self, transport: SqlTransport, dialect: type[SqlDialect], dataset_name: str, capabilities: Capabilities,
    ) -> None:
        self.transport = transport
        self.dialect = dialect
        self.dataset_name = dataset_name
        self.capabilities = capabilities
        #: names used as typed (dataset names) get their case and length checked here
        self.naming = SnakeCaseNaming(dialect.max_identifier_length)
        self.statements = RecentStatements()  # recent statements this client ran, for traces and tests

    def open(self) -> None:
        self.transport.call(self.transport.connect)

    def close(self) -> None:
        self.transport.close()

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        self.statements.append(sql)
        return self.run_driver(lambda: self.transport.execute(sql))

    def execute_sql(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement of your own; returns the rows it produced."""
        return self.execute(sql)

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a query."""
        self.statements.append(sql)
        return self.run_driver(lambda: self.transport.query(sql))

    def run_driver(self, action: Callable[[], Any]) -> Any:
        """Run a driver call that is not a plain statement, with the same error translation."""
        return self.transport.call(action)

    #: database (catalog) prefix for every qualified name, where a dataset name could be ambiguous
    catalog: str | None = None

    def schema_name(self, dataset: str) -> str:
        quoted = self.dialect.quote_identifier(self.naming.verbatim_identifier(dataset))
        return f"{self.dialect.quote_identifier(self.catalog)}.{quoted}" if self.catalog else quoted

    def table(self, name: str) -> str:
        return f"{self.schema_name(self.dataset_name)}.{self.dialect.quote_identifier(name)}"

    def lit(self, value: Any) -> str:
        return self.dialect.literal(value)

    def _fold(self, name: str) -> str:
        return name.lower() if self.dialect.casefold_identifiers else name

    def _names(self, system_table: str) -> str:
        return ", ".join(self.dialect.quote_identifier(c.name) for c in SYSTEM_TABLES[system_table])

    def _values(self, values: list[Any]) -> str:
        return ", ".join(self.lit(v) for v in values)

    @staticmethod
    def _now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)
