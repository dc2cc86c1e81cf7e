"""The generic SQL job client: migrations, system tables, job bookkeeping, write dispositions.

Destinations subclass it and provide a transport, a dialect and `load_file` for their formats."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import orjson

from shipload.destinations.base import Capabilities, JobClient
from shipload.destinations.sql.dialect import SqlDialect
from shipload.destinations.sql.followup import FollowupSql, uses_staging
from shipload.destinations.sql.stored_text import PART_MARK, from_parts, to_parts
from shipload.destinations.sql.system_tables import SYSTEM_TABLES
from shipload.destinations.sql.transport import SqlTransport
from shipload.exceptions import LoadJobFailed, SchemaError, TerminalError
from shipload.packages.storage import JobFileName
from shipload.schema.naming import SnakeCaseNaming
from shipload.schema.schema import (
    LOAD_JOBS_TABLE,
    LOADS_TABLE,
    STATE_TABLE,
    VERSION_TABLE,
    Column,
    Schema,
    Table,
)
from shipload.schema.skipped import loaded_tables
from shipload.utils.faults import crash_point
from shipload.utils.typed import from_tagged, to_tagged
from shipload.writers.insert_values import statement_prefix
from shipload.writers.sql_frames import read_frames

STATE_ENGINE_VERSION = 1


class StatementLog:
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


class SqlJobClient(JobClient):
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
        self.statements = StatementLog()  # recent statements this client ran, for traces and tests

    # -- plumbing -----------------------------------------------------------------------------
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

    #: database (catalog) prefix for every qualified name, where a dataset name could be ambiguous
    catalog: str | None = None

    def schema_name(self, dataset: str) -> str:
        quoted = self.dialect.quote_identifier(self.naming.verbatim_identifier(dataset))
        return f"{self.dialect.quote_identifier(self.catalog)}.{quoted}" if self.catalog else quoted

    def table(self, name: str) -> str:
        return f"{self.schema_name(self.dataset_name)}.{self.dialect.quote_identifier(name)}"

    def lit(self, value: Any) -> str:
        return self.dialect.literal(value)

    # -- storage ------------------------------------------------------------------------------
    def has_dataset(self, name: str | None = None) -> bool:
        folded = self._fold(name or self.dataset_name)
        return bool(self.execute(self.dialect.dataset_exists_sql.format(name=self.lit(folded))))

    @property
    def staging_dataset_name(self) -> str:
        return f"{self.dataset_name}_staging"

    def staging_table(self, name: str) -> str:
        return f"{self.schema_name(self.staging_dataset_name)}.{self.dialect.quote_identifier(name)}"

    def _fold(self, name: str) -> str:
        return name.lower() if self.dialect.casefold_identifiers else name

    def create_dataset(self, name: str | None = None) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema_name(name or self.dataset_name)}")

    def initialize_storage(self) -> None:
        if not self.has_dataset():
            self.create_dataset()
        existing = self.reflect(list(SYSTEM_TABLES))
        for name, columns in SYSTEM_TABLES.items():
            if name not in existing:
                self.execute(self.create_table_sql(Table(name=name, columns={c.name: c for c in columns})))

    def column_rows(self, tables: list[str], fields: str, condition: str = "") -> list[tuple[Any, ...]]:
        """(table, column, *fields) rows from information_schema.columns for `tables` of the dataset."""
        if not tables:
            return []
        names = ", ".join(self.lit(self._fold(t)) for t in tables)
        return self.execute(
            f"SELECT table_name, column_name, {fields} FROM information_schema.columns WHERE table_schema = "
            f"{self.lit(self._fold(self.dataset_name))} AND table_name IN ({names}){condition} "
            "ORDER BY table_name, ordinal_position"
        )

    def reflect(self, tables: list[str]) -> dict[str, dict[str, str]]:
        """Existing columns per table: {table: {column: data type}}; missing tables are absent."""
        rows = self.column_rows(tables, "data_type")
        out: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows:
            out.setdefault(table, {})[column] = self.dialect.data_type_of(data_type)
        return out

    def create_table_sql(self, table: Table, target: str | None = None) -> str:
        cols = ",\n  ".join(self.column_sql(table, c) for c in table.complete_columns())
        return f"CREATE TABLE {target or self.table(table.name)} (\n  {cols}\n){self.table_options_sql(table)}"

    def column_sql(self, table: Table, col: Column) -> str:
        return self.dialect.column_definition(col, self.column_attributes(table, col))

    def column_attributes(self, table: Table, col: Column) -> str:
        """Destination extras of a column definition (Redshift: ENCODE)."""
        return ""

    def table_options_sql(self, table: Table) -> str:
        return ""

    def add_columns_sql(self, table: Table, columns: list[Column]) -> list[str]:
        target = self.table(table.name)
        if self.dialect.alter_add_multi_column:
            adds = ",\n  ".join(f"ADD COLUMN {self.column_sql(table, c)}" for c in columns)
            return [f"ALTER TABLE {target}\n  {adds}"]
        return [f"ALTER TABLE {target} ADD COLUMN {self.column_sql(table, c)}" for c in columns]

    def check_folding(self, tables: list[Table]) -> None:
        """Names that become equal once the destination folds them, and tables wider than the
        destination allows, are refused before any DDL."""
        seen_tables: dict[str, str] = {}
        limit = self.dialect.max_table_columns
        for table in tables:
            if limit is not None and len(table.complete_columns()) > limit:
                raise SchemaError(f"table {table.name!r} has {len(table.complete_columns())} columns; {self.dialect.name} "
                                  f"allows at most {limit}: nest the data (a json column hint) or split the table")
            other = seen_tables.setdefault(self._fold(table.name), table.name)
            if other != table.name:
                raise SchemaError(f"tables {other!r} and {table.name!r} are the same table on {self.dialect.name}")
            seen: dict[str, str] = {}
            for col in table.complete_columns():
                prev = seen.setdefault(self._fold(col.name), col.name)
                if prev != col.name:
                    raise SchemaError(f"table {table.name!r}: columns {prev!r} and {col.name!r} are the same column "
                                      f"on {self.dialect.name}, which folds identifiers to lower case")

    def migration_sql(self, schema: Schema, tables: list[Table]) -> list[str]:
        self.check_folding(tables)
        existing = self.reflect([t.name for t in tables])
        statements: list[str] = []
        for table in tables:
            complete = table.complete_columns()
            if not complete:
                continue
            have = existing.get(self._fold(table.name))
            if have is None:
                statements.append(self.create_table_sql(table))
                continue
            # a column added to a table that already has rows must be nullable
            new = [dataclasses.replace(c, nullable=True) for c in complete if self._fold(c.name) not in have]
            if new:
                statements.extend(self.add_columns_sql(table, new))
        return statements

    def stored_schema_hashes(self, schema_name: str) -> set[str]:
        rows = self.execute(
            f"SELECT version_hash FROM {self.table(VERSION_TABLE)} WHERE schema_name = {self.lit(schema_name)}"
        )
        return {r[0] for r in rows}

    def update_stored_schema(self, schema: Schema, load_id: str) -> list[str]:
        if schema.version_hash in self.stored_schema_hashes(schema.name):
            return []
        tables = loaded_tables(schema)
        first = self.prepare_migration(schema, tables)
        statements = self.migration_sql(schema, tables)
        self._run_ddl(statements + self._version_insert_sql(schema))
        return first + statements

    def prepare_migration(self, schema: Schema, tables: list[Table]) -> list[str]:
        """Checks and statements that must come before the migration transaction (Redshift:
        design checks, VARCHAR widening, which cannot run in a transaction); returns what it ran."""
        return []

    def _run_ddl(self, statements: list[str]) -> None:
        if self.dialect.supports_ddl_transactions:
            with self.transport.transaction():
                for sql in statements:
                    self.execute(sql)
        else:
            for sql in statements:
                self.execute(sql)

    def _version_insert_sql(self, schema: Schema) -> list[str]:
        """The schema's `_sl_version` rows: compressed when large, in parts over the column limit."""
        now = self._now()
        return [
            f"INSERT INTO {self.table(VERSION_TABLE)} ({self._names(VERSION_TABLE)}) VALUES "
            f"({self._values([schema.version, schema.ENGINE_VERSION, now, schema.name, schema.version_hash, part])})"
            for part in to_parts(schema.to_json().decode("utf-8"), self.dialect.max_text_bytes, compress=False)
        ]

    def _names(self, system_table: str) -> str:
        return ", ".join(self.dialect.quote_identifier(c.name) for c in SYSTEM_TABLES[system_table])

    def _values(self, values: list[Any]) -> str:
        return ", ".join(self.lit(v) for v in values)

    @staticmethod
    def _now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    # -- packages and jobs --------------------------------------------------------------------
    def prepare_package(self, schema: Schema, load_id: str, tables: list[str]) -> None:
        """Once per package: empty truncate-and-insert chains; create fresh staging tables."""
        truncate: list[str] = []
        staged: list[Table] = []
        for root in self._roots(schema, tables):
            chain = [t for t in schema.table_chain(root.name) if t.complete_columns()]
            if uses_staging(root):
                staged.extend(chain)
            elif root.write_disposition == "replace":
                truncate.extend(t.name for t in chain)
        if staged:
            self.create_staging_tables(staged)
        if truncate:
            existing = self.reflect(truncate)
            statements = [self.truncate_sql(name) for name in truncate if self._fold(name) in existing]
            if self.dialect.truncate_commits:  # each TRUNCATE commits by itself: no transaction around them
                for sql in statements:
                    self.execute(sql)
            else:
                with self.transport.transaction():
                    for sql in statements:
                        self.execute(sql)

    def create_staging_tables(self, tables: list[Table]) -> None:
        """Drop and create staging tables, so they always have the current columns."""
        if not self.has_dataset(self.staging_dataset_name):
            self.create_dataset(self.staging_dataset_name)
        statements: list[str] = []
        for table in tables:
            target = self.staging_table(table.name)
            statements.append(f"DROP TABLE IF EXISTS {target}")
            statements.append(self.create_table_sql(table, target))
        self._run_ddl(statements)

    @staticmethod
    def _roots(schema: Schema, tables: list[str]) -> list[Table]:
        roots: dict[str, Table] = {}
        for name in tables:
            if name in schema.tables:
                root = schema.root_table(name)
                roots.setdefault(root.name, root)
        return list(roots.values())

    def truncate_sql(self, table: str) -> str:
        return f"DELETE FROM {self.table(table)}"

    def job_done(self, load_id: str, job: JobFileName) -> bool:
        rows = self.execute(
            f"SELECT 1 FROM {self.table(LOAD_JOBS_TABLE)} WHERE load_id = {self.lit(load_id)} "
            f"AND job_id = {self.lit(job.job_id)}"
        )
        return bool(rows)

    def run_job(self, schema: Schema, load_id: str, job: JobFileName, path: Path) -> None:
        with self.transport.transaction():
            self.load_file(schema, job.table, path, job.file_format)
            crash_point("load.job_data")
            self.execute(
                f"INSERT INTO {self.table(LOAD_JOBS_TABLE)} ({self._names(LOAD_JOBS_TABLE)}) "
                f"VALUES ({self._values([load_id, job.job_id, self._now()])})"
            )
            crash_point("load.job_marker")

    def target_of(self, schema: Schema, table_name: str) -> str:
        """The final table, or its staging twin when the chain's disposition needs follow-up SQL."""
        if table_name in schema.tables and uses_staging(schema.root_table(table_name)):
            return self.staging_table(table_name)
        return self.table(table_name)

    def load_file(self, schema: Schema, table_name: str, path: Path, file_format: str) -> None:
        """Load one data file inside the open transaction (SQL jobs: `run_sql_job`)."""
        target = self.target_of(schema, table_name)
        for sql in self.before_load_sql(target):
            self.execute(sql)
        if file_format == "insert_values":
            _, meta, frames = read_frames(path)
            prefix = statement_prefix(self.dialect, target, meta["columns"])
            for body in frames:
                self.execute(prefix + body)
            return
        self.load_native_file(schema.get_table(table_name), target, path, file_format)

    def before_load_sql(self, target: str) -> list[str]:
        """Statements run first in every load transaction (e.g. LOCK)."""
        return []

    @abstractmethod
    def load_native_file(self, table: Table, target: str, path: Path, file_format: str) -> None:
        """Load a file of a destination-specific format (parquet, csv, ...) into `target`."""

    def run_driver(self, action: Callable[[], Any]) -> Any:
        """Run a driver call that is not a plain statement, with the same error translation."""
        return self.transport.call(action)

    def complete_package(
        self, schema: Schema, load_id: str, tables: list[str], state: dict[str, Any] | None,
        sql_jobs: Sequence[tuple[JobFileName, Path]] = (),
    ) -> None:
        with self.transport.transaction():
            if self.package_committed(load_id):  # crashed after the commit, before the local move
                return
            for sql in self.followup_sql(schema, load_id, tables):
                self.execute(sql)
                crash_point("load.followup_sql")
            for job, path in sql_jobs:
                self.run_sql_job(load_id, job, path)
            if state is not None:
                for sql in self._state_insert_sql(state, load_id):
                    self.execute(sql)
                crash_point("load.state_inserted")
            values = [load_id, schema.name, 0, self._now(), schema.version_hash]
            self.execute(f"INSERT INTO {self.table(LOADS_TABLE)} ({self._names(LOADS_TABLE)}) VALUES ({self._values(values)})")

    followup_class: ClassVar[type[FollowupSql]] = FollowupSql

    def run_sql_job(self, load_id: str, job: JobFileName, path: Path) -> None:
        """The statements of one SQL job, inside the open commit transaction."""
        try:
            for sql in read_frames(path)[2]:
                self.execute(sql)
        except TerminalError as exc:
            raise LoadJobFailed(load_id, job.name, job.table, str(exc)) from exc

    def completed_loads(self, load_ids: list[str]) -> set[str]:
        if not load_ids or not self.has_dataset() or LOADS_TABLE not in self.reflect([LOADS_TABLE]):
            return set()
        ids = ", ".join(self.lit(i) for i in load_ids)
        return {r[0] for r in self.execute(f"SELECT load_id FROM {self.table(LOADS_TABLE)} WHERE load_id IN ({ids})")}

    def package_committed(self, load_id: str) -> bool:
        return bool(self.execute(f"SELECT 1 FROM {self.table(LOADS_TABLE)} WHERE load_id = {self.lit(load_id)}"))

    def followup_sql(self, schema: Schema, load_id: str, tables: list[str]) -> list[str]:
        """SQL run in the commit transaction after all jobs (merge, replace from staging)."""
        builder = self.followup_class(self, schema, load_id)
        out: list[str] = []
        for root in self._roots(schema, tables):
            if self.moved_by_followup(root):
                out.extend(builder.for_root(root))
        return out

    def moved_by_followup(self, root: Table) -> bool:
        """True when follow-up SQL in the commit transaction moves `root`'s chain from staging."""
        return uses_staging(root)

    def _state_insert_sql(self, state: dict[str, Any], load_id: str) -> list[str]:
        """The state's `_sl_pipeline_state` rows: compressed, in parts over the column limit."""
        body = orjson.dumps(to_tagged(state), default=str, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        head = [int(state.get("_state_version", 1)), STATE_ENGINE_VERSION, state.get("pipeline_name", "")]
        tail = [self._now(), str(state.get("_version_hash", "")), load_id]
        return [
            f"INSERT INTO {self.table(STATE_TABLE)} ({self._names(STATE_TABLE)}) VALUES ({self._values(head + [part] + tail)})"
            for part in to_parts(body, self.dialect.max_text_bytes)
        ]

    def get_stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        if not self.has_dataset() or STATE_TABLE not in self.reflect([STATE_TABLE, LOADS_TABLE]):
            return None
        state, loads = self.table(STATE_TABLE), self.table(LOADS_TABLE)
        newest = self.execute(
            f"SELECT max(l.load_id) FROM {state} AS s JOIN {loads} AS l ON l.load_id = s._sl_load_id "
            f"WHERE s.pipeline_name = {self.lit(pipeline_name)} AND l.status = 0"
        )
        if not newest or newest[0][0] is None:
            return None
        load_id = newest[0][0]
        rows = self.execute(f"SELECT s.state FROM {state} AS s WHERE s.pipeline_name = {self.lit(pipeline_name)} "
                            f"AND s._sl_load_id = {self.lit(load_id)}")
        where = f"{STATE_TABLE} of pipeline {pipeline_name!r}, load {load_id}"
        try:
            return from_tagged(orjson.loads(from_parts([r[0] for r in rows], where)))
        except orjson.JSONDecodeError as exc:
            raise TerminalError(f"{where}: the stored state is not readable: {exc}") from None

    def get_stored_schema(self, schema_name: str) -> Schema | None:
        if not self.has_dataset() or VERSION_TABLE not in self.reflect([VERSION_TABLE]):
            return None
        versions = self.table(VERSION_TABLE)
        newest = self.execute(
            f"SELECT v.version_hash FROM {versions} AS v WHERE v.schema_name = {self.lit(schema_name)} "
            "ORDER BY v.inserted_at DESC LIMIT 1"
        )
        if not newest:
            return None
        rows = self.execute(f"SELECT v.schema FROM {versions} AS v WHERE v.schema_name = {self.lit(schema_name)} "
                            f"AND v.version_hash = {self.lit(newest[0][0])}")
        where = f"{VERSION_TABLE} of schema {schema_name!r}, version {newest[0][0]}"
        values = [r[0] for r in rows]
        if len(values) > 1 and not any(v.startswith(PART_MARK) for v in values):
            values = values[:1]  # the same version stored twice whole
        return Schema.from_json(from_parts(values, where), self.capabilities.max_identifier_length)

    def drop_tables(self, names: list[str]) -> None:
        with self.transport.transaction():
            for name in names:
                self.execute(f"DROP TABLE IF EXISTS {self.table(name)}")
