"""Shipload's portable data types and how Python values map onto them."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

DataType = Literal[
    "text", "bigint", "double", "bool", "decimal", "timestamp", "date", "time", "binary", "json", "wei"
]
DATA_TYPES: tuple[str, ...] = (
    "text", "bigint", "double", "bool", "decimal", "timestamp", "date", "time", "binary", "json", "wei"
)

#: Python type -> data type inferred for a new column. Order matters only for subclasses
#: (bool before int, datetime before date), which is why lookups go by exact type first.
PY_TYPE_TO_DATA_TYPE: dict[type, str] = {
    str: "text",
    bool: "bool",
    int: "bigint",
    float: "double",
    Decimal: "decimal",
    dt.datetime: "timestamp",
    dt.date: "date",
    dt.time: "time",
    bytes: "binary",
    bytearray: "binary",
    memoryview: "binary",
    uuid.UUID: "text",
    dict: "json",
    list: "json",
    tuple: "json",
}


def py_type_to_data_type(tp: type) -> str | None:
    """The data type a value of Python type `tp` gets in a new column (None: not storable)."""
    found = PY_TYPE_TO_DATA_TYPE.get(tp)
    if found is not None:
        return found
    for base, data_type in PY_TYPE_TO_DATA_TYPE.items():
        if issubclass(tp, base):
            return data_type
    return None


def infer_data_type(value: Any) -> str | None:
    """Data type of one value, `timestamp` for both aware and naive datetimes."""
    return py_type_to_data_type(type(value))


def is_naive_datetime(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.tzinfo is None
