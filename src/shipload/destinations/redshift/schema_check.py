"""What Redshift would refuse in a schema, checked on the normalized schema before its package is
made (so before any DDL): table design hints (one DISTKEY, keys naming columns, known styles)."""

from __future__ import annotations

from shipload.destinations.redshift.adapter import table_design
from shipload.schema.schema import Schema
from shipload.schema.skipped import loaded_tables


def check_schema(schema: Schema) -> None:
    """Raise SchemaError for the first table whose design Redshift cannot create."""
    for table in loaded_tables(schema):
        if table.complete_columns():
            table_design(table, schema.naming)
