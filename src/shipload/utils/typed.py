"""State values keep their Python types through JSON: datetimes, dates, times, Decimals and bytes
are written as ``{"__sl_type": ..., "v": ...}`` and read back as the same type."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

_TAG = "__sl_type"


def to_tagged(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: to_tagged(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_tagged(v) for v in value]
    if isinstance(value, dt.datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {_TAG: "time", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {_TAG: "decimal", "v": str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {_TAG: "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    return value


_READERS = {
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "decimal": Decimal,
    "bytes": base64.b64decode,
}


def from_tagged(value: Any) -> Any:
    if isinstance(value, dict):
        tag = value.get(_TAG)
        if tag in _READERS and len(value) == 2:
            return _READERS[tag](value["v"])
        return {k: from_tagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_tagged(v) for v in value]
    return value
