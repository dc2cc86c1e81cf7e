"""PostgreSQL's SQL dialect: the generic defaults, which were written with Postgres in mind."""

from __future__ import annotations

from typing import ClassVar

from shipload.destinations.sql.dialect import SqlDialect


class PostgresDialect(SqlDialect):
    name: ClassVar[str] = "postgres"
    #: Postgres accepts statements up to 1 GB; insert_values frames are kept far smaller so one
    #: statement's parse does not hold hundreds of MB of memory on the server
    max_statement_bytes: ClassVar[int | None] = 32 * 1024 * 1024
    #: a text value (and a jsonb document) may hold up to 1 GB
    max_text_bytes: ClassVar[int | None] = 1024 * 1024 * 1024 - 1
    #: Postgres' (and Redshift's) limit: 1600 columns per table
    max_table_columns: ClassVar[int | None] = 1600
    #: the catalog sees every schema; information_schema.schemata only those the user may use
    dataset_exists_sql: ClassVar[str] = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = {name}"
