"""Apply resource hints (write disposition, keys, column hints, contracts) to a schema table."""

from __future__ import annotations

from typing import Any

from shipload.exceptions import SchemaError
from shipload.schema.detections import SETTINGS_KEY, detections_of
from shipload.schema.schema import ROW_ID_COL, VALID_FROM_COL, VALID_TO_COL, Column, Schema, Table
from shipload.schema.types import DATA_TYPES

MERGE_STRATEGIES = ("delete-insert", "upsert", "scd2")
REPLACE_STRATEGIES = ("truncate-and-insert", "insert-from-staging", "staging-optimized")
CONTRACT_MODES = ("evolve", "freeze", "discard_row", "discard_value")
CONTRACT_ENTITIES = ("tables", "columns", "data_type")


def normalize_contract(contract: str | dict[str, str] | None) -> dict[str, str] | None:
    """`"freeze"` -> all three entities; a dict is checked for known entities and modes."""
    if contract is None:
        return None
    if isinstance(contract, str):
        contract = {e: contract for e in CONTRACT_ENTITIES}
    out: dict[str, str] = {}
    for entity, mode in contract.items():
        if entity not in CONTRACT_ENTITIES:
            raise SchemaError(f"schema_contract: unknown entity {entity!r}; use one of {CONTRACT_ENTITIES}")
        if mode not in CONTRACT_MODES:
            raise SchemaError(f"schema_contract: unknown mode {mode!r} for {entity!r}; use one of {CONTRACT_MODES}")
        out[entity] = mode
    return out


def _as_list(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def column_hints_as_dicts(columns: Any) -> list[dict[str, Any]]:
    """Accept ``{"name": {...}}``, ``[{"name": ..., ...}]`` or a pyarrow schema."""
    if columns is None:
        return []
    if hasattr(columns, "names") and hasattr(columns, "field"):  # pyarrow.Schema
        from shipload.schema.arrow import arrow_field_to_column

        return [arrow_field_to_column(f) for f in columns]
    if isinstance(columns, dict):
        return [{"name": name, **(spec or {})} for name, spec in columns.items()]
    return [dict(c) for c in columns]


def apply_hints(schema: Schema, table_name: str, hints: dict[str, Any], resource_name: str) -> Table:
    """Create or update the root table `table_name` (already normalized) from resource hints."""
    naming = schema.naming
    table = schema.ensure_table(table_name)
    table.resource = resource_name
    wd = hints.get("write_disposition")
    if wd is not None:
        if wd not in ("append", "replace", "merge", "skip"):
            raise SchemaError(f"table {table_name!r}: unknown write_disposition {wd!r}")
        table.write_disposition = wd
    for key, allowed in (("merge_strategy", MERGE_STRATEGIES), ("replace_strategy", REPLACE_STRATEGIES)):
        value = hints.get(key)
        if value is not None:
            if value not in allowed:
                raise SchemaError(f"table {table_name!r}: unknown {key} {value!r}; use one of {allowed}")
            setattr(table, key, value)
    if hints.get("scd2") is not None:
        table.scd2 = dict(hints["scd2"])
    if hints.get("max_table_nesting") is not None:
        table.max_nesting = int(hints["max_table_nesting"])
    if hints.get("schema_contract") is not None:
        table.schema_contract = normalize_contract(hints["schema_contract"])
    if hints.get("file_format") is not None:
        table.file_format = hints["file_format"]
    if hints.get("table_extra"):
        for key, value in hints["table_extra"].items():
            table.extra[key] = value
    if hints.get("detections") is not None:
        detections = [hints["detections"]] if isinstance(hints["detections"], str) else list(hints["detections"])
        detections_of({SETTINGS_KEY: detections})  # unknown names are refused here
        schema.settings[SETTINGS_KEY] = detections
    if hints.get("table_description") is not None:
        table.description = hints["table_description"]
    for spec in column_hints_as_dicts(hints.get("columns")):
        _apply_column_hint(table, naming.normalize_reference(spec.pop("name")), spec)
    for hint in ("primary_key", "merge_key"):
        names = _as_list(hints.get(hint))
        if names:
            normalized = [naming.normalize_reference(n) for n in names]
            for col in table.columns.values():
                setattr(col, hint, col.name in normalized)
            for name in normalized:
                col = table.columns.setdefault(name, Column(name=name))
                setattr(col, hint, True)
                if hint == "primary_key":
                    col.nullable = False
    if table.write_disposition == "merge" and table.merge_strategy == "scd2":
        _add_scd2_columns(table, naming)
    if table.write_disposition == "merge" and table.merge_strategy == "upsert":
        upsert_keys(table)
    return table


def upsert_keys(table: Table) -> list[str]:
    """The primary key an upsert matches rows on; refused when there is none."""
    keys = [c.name for c in table.columns_with("primary_key")]
    if not keys:
        raise SchemaError(f"table {table.name!r}: merge strategy 'upsert' needs a primary_key")
    return keys


def scd2_column_names(table: Table) -> tuple[str, str]:
    """(valid from, valid to) column names of an scd2 table: configured or the defaults."""
    names = (table.scd2 or {}).get("validity_column_names") or [VALID_FROM_COL, VALID_TO_COL]
    if len(names) != 2:
        raise SchemaError(f"table {table.name!r}: scd2 validity_column_names needs two names, got {names!r}")
    return names[0], names[1]


def _add_scd2_columns(table: Table, naming: Any) -> None:
    """Validity columns (configurable names) as nullable timestamps; the row id is a content hash."""
    normalized = [naming.normalize_reference(n) for n in scd2_column_names(table)]
    table.scd2 = dict(table.scd2 or {}, validity_column_names=normalized)
    for name in normalized:
        col = table.columns.setdefault(name, Column(name=name))
        col.data_type, col.nullable, col.timezone = "timestamp", True, True
    row_id = table.columns.setdefault(ROW_ID_COL, Column(name=ROW_ID_COL, data_type="text", nullable=False))
    row_id.row_key = True


def _apply_column_hint(table: Table, name: str, spec: dict[str, Any]) -> None:
    data_type = spec.get("data_type")
    if data_type is not None and data_type not in DATA_TYPES:
        raise SchemaError(f"table {table.name!r}, column {name!r}: unknown data_type {data_type!r}; use one of {DATA_TYPES}")
    col = table.columns.get(name)
    if col is None:
        col = Column(name=name)
        table.columns[name] = col
    known = set(Column.__dataclass_fields__) - {"name", "extra"}
    for key, value in spec.items():
        if key in known:
            setattr(col, key, value)
        else:
            col.extra[key] = value
