"""DuckDB's SQL dialect."""

from __future__ import annotations

from typing import ClassVar

from shipload.destinations.sql.dialect import SqlDialect


class DuckDbDialect(SqlDialect):
    name: ClassVar[str] = "duckdb"
    type_map: ClassVar[dict[str, str]] = {
        **SqlDialect.type_map,
        "text": "VARCHAR",
        "bigint": "BIGINT",
        "double": "DOUBLE",
        "bool": "BOOLEAN",
        "decimal": "DECIMAL({p},{s})",
        "wei": "DECIMAL({p},{s})",
        "timestamp": "TIMESTAMP WITH TIME ZONE",
        "date": "DATE",
        "time": "TIME",
        "binary": "BLOB",
        "json": "JSON",
    }
    naive_timestamp_type: ClassVar[str] = "TIMESTAMP"
    reverse_type_map: ClassVar[dict[str, str]] = {
        **SqlDialect.reverse_type_map,
        "varchar": "text", "bigint": "bigint", "integer": "bigint", "double": "double", "boolean": "bool",
        "decimal": "decimal", "timestamp with time zone": "timestamp", "timestamp": "timestamp",
        "date": "date", "time": "time", "blob": "binary", "json": "json",
    }
    #: DuckDB has no identifier length limit worth enforcing; keep names readable
    max_identifier_length: ClassVar[int] = 255
    #: "Only one ALTER command per statement is supported": one ADD COLUMN per ALTER TABLE
    alter_add_multi_column: ClassVar[bool] = False

    @classmethod
    def binary_literal(cls, value: bytes) -> str:
        return "unhex(" + cls.escape_string(value.hex()) + ")"
