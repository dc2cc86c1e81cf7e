"""Arrow input: columns are renamed to the naming convention, typed from the Arrow schema, and
written to parquet without a round trip through Python objects (other formats go row-wise).

Everything here is column-wise: struct columns are flattened into parent columns (`a__b`, as the
dict path names them), list and map columns become json text built by Arrow kernels
(`arrow_json`), `_sl_load_id` is one repeated value and `_sl_id` is made from one random buffer."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from shipload.exceptions import SchemaError
from shipload.normalize.arrow_json import json_text
from shipload.normalize.table_page import TablePageNormalizer
from shipload.schema.arrow import arrow_field_to_column, arrow_type
from shipload.schema.naming import SnakeCaseNaming
from shipload.schema.schema import LOAD_ID_COL, ROW_ID_COL, Column, Schema
from shipload.writers.base import WriterPool

_ID_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ID_CHARS = bytes(_ID_ALPHABET[b & 63] for b in range(256))
#: rows of one Arrow file normalized at a time
SLICE_ROWS = 500_000
_ID_WIDTH, _ID_COUNTER = 16, 5  # 11 random characters per batch (66 bits), then a 5-character row counter


def arrow_row_ids(n: int) -> pa.Array:
    """`n` unique 16-character row ids: a random prefix shared by the batch and a base64 row counter.

    Built with bytes operations only; the shared prefix keeps them cheap to compress and store."""
    if n <= 0:
        return pa.array([], pa.string())
    if n > 64 ** _ID_COUNTER:
        return pa.concat_arrays([arrow_row_ids(64 ** _ID_COUNTER), arrow_row_ids(n - 64 ** _ID_COUNTER)])
    prefix = os.urandom(_ID_WIDTH - _ID_COUNTER).translate(_ID_CHARS)
    buf = bytearray(_ID_WIDTH * n)
    for k, ch in enumerate(prefix):
        buf[k::_ID_WIDTH] = bytes([ch]) * n
    for digit in range(_ID_COUNTER):  # digit 0 is the last character
        step = 64 ** digit
        symbols = _ID_ALPHABET[: -(-n // step)]  # only the symbols this many rows reach
        cycle = b"".join(bytes([c]) * min(step, n) for c in symbols)
        column = (cycle * -(-n // len(cycle)))[:n]
        buf[_ID_WIDTH - 1 - digit :: _ID_WIDTH] = column
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(_ID_WIDTH), n, [None, pa.py_buffer(buf)])
    return fixed.cast(pa.binary()).cast(pa.string())


def flatten_structs(data: pa.Table, naming: SnakeCaseNaming, table_name: str) -> pa.Table:
    """Names normalized and struct columns flattened into `parent__child` columns, recursively."""
    arrays: list[pa.ChunkedArray] = []
    names: list[str] = []

    def add(name: str, column: pa.ChunkedArray) -> None:
        if pa.types.is_struct(column.type) and column.type.num_fields:
            # a null struct makes its children null (flatten merges the parent's validity)
            children = [c.flatten() for c in column.chunks]
            for i in range(column.type.num_fields):
                field = column.type.field(i)
                add(naming.normalize_path(name, naming.normalize_identifier(field.name)),
                    pa.chunked_array([parts[i] for parts in children], field.type))
            return
        names.append(name)
        arrays.append(column)

    for name, column in zip(data.column_names, data.columns, strict=True):
        add(naming.normalize_identifier(name), column)
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SchemaError(f"table {table_name!r}: Arrow columns collide after normalization: {dupes}")
    return pa.Table.from_arrays(arrays, names=names) if arrays else pa.table({})


def _is_nested(t: pa.DataType) -> bool:
    return (pa.types.is_struct(t) or pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t)
            or pa.types.is_fixed_size_list(t))


class ArrowNormalizer:
    def __init__(self, schema: Schema, load_id: str, pages: TablePageNormalizer) -> None:
        self.schema = schema
        self.load_id = load_id
        self.pages = pages

    def normalize_file(self, path: Path, pool: WriterPool) -> None:
        table_name = path.name.split(".", 1)[0]
        with pa.memory_map(str(path)) as source:
            data = pa.ipc.open_file(source).read_all()
            # a big table in slices (zero-copy views of the mapped file): memory stays per slice
            for start in range(0, max(len(data), 1), SLICE_ROWS):
                self._normalize_slice(table_name, data.slice(start, SLICE_ROWS), pool)

    def _normalize_slice(self, table_name: str, data: pa.Table, pool: WriterPool) -> None:
        data = flatten_structs(data, self.schema.naming, table_name)
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
        wanted = [c for c in table.columns.values() if c.data_type is not None]
        arrays: list[pa.Array | pa.ChunkedArray] = []
        nested: dict[str, pa.ChunkedArray] = {}  # the original columns, for the row-wise formats
        for col in wanted:
            target = arrow_type(col)
            if col.name == LOAD_ID_COL:
                arrays.append(pa.repeat(pa.scalar(self.load_id, pa.string()), n))
            elif col.name == ROW_ID_COL:
                arrays.append(arrow_row_ids(n))
            elif col.name in data.column_names:
                column = data.column(col.name)
                if _is_nested(column.type) and col.data_type in ("json", "text"):
                    nested[col.name] = column
                    arrays.append(json_text(column))
                    continue
                try:
                    arrays.append(pc.cast(column, target))
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
            columns = {name: (nested[name] if name in nested and table.columns[name].data_type == "json"
                              else out.column(name)).to_pylist() for name in out.column_names}
            pool.write(table, columns, n)
