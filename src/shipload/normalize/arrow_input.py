"""Arrow input: columns are renamed to the naming convention, typed from the Arrow schema, and
written to parquet without a round trip through Python objects (other formats go row-wise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from shipload.exceptions import SchemaError
from shipload.normalize.table_page import TablePageNormalizer
from shipload.schema.arrow import arrow_field_to_column, arrow_type
from shipload.schema.schema import LOAD_ID_COL, ROW_ID_COL, Column, Schema
from shipload.utils.ids import new_row_ids
from shipload.writers.base import WriterPool


class ArrowNormalizer:
    def __init__(self, schema: Schema, load_id: str, pages: TablePageNormalizer) -> None:
        self.schema = schema
        self.load_id = load_id
        self.pages = pages

    def normalize_file(self, path: Path, pool: WriterPool) -> None:
        table_name = path.name.split(".", 1)[0]
        with pa.memory_map(str(path)) as source:
            data = pa.ipc.open_file(source).read_all()
        naming = self.schema.naming
        names = [naming.normalize_identifier(n) for n in data.column_names]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise SchemaError(f"table {table_name!r}: Arrow columns collide after normalization: {dupes}")
        data = data.rename_columns(names)
        # nested Arrow types are stored as json text
        for i, field in enumerate(data.schema):
            if pa.types.is_struct(field.type) or pa.types.is_list(field.type) or pa.types.is_map(field.type):
                texts = [None if v is None else _dumps(v) for v in data.column(i).to_pylist()]
                data = data.set_column(i, field.name, pa.array(texts, pa.string()))
        n = len(data)
        table = self.pages.ensure_table(table_name, None)
        if table is None:
            return
        for field in data.schema:
            spec = arrow_field_to_column(field)
            if spec["data_type"] is None:
                continue
            existing = table.columns.get(field.name)
            if existing is None or existing.data_type is None:
                col = existing or Column(name=field.name)
                col.data_type = spec["data_type"]
                for key in ("precision", "scale", "timezone"):
                    if spec.get(key) is not None and getattr(col, key) is None:
                        setattr(col, key, spec[key])
                if col.timezone is True:
                    col.timezone = None
                table.columns[field.name] = col
        for name in (LOAD_ID_COL, ROW_ID_COL):
            if name not in table.columns:
                table.columns[name] = Column(name, "text", nullable=False, row_key=name == ROW_ID_COL, unique=name == ROW_ID_COL)
        data = data.append_column(LOAD_ID_COL, pa.array([self.load_id] * n, pa.string()))
        data = data.append_column(ROW_ID_COL, pa.array(new_row_ids(n), pa.string()))
        wanted = [c for c in table.columns.values() if c.data_type is not None]
        arrays = []
        for col in wanted:
            target = arrow_type(col)
            if col.name in data.column_names:
                try:
                    arrays.append(pc.cast(data.column(col.name), target))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise SchemaError(f"table {table_name!r}, column {col.name!r}: Arrow data cannot be cast to {col.data_type}: {exc}") from None
            else:
                arrays.append(pa.nulls(n, target))
        policy = self.pages.text_policy
        if policy is not None:  # byte-sized text columns: the one text-sizing path, measured in Arrow
            arrays = [policy.apply_arrow(table_name, col, arr) if col.data_type == "text" else arr
                      for col, arr in zip(wanted, arrays, strict=True)]
        out = pa.Table.from_arrays(arrays, names=[c.name for c in wanted])
        if not pool.write_arrow(table, out):
            columns = {name: out.column(name).to_pylist() for name in out.column_names}
            pool.write(table, columns, n)


def _dumps(value: Any) -> str:
    import orjson

    return orjson.dumps(value, default=str).decode("utf-8")
