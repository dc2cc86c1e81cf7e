"""SQL dialects as data: type maps both ways, identifier rules, literal escaping, limits and flags.

A dialect never talks to a database; transports (drivers) do. Subclasses override class
attributes; every flag says what it means where it is declared."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, ClassVar

from shipload.exceptions import SchemaError
from shipload.schema.schema import Column


class SqlDialect:
    name: ClassVar[str] = "sql"
    #: data type -> SQL type; `{p}`/`{s}` are filled from column precision/scale.
    type_map: ClassVar[dict[str, str]] = {
        "text": "varchar",
        "bigint": "bigint",
        "double": "double precision",
        "bool": "boolean",
        "decimal": "numeric({p},{s})",
        "wei": "numeric({p},{s})",
        "timestamp": "timestamp with time zone",
        "date": "date",
        "time": "time without time zone",
        "binary": "bytea",
        "json": "jsonb",
    }
    #: naive timestamps (column hint timezone=False)
    naive_timestamp_type: ClassVar[str] = "timestamp without time zone"
    #: SQL type name (lower case, without arguments) -> data type, for reflection
    reverse_type_map: ClassVar[dict[str, str]] = {
        "varchar": "text", "character varying": "text", "text": "text", "character": "text",
        "bigint": "bigint", "integer": "bigint", "smallint": "bigint",
        "double precision": "double", "real": "double", "double": "double",
        "boolean": "bool", "numeric": "decimal", "decimal": "decimal",
        "timestamp with time zone": "timestamp", "timestamp without time zone": "timestamp",
        "date": "date", "time without time zone": "time", "bytea": "binary", "jsonb": "json", "json": "json",
    }
    decimal_default: ClassVar[tuple[int, int]] = (38, 9)
    wei_default: ClassVar[tuple[int, int]] = (38, 0)
    #: longest identifier, in bytes of UTF-8
    max_identifier_length: ClassVar[int] = 63
    #: the database folds identifiers to lower case (so catalog names read back are lower case);
    #: shipload's names are lower case already (the naming convention), and always quoted
    casefold_identifiers: ClassVar[bool] = True
    #: longest single statement in bytes (None: no practical limit)
    max_statement_bytes: ClassVar[int | None] = None
    #: several ADD COLUMN clauses in one ALTER TABLE are accepted
    alter_add_multi_column: ClassVar[bool] = True
    #: DDL can run inside a transaction and be rolled back
    supports_ddl_transactions: ClassVar[bool] = True
    #: TRUNCATE commits the open transaction (Redshift) instead of being transactional
    truncate_commits: ClassVar[bool] = False
    #: a backslash in a plain string literal is an escape character (Redshift) and must be doubled
    backslash_escapes: ClassVar[bool] = False
    #: longest text value in bytes that a text column can hold (None: no limit)
    max_text_bytes: ClassVar[int | None] = None
    #: text columns get a declared size in bytes, sized from the data and widened as it grows
    sized_text: ClassVar[bool] = False
    #: most columns a table may have (None: no limit worth checking); wider tables are refused before DDL
    max_table_columns: ClassVar[int | None] = None

    #: query answering "does this schema exist"; `{name}` is the folded name as a literal
    dataset_exists_sql: ClassVar[str] = "SELECT 1 FROM information_schema.schemata WHERE schema_name = {name}"

    # -- identifiers --------------------------------------------------------------------------
    @classmethod
    def quote_identifier(cls, name: str) -> str:
        """The one function that quotes identifiers for this dialect. It quotes only: case and
        length are settled by the naming convention before a name gets here."""
        return '"' + name.replace('"', '""') + '"'

    @classmethod
    def qualified(cls, dataset: str, table: str) -> str:
        return f"{cls.quote_identifier(dataset)}.{cls.quote_identifier(table)}"

    # -- literals -----------------------------------------------------------------------------
    @classmethod
    def escape_string(cls, value: str) -> str:
        """The one function that turns a str into a SQL string literal."""
        if "\x00" in value:
            raise SchemaError(f"text value contains a NUL character, which {cls.name} cannot store: {value[:60]!r}")
        value = value.replace("'", "''")
        if cls.backslash_escapes:
            value = value.replace("\\", "\\\\")
        return "'" + value + "'"

    @classmethod
    def literal(cls, value: Any) -> str:
        """Any Python value as a SQL literal; every literal goes through `escape_string`."""
        if value is None:
            return "NULL"
        if value is True:
            return "TRUE"
        if value is False:
            return "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return f"{cls.escape_string(str(value))}::double precision"
            return repr(value)
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            return cls.escape_string(value.isoformat())
        if isinstance(value, (bytes, bytearray, memoryview)):
            return cls.binary_literal(bytes(value))
        if isinstance(value, uuid.UUID):
            return cls.escape_string(str(value))
        return cls.escape_string(str(value))

    @classmethod
    def binary_literal(cls, value: bytes) -> str:
        return f"'\\x{value.hex()}'::bytea"

    @classmethod
    def json_literal(cls, text: str) -> str:
        """A JSON document (already serialized) as a value for a json column."""
        return cls.escape_string(text)

    # -- types ----------------------------------------------------------------------------------
    @classmethod
    def column_type(cls, col: Column) -> str:
        if col.data_type is None:
            raise SchemaError(f"column {col.name!r} has no data type")
        if col.data_type == "timestamp" and col.timezone is False:
            return cls.naive_timestamp_type
        template = cls.type_map[col.data_type]
        if "{p}" in template:
            p, s = cls.decimal_default if col.data_type == "decimal" else cls.wei_default
            return template.format(p=col.precision or p, s=col.scale if col.scale is not None else s)
        return template

    @classmethod
    def data_type_of(cls, sql_type: str) -> str:
        base = sql_type.lower().split("(", 1)[0].strip()
        return cls.reverse_type_map.get(base, "text")

    @classmethod
    def column_definition(cls, col: Column, attributes: str = "") -> str:
        """``"name" type [attributes] [NOT NULL]``; `attributes` are destination extras (ENCODE ...)."""
        null = "" if col.nullable else " NOT NULL"
        extra = f" {attributes}" if attributes else ""
        return f"{cls.quote_identifier(col.name)} {cls.column_type(col)}{extra}{null}"
