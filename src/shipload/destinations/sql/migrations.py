"""SQL job client, part 1: datasets, system tables and schema migrations (reflection, CREATE/ALTER,
the stored schema versions)."""

from __future__ import annotations

import dataclasses
from typing import Any

from shipload.destinations.sql.client_base import SqlClientBase
from shipload.destinations.sql.stored_text import to_parts
from shipload.destinations.sql.system_tables import SYSTEM_TABLES
from shipload.exceptions import SchemaError
from shipload.schema.schema import (
    VERSION_TABLE,
    Column,
    Schema,
    Table,
)
from shipload.schema.skipped import loaded_tables


class SqlMigrations(SqlClientBase):
    def has_dataset(self, name: str | None = None) -> bool:
        folded = self._fold(name or self.dataset_name)
        return bool(self.execute(self.dialect.dataset_exists_sql.format(name=self.lit(folded))))

    @property
    def staging_dataset_name(self) -> str:
        return f"{self.dataset_name}_staging"

    def staging_table(self, name: str) -> str:
        return f"{self.schema_name(self.staging_dataset_name)}.{self.dialect.quote_identifier(name)}"

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

    def drop_tables(self, names: list[str]) -> None:
        with self.transport.transaction():
            for name in names:
                self.execute(f"DROP TABLE IF EXISTS {self.table(name)}")

