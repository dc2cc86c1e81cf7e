"""Arrow types <-> shipload data types (both ways), used by the parquet writer and Arrow input."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from shipload.schema.schema import Column

DEFAULT_DECIMAL = (38, 9)
DEFAULT_WEI = (38, 0)


def arrow_type(col: Column) -> pa.DataType:
    """The Arrow type a column's values are written with."""
    t = col.data_type
    if t == "text":
        return pa.string()
    if t == "bigint":
        return pa.int64()
    if t == "double":
        return pa.float64()
    if t == "bool":
        return pa.bool_()
    if t in ("decimal", "wei"):
        p, s = DEFAULT_DECIMAL if t == "decimal" else DEFAULT_WEI
        return pa.decimal128(col.precision or p, col.scale if col.scale is not None else s)
    if t == "timestamp":
        return pa.timestamp("us", tz=None if col.timezone is False else "UTC")
    if t == "date":
        return pa.date32()
    if t == "time":
        return pa.time64("us")
    if t == "binary":
        return pa.binary()
    if t == "json":
        return pa.string()
    raise ValueError(f"column {col.name!r} has no data type")


def arrow_field_to_column(field: pa.Field) -> dict[str, Any]:
    """Column hint dict inferred from an Arrow field."""
    t = field.type
    out: dict[str, Any] = {"name": field.name, "nullable": field.nullable}
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        out["data_type"] = "text"
    elif pa.types.is_boolean(t):
        out["data_type"] = "bool"
    elif pa.types.is_integer(t):
        out["data_type"] = "bigint"
    elif pa.types.is_floating(t):
        out["data_type"] = "double"
    elif pa.types.is_decimal(t):
        out.update(data_type="decimal", precision=t.precision, scale=t.scale)
    elif pa.types.is_timestamp(t):
        out.update(data_type="timestamp", timezone=t.tz is not None)
    elif pa.types.is_date(t):
        out["data_type"] = "date"
    elif pa.types.is_time(t):
        out["data_type"] = "time"
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        out["data_type"] = "binary"
    elif (pa.types.is_struct(t) or pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t)
          or pa.types.is_fixed_size_list(t)):
        out["data_type"] = "json"
    elif pa.types.is_null(t):
        out["data_type"] = None
    else:
        out["data_type"] = "text"
    return out
