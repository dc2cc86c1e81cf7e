"""Amazon Redshift's SQL dialect: the Postgres dialect with Redshift's types, limits and literals."""

from __future__ import annotations

from typing import ClassVar

from shipload.destinations.postgres.dialect import PostgresDialect
from shipload.exceptions import SchemaError
from shipload.schema.schema import Column

#: VARCHAR(MAX): Redshift's longest text, in bytes
MAX_VARCHAR_BYTES = 65535


class RedshiftDialect(PostgresDialect):
    name: ClassVar[str] = "redshift"
    type_map: ClassVar[dict[str, str]] = {
        **PostgresDialect.type_map,
        "text": "varchar({n})",
        "bigint": "bigint",
        "double": "double precision",
        "bool": "boolean",
        "decimal": "numeric({p},{s})",
        "wei": "numeric({p},{s})",
        "timestamp": "timestamp with time zone",
        "date": "date",
        "time": "time without time zone",
        "binary": "varbyte",
        "json": "super",
    }
    reverse_type_map: ClassVar[dict[str, str]] = {
        **PostgresDialect.reverse_type_map,
        "super": "json", "varbyte": "binary", "varbinary": "binary", "binary varying": "binary",
        # the local endpoint reports its domains' base types
        "jsonb": "json", "bytea": "binary",
    }
    #: bigint columns with a precision (in bits) get the smallest integer type that holds it
    integer_types: ClassVar[tuple[tuple[int, str], ...]] = ((16, "smallint"), (32, "integer"), (64, "bigint"))
    #: identifiers up to 127 bytes of UTF-8; always folded to lower case unless case-sensitive mode
    max_identifier_length: ClassVar[int] = 127
    #: a statement (e.g. one multi-row INSERT) may hold at most 16 MB, counted in bytes
    max_statement_bytes: ClassVar[int | None] = 16 * 1024 * 1024
    #: "You can add only one column in each ALTER TABLE statement"
    alter_add_multi_column: ClassVar[bool] = False
    #: CREATE/ALTER TABLE roll back with the transaction (ALTER COLUMN TYPE may not run in one at all)
    supports_ddl_transactions: ClassVar[bool] = True
    #: TRUNCATE commits the open transaction
    truncate_commits: ClassVar[bool] = True
    #: in a plain string literal a backslash escapes the next character, so it is doubled
    backslash_escapes: ClassVar[bool] = True
    #: VARCHAR holds at most 65535 bytes (the schema is stored compressed beyond that)
    max_text_bytes: ClassVar[int | None] = MAX_VARCHAR_BYTES
    #: VARCHAR(n) counts bytes, so text columns are sized in bytes from the data
    sized_text: ClassVar[bool] = True

    @classmethod
    def column_type(cls, col: Column) -> str:
        if col.data_type == "text":
            size = col.precision or MAX_VARCHAR_BYTES
            if size > MAX_VARCHAR_BYTES:
                raise SchemaError(f"column {col.name!r}: VARCHAR({size}) exceeds Redshift's {MAX_VARCHAR_BYTES} bytes")
            return f"varchar({size})"
        if col.data_type == "bigint" and col.precision:
            for bits, sql_type in cls.integer_types:
                if col.precision <= bits:
                    return sql_type
            raise SchemaError(f"column {col.name!r}: an integer of {col.precision} bits does not fit Redshift's bigint")
        if col.data_type == "binary" and col.precision:
            return f"varbyte({col.precision})"
        return super().column_type(col)

    @classmethod
    def binary_literal(cls, value: bytes) -> str:
        return "FROM_HEX(" + cls.escape_string(value.hex()) + ")"

    @classmethod
    def json_literal(cls, text: str) -> str:
        return "JSON_PARSE(" + cls.escape_string(text) + ")"
