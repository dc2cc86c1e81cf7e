"""`write_disposition="skip"`: the resource is extracted (its state moves on) and normalized (the
schema knows its tables), but nothing of its table chain is created or loaded in the destination."""

from __future__ import annotations

from shipload.schema.schema import Schema, Table


def skipped_tables(schema: Schema) -> set[str]:
    """Data tables whose root table has write_disposition 'skip'."""
    return {t.name for t in schema.data_tables() if schema.write_disposition(t.name) == "skip"}


def loaded_tables(schema: Schema) -> list[Table]:
    """Data tables the destination creates and loads: all but the skipped ones."""
    skipped = skipped_tables(schema)
    return [t for t in schema.data_tables() if t.name not in skipped]
