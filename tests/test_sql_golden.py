"""Golden SQL, no database: literal escaping, identifiers, follow-up statements parse as SQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot

from shipload.destinations.duckdb.dialect import DuckDbDialect
from shipload.destinations.postgres.dialect import PostgresDialect
from shipload.destinations.sql.client import SqlJobClient
from shipload.destinations.sql.followup import FollowupSql
from shipload.exceptions import SchemaError
from shipload.schema.hints import apply_hints
from shipload.schema.schema import Column, Schema, Table

DIALECTS = [(PostgresDialect, "postgres"), (DuckDbDialect, "duckdb")]


@pytest.mark.parametrize("value, expected", [
    ("it's", "'it''s'"),
    ("a\\b", "'a\\b'"),  # standard strings: backslash is not an escape on Postgres/DuckDB
    ("'); DROP TABLE t; --", "'''); DROP TABLE t; --'"),
    ("line\nbreak", "'line\nbreak'"),
    ("😀𝄞", "'😀𝄞'"),
    (None, "NULL"),
    (True, "TRUE"),
    (12, "12"),
    (Decimal("1.50"), "1.50"),
    (float("nan"), "'nan'::double precision"),
    (dt.date(2024, 2, 29), "'2024-02-29'"),
    (b"\x00\xff", "'\\x00ff'::bytea"),
])
def test_postgres_literals(value: object, expected: str) -> None:
    assert PostgresDialect.literal(value) == expected


def test_nul_is_refused_not_truncated() -> None:
    with pytest.raises(SchemaError, match="NUL"):
        PostgresDialect.escape_string("a\x00b")


def test_backslash_dialect_doubles_backslashes() -> None:
    class Backslashy(PostgresDialect):
        backslash_escapes = True

    assert Backslashy.escape_string("a\\'b") == "'a\\\\''b'"


def test_identifiers_are_quoted_folded_and_length_checked() -> None:
    assert PostgresDialect.quote_identifier('We"ird') == '"we""ird"'
    with pytest.raises(SchemaError, match="64 bytes"):
        PostgresDialect.quote_identifier("x" * 64)
    with pytest.raises(SchemaError, match="bytes"):  # counted in UTF-8 bytes, not characters
        PostgresDialect.quote_identifier("é" * 32)


class _OfflineClient(SqlJobClient):
    def load_native_file(self, *args: object) -> None:  # pragma: no cover - never called
        raise NotImplementedError


def _schema() -> Schema:
    s = Schema("golden")
    t = apply_hints(s, "players", {"write_disposition": "merge", "primary_key": ["id", "region"]}, "players")
    for name, dtype in (("id", "bigint"), ("region", "text"), ("name", "text"), ("deleted", "bool"),
                        ("seen", "timestamp"), ("_sl_id", "text"), ("_sl_load_id", "text")):
        t.columns.setdefault(name, Column(name))
        t.columns[name].data_type = dtype
    t.columns["deleted"].hard_delete = True
    t.columns["seen"].dedup_sort = "desc"
    child = s.ensure_table("players__games", parent="players")
    for name in ("g", "_sl_id", "_sl_parent_id", "_sl_root_id", "_sl_list_idx"):
        child.columns[name] = Column(name, "bigint" if name == "_sl_list_idx" else "text")
    return s


@pytest.mark.parametrize("strategy", ["delete-insert", "upsert", "scd2"])
@pytest.mark.parametrize("dialect, sqlglot_name", DIALECTS)
def test_followup_sql_parses(dialect: type, sqlglot_name: str, strategy: str) -> None:
    schema = _schema()
    root = schema.tables["players"]
    root.merge_strategy = strategy
    if strategy == "scd2":
        apply_hints(schema, "players", {"write_disposition": "merge", "merge_strategy": "scd2"}, "players")
    client = _OfflineClient(None, dialect, "ds", None)  # type: ignore[arg-type]
    statements = FollowupSql(client, schema, "1795682359.946404").for_root(root)
    assert statements
    for sql in statements:
        sqlglot.parse_one(sql, read=sqlglot_name)
    joined = "\n".join(statements)
    assert '"ds_staging"."players"' in joined and '"ds"."players__games"' in joined
    if strategy == "delete-insert":
        assert "ROW_NUMBER() OVER (PARTITION BY \"id\", \"region\" ORDER BY \"seen\" DESC)" in joined
        assert '("deleted" IS NULL OR "deleted" = FALSE)' in joined.replace("s.", "")


def test_replace_from_staging_sql(tmp_path: Path) -> None:
    schema = _schema()
    root = schema.tables["players"]
    root.write_disposition, root.replace_strategy = "replace", "insert-from-staging"
    client = _OfflineClient(None, PostgresDialect, "ds", None)  # type: ignore[arg-type]
    statements = FollowupSql(client, schema, "1").for_root(root)
    assert statements[0] == 'DELETE FROM "ds"."players"'
    assert statements[1].startswith('INSERT INTO "ds"."players" ("id", "region", "name"')
    assert statements[1].endswith('FROM "ds_staging"."players"')
    assert len(statements) == 4


def test_table_definition_golden() -> None:
    table = Table("t", {"id": Column("id", "bigint", nullable=False), "amount": Column("amount", "decimal"),
                        "at": Column("at", "timestamp", timezone=False), "doc": Column("doc", "json")})
    client = _OfflineClient(None, PostgresDialect, "ds", None)  # type: ignore[arg-type]
    assert client.create_table_sql(table) == (
        'CREATE TABLE "ds"."t" (\n  "id" bigint NOT NULL,\n  "amount" numeric(38,9),\n'
        '  "at" timestamp without time zone,\n  "doc" jsonb\n)'
    )
