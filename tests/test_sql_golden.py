"""Golden SQL, no database: literal escaping, identifiers, follow-up statements parse as SQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot

from shipload.destinations.duckdb.dialect import DuckDbDialect
from shipload.destinations.postgres.dialect import PostgresDialect
from shipload.destinations.redshift.dialect import RedshiftDialect
from shipload.destinations.redshift.followup import RedshiftFollowupSql
from shipload.destinations.sql.client import SqlJobClient
from shipload.destinations.sql.followup import FollowupSql
from shipload.exceptions import SchemaError
from shipload.schema.hints import apply_hints
from shipload.schema.naming import SnakeCaseNaming
from shipload.schema.schema import Column, Schema, Table

DIALECTS = [(PostgresDialect, "postgres"), (DuckDbDialect, "duckdb"), (RedshiftDialect, "redshift")]


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


def test_dialect_only_quotes_identifiers_and_naming_settles_case_and_length() -> None:
    assert PostgresDialect.quote_identifier('We"ird') == '"We""ird"'  # quoting, nothing else
    naming = SnakeCaseNaming(PostgresDialect.max_identifier_length)
    assert naming.verbatim_identifier("MyData") == "mydata"
    with pytest.raises(SchemaError, match="64 bytes"):
        naming.verbatim_identifier("x" * 64)
    with pytest.raises(SchemaError, match="64 bytes"):  # counted in UTF-8 bytes, not characters
        naming.verbatim_identifier("é" * 32)
    assert len(naming.normalize_identifier("userId" * 20)) == 63  # keys are shortened, not refused
    client = _OfflineClient(None, PostgresDialect, "MyData", None)  # type: ignore[arg-type]
    assert client.table("t") == '"mydata"."t"'
    with pytest.raises(SchemaError, match="bytes"):  # the staging twin of a long dataset name
        _OfflineClient(None, PostgresDialect, "d" * 60, None).staging_table("t")  # type: ignore[arg-type]


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
    builder = RedshiftFollowupSql if dialect is RedshiftDialect else FollowupSql
    statements = builder(client, schema, "1795682359.946404").for_root(root)
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



def test_redshift_upsert_merge_golden() -> None:
    """Redshift upserts with one MERGE from a temporary table of the deduplicated staged rows."""
    schema = _schema()
    root = schema.tables["players"]
    root.merge_strategy = "upsert"
    client = _OfflineClient(None, RedshiftDialect, "ds", None)  # type: ignore[arg-type]
    statements = RedshiftFollowupSql(client, schema, "1").for_root(root)
    for sql in statements:
        sqlglot.parse_one(sql, read="redshift")
    cols = ["id", "region", "name", "deleted", "seen", "_sl_id", "_sl_load_id"]
    quoted = ", ".join(f'"{c}"' for c in cols)
    kept = (f'(SELECT * FROM (SELECT {quoted}, ROW_NUMBER() OVER (PARTITION BY "id", "region" ORDER BY "seen" DESC) '
            'AS _sl_dedup_rn FROM "ds_staging"."players") AS s WHERE s._sl_dedup_rn = 1 AND '
            '(s."deleted" IS NULL OR s."deleted" = FALSE))')
    assert statements[2:5] == [
        'CREATE TEMP TABLE "sl_upsert_players" AS SELECT ' + ", ".join(f'k."{c}"' for c in cols) + f" FROM {kept} AS k",
        'MERGE INTO "ds"."players" USING "sl_upsert_players" AS s ON "ds"."players"."id" = s."id" AND '
        '"ds"."players"."region" = s."region" WHEN MATCHED THEN UPDATE SET '
        + ", ".join(f'"{c}" = s."{c}"' for c in cols[2:])
        + f' WHEN NOT MATCHED THEN INSERT ({quoted}) VALUES (' + ", ".join(f's."{c}"' for c in cols) + ")",
        'DROP TABLE "sl_upsert_players"',
    ]
    assert statements[1].startswith('DELETE FROM "ds"."players" USING ')  # hard-deleted keys go first
    assert statements[0].startswith('DELETE FROM "ds"."players__games"')  # children of matched rows
    assert statements[5].startswith('INSERT INTO "ds"."players__games"') and len(statements) == 6


def test_redshift_table_definition_golden() -> None:
    from shipload.destinations.redshift.client import RedshiftClient

    table = Table("t", {"id": Column("id", "bigint", nullable=False, precision=32), "name": Column("name", "text", precision=512),
                        "doc": Column("doc", "json"), "raw": Column("raw", "binary"), "at": Column("at", "timestamp")},
                  extra={"redshift": {"distkey": "id", "sortkey": ["at"], "encode": {"name": "zstd"}, "backup": False}})
    client = RedshiftClient.__new__(RedshiftClient)
    SqlJobClient.__init__(client, None, RedshiftDialect, "ds", None)  # type: ignore[arg-type]
    sql = client.create_table_sql(table)
    assert sql == (
        'CREATE TABLE "ds"."t" (\n  "id" integer NOT NULL,\n  "name" varchar(512) ENCODE zstd,\n  "doc" super,\n'
        '  "raw" varbyte,\n  "at" timestamp with time zone\n) DISTSTYLE KEY DISTKEY("id") COMPOUND SORTKEY("at") BACKUP NO'
    )
    sqlglot.parse_one(sql, read="redshift")
    assert client.add_columns_sql(table, [table.columns["name"], table.columns["doc"]]) == [
        'ALTER TABLE "ds"."t" ADD COLUMN "name" varchar(512) ENCODE zstd',
        'ALTER TABLE "ds"."t" ADD COLUMN "doc" super',
    ]
