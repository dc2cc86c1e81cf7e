"""Turn one page of flat rows of one table into typed columns, evolving the schema as it goes:
infer new columns, coerce values, route misfits to variant columns, enforce schema contracts."""

from __future__ import annotations

from typing import Any

from shipload.exceptions import DataValidationError, TerminalError
from shipload.normalize.coerce import coerce_column, variant_of
from shipload.normalize.text_size import TextPolicy
from shipload.schema.detections import detect, detections_of
from shipload.schema.schema import (
    LIST_IDX_COL,
    LOAD_ID_COL,
    PARENT_ID_COL,
    ROOT_ID_COL,
    ROW_ID_COL,
    VARIANT_SUFFIX,
    Column,
    Schema,
    Table,
)
from shipload.schema.types import py_type_to_data_type

Columns = dict[str, list[Any]]
DEFAULT_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "evolve"}
_SYSTEM_COLUMNS = {
    LOAD_ID_COL: Column(LOAD_ID_COL, "text", nullable=False),
    ROW_ID_COL: Column(ROW_ID_COL, "text", nullable=False, row_key=True, unique=True),
    PARENT_ID_COL: Column(PARENT_ID_COL, "text", nullable=False, parent_key=True),
    LIST_IDX_COL: Column(LIST_IDX_COL, "bigint", nullable=False),
    ROOT_ID_COL: Column(ROOT_ID_COL, "text", nullable=False, root_key=True),
}


class TablePageNormalizer:
    """Applies pages to a (cloned) schema. Not thread safe; one per package."""

    def __init__(self, schema: Schema, load_id: str, text_policy: TextPolicy | None = None) -> None:
        self.schema = schema
        self.load_id = load_id
        self.text_policy = text_policy
        self.new_tables: set[str] = set()
        self._had_tables = any(t.complete_columns() for t in schema.data_tables())
        self.detections = detections_of(schema.settings)

    def contract(self, table: Table) -> dict[str, str]:
        root = self.schema.root_table(table.name) if table.name in self.schema.tables else table
        contract = dict(DEFAULT_CONTRACT)
        contract.update(self.schema.settings.get("schema_contract") or {})
        contract.update(root.schema_contract or {})
        return contract

    def _refuse(self, table: str, column: str | None, entity: str, detail: str) -> None:
        raise DataValidationError(self.schema.name, table, column, entity, "freeze", detail)

    def process(
        self, table_name: str, parent: str | None, raw: Columns, n: int, root_ids: list[str] | None,
        dropped_parents: set[str],
    ) -> tuple[Columns, int] | None:
        """Typed columns and row count for one table's part of a page, or None if a contract
        discarded all of it. Ids of rows dropped by `discard_row` go to `dropped_parents` so their
        children follow."""
        if dropped_parents and parent is not None:
            parents = raw[PARENT_ID_COL]
            keep = [i for i, p in enumerate(parents) if p not in dropped_parents]
            if len(keep) != n:
                row_ids = raw[ROW_ID_COL]
                dropped_parents.update(row_ids[i] for i in range(n) if parents[i] in dropped_parents)
                raw = {k: [v[i] for i in keep] for k, v in raw.items()}
                n = len(keep)
        if not n:
            return None
        table = self.ensure_table(table_name, parent)
        if table is None:
            dropped_parents.update(root_ids if root_ids is not None else raw[ROW_ID_COL])
            return None
        contract = self.contract(table)
        is_new_table = table_name in self.new_tables
        columns: Columns = {}
        drop_rows: set[int] = set()
        label = self._row_label(table, raw, root_ids)
        for key, values in raw.items():
            col = table.columns.get(key)
            if col is None or col.data_type is None:
                col = self._new_column(table, key, values, contract, is_new_table, drop_rows, col)
                if col is None:
                    continue
                if col.data_type is None:
                    continue
            values, misfits = coerce_column(values, col)
            if self.text_policy is not None and col.data_type == "text":
                values = self.text_policy.apply(table_name, col, values, label)
            columns[key] = values
            if misfits:
                self._variants(table, col, misfits, columns, n, contract, drop_rows, label)
        if root_ids is not None:
            columns[LOAD_ID_COL] = [self.load_id] * n
            columns[ROW_ID_COL] = root_ids
            for name in (LOAD_ID_COL, ROW_ID_COL):
                if name not in table.columns:
                    table.columns[name] = _system_column(name)
                if self.text_policy is not None:
                    self.text_policy.apply(table_name, table.columns[name], columns[name], str)
        if drop_rows:
            ids = columns[ROW_ID_COL]
            dropped_parents.update(ids[i] for i in drop_rows)
            keep = [i for i in range(n) if i not in drop_rows]
            if not keep:
                return None
            columns = {k: [v[i] for i in keep] for k, v in columns.items()}
            n = len(keep)
        return columns, n

    @staticmethod
    def _row_label(table: Table, raw: Columns, root_ids: list[str] | None) -> Any:
        keys = [c.name for c in table.columns_with("primary_key") if c.name in raw]

        def label(i: int) -> str:
            if keys:
                return "row " + ", ".join(f"{k}={raw[k][i]!r}" for k in keys)
            row_id = root_ids[i] if root_ids is not None else raw.get(ROW_ID_COL, [None] * (i + 1))[i]
            return f"row {i + 1} of its page, {ROW_ID_COL}={row_id!r}"

        return label

    # -- schema evolution ---------------------------------------------------------------------
    def ensure_table(self, name: str, parent: str | None) -> Table | None:
        """The schema table for data arriving now; creates it (contract permitting) if it is new."""
        table = self.schema.tables.get(name)
        if table is None or (not table.complete_columns() and name not in self.new_tables):
            return self._new_table(name, parent)
        return table

    def _new_table(self, name: str, parent: str | None) -> Table | None:
        schema = self.schema
        existing = schema.tables.get(name)
        if parent is None:
            probe = existing or Table(name=name)
            # the first tables of an empty schema are always created: contracts guard what exists
            mode = "evolve" if not self._had_tables else self.contract(probe)["tables"]
        else:
            mode = self.contract(schema.get_table(parent))["columns"] if parent in schema.tables else "evolve"
            if parent in self.new_tables:
                mode = "evolve"
        if mode == "freeze":
            self._refuse(name, None, "tables", f"new table {name!r} is not allowed")
        if mode in ("discard_row", "discard_value"):
            return None
        table = schema.ensure_table(name, parent)
        if parent is not None:
            table.parent = parent
        self.new_tables.add(name)
        return table

    def _new_column(
        self, table: Table, name: str, values: list[Any], contract: dict[str, str], is_new_table: bool,
        drop_rows: set[int], hinted: Column | None,
    ) -> Column | None:
        first = next((v for v in values if v is not None), None)
        if first is None:
            if hinted is None:
                table.columns[name] = Column(name=name)  # seen, type unknown until a value arrives
                return table.columns[name]
            return hinted
        if name in _SYSTEM_COLUMNS:
            col = _system_column(name)
            table.columns[name] = col
            return col
        mode = "evolve" if is_new_table or (hinted is not None) else contract["columns"]
        if mode == "freeze":
            self._refuse(table.name, name, "columns", f"new column {name!r} (value {first!r:.100}) is not allowed")
        if mode == "discard_row":
            drop_rows.update(i for i, v in enumerate(values) if v is not None)
            return None
        if mode == "discard_value":
            return None
        detected = detect(self.detections, first) if self.detections else None
        data_type = detected[0] if detected is not None else py_type_to_data_type(type(first))
        if data_type is None:
            raise TerminalError(
                f"table {table.name!r}, column {name!r}: cannot store value {first!r:.100} of type "
                f"{type(first).__name__}; convert it to str, int, float, Decimal, datetime, bytes, dict or list"
            )
        col = hinted or Column(name=name)
        col.data_type = data_type
        if detected is not None:
            if col.timezone is None and detected[1] is False:
                col.timezone = False  # an ISO string without offset: a column without time zone
        elif data_type == "timestamp":
            if col.timezone is None and first.tzinfo is None:
                col.timezone = False  # naive values: a column without time zone (None means with)
        table.columns[name] = col
        return col

    def _variants(
        self, table: Table, col: Column, misfits: dict[int, Any], columns: Columns, n: int,
        contract: dict[str, str], drop_rows: set[int], label: Any,
    ) -> None:
        mode = contract["data_type"]
        if mode == "freeze":
            i, v = next(iter(misfits.items()))
            self._refuse(table.name, col.name, "data_type",
                         f"value {v!r:.100} ({type(v).__name__}) does not fit type {col.data_type}")
        if mode == "discard_row":
            drop_rows.update(misfits)
            return
        if mode == "discard_value":
            return
        touched: list[Column] = []
        for i, v in misfits.items():
            if py_type_to_data_type(type(v)) is None:
                raise TerminalError(
                    f"table {table.name!r}, column {col.name!r}: cannot store value {v!r:.100} of type {type(v).__name__}"
                )
            vtype, stored = variant_of(v)
            vname = self.schema.naming.shorten(f"{col.name}{VARIANT_SUFFIX}{vtype}", f"{col.name}{VARIANT_SUFFIX}{vtype}")
            vcol = table.columns.get(vname)
            if vcol is None:
                vcol = Column(name=vname, data_type=vtype, variant=True)
                table.columns[vname] = vcol
            target = columns.get(vname)
            if target is None:
                target = columns[vname] = [None] * n
                touched.append(vcol)
            target[i] = stored
        if self.text_policy is not None:  # variant text is sized and checked like any text column
            for vcol in touched:
                if vcol.data_type == "text":
                    columns[vcol.name] = self.text_policy.apply(table.name, vcol, columns[vcol.name], label)


def _system_column(name: str) -> Column:
    proto = _SYSTEM_COLUMNS[name]
    return Column(**{k: getattr(proto, k) for k in proto.__dataclass_fields__ if k != "extra"})
