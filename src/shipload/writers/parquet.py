"""Parquet load files: one record batch per page, Arrow types from the schema (timestamps as UTC
microseconds, decimals with the column's precision, json as text; with option
`parquet_json_logical_type` json columns carry parquet's JSON logical type, which Redshift's COPY
SERIALIZETOJSON loads into SUPER as objects)."""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from shipload.schema.arrow import arrow_type
from shipload.schema.schema import ROW_ID_COL, Column
from shipload.writers.base import Columns, FileWriter


def _json_text(values: list[Any]) -> list[str | None]:
    dumps = orjson.dumps
    return [None if v is None else dumps(v, default=str).decode("utf-8") for v in values]


#: uncompressed bytes per row group of an Arrow input: a reader (DuckDB under its memory_limit) holds
#: one row group per thread, so groups stay this small however big the table handed in
ROW_GROUP_BYTES = 16 * 1024 * 1024


def _row_group_rows(table: pa.Table) -> int:
    if table.num_rows == 0:
        return 1
    per_row = max(1, table.nbytes // table.num_rows)
    return max(1, min(table.num_rows, ROW_GROUP_BYTES // per_row))


def _dictionary_columns(columns: list[Column]) -> list[str]:
    """Columns worth dictionary encoding: text and json (repeated values are common), not the row
    ids (unique by construction) nor numbers and times (mostly distinct: the encoder tries a
    dictionary, then falls back, which costs more than the whole plain write)."""
    return [c.name for c in columns if c.data_type in ("text", "json") and c.name != ROW_ID_COL]


class ParquetWriter(FileWriter):
    file_format = "parquet"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        json_type = pa.json_() if self.options.get("parquet_json_logical_type") else None
        self.schema = pa.schema([
            pa.field(c.name, json_type if json_type is not None and c.data_type == "json" else arrow_type(c), nullable=True)
            for c in self.columns
        ])
        self._sink = pa.OSFile(str(self.path), "wb")
        self._writer = pq.ParquetWriter(
            self._sink, self.schema, compression=self.options.get("parquet_compression", "snappy"),
            use_dictionary=_dictionary_columns(self.columns), write_statistics=False,
        )

    def write(self, columns: Columns, n: int) -> None:
        arrays = []
        for col, field in zip(self.columns, self.schema, strict=False):
            values = columns.get(col.name)
            if values is None:
                arrays.append(pa.nulls(n, field.type))
                continue
            if col.data_type == "json":
                values = _json_text(values)
            arrays.append(pa.array(values, type=field.type, size=n))
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))

    def write_arrow(self, table: pa.Table) -> None:
        data = table.select(self.schema.names).cast(self.schema)
        self._writer.write_table(data, row_group_size=_row_group_rows(data))

    def size(self) -> int:
        return self._sink.tell()

    def close(self) -> None:
        self._writer.close()
        self._sink.close()
