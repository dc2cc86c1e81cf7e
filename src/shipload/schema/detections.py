"""Schema detections: the data type of a *new* column decided from what its first value looks like,
beyond its Python type. Configured per schema in ``settings.detections`` (a list of names; the
source decorator's ``detections=`` sets it); default ``["iso_timestamp"]``.

| name | a new column whose first value is | becomes |
|---|---|---|
| iso_timestamp | a str holding an ISO 8601 date and time (``2024-01-02T03:04:05Z``, ``2024-01-02 03:04``) | timestamp (with time zone when the string has an offset or ``Z``, without otherwise) |
| iso_date | a str holding an ISO 8601 date (``2024-02-29``) | date |
| timestamp | an int or float between 2000-01-01 and 2100-01-01 as unix epoch seconds | timestamp (UTC) |

Detection looks at one value per new column (not at every value), so it costs nothing per row;
the column's other values are then coerced like any value of that type (strings that do not parse,
numbers in a text column, ... go to variant columns). Existing columns never change type."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from shipload.exceptions import SchemaError

DEFAULT_DETECTIONS = ("iso_timestamp",)
SETTINGS_KEY = "detections"
_ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_EPOCH_RANGE = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01 UTC

#: (data type, timezone hint) a detection gives, or None when the value does not match
Detected = tuple[str, bool | None] | None


def parse_iso_timestamp(v: str) -> dt.datetime:
    """`datetime.fromisoformat`, with a trailing ``Z`` read as UTC (Python < 3.11 style inputs)."""
    return dt.datetime.fromisoformat(v[:-1] + "+00:00" if v.endswith(("Z", "z")) else v)


def _iso_timestamp(v: Any) -> Detected:
    if type(v) is not str or not _ISO_TIMESTAMP.match(v):
        return None
    try:
        parsed = parse_iso_timestamp(v)
    except ValueError:
        return None
    return "timestamp", (None if parsed.tzinfo is not None else False)


def _iso_date(v: Any) -> Detected:
    if type(v) is not str or not _ISO_DATE.match(v):
        return None
    try:
        dt.date.fromisoformat(v)
    except ValueError:
        return None
    return "date", None


def _epoch_timestamp(v: Any) -> Detected:
    if type(v) not in (int, float) or not _EPOCH_RANGE[0] <= v < _EPOCH_RANGE[1]:
        return None
    return "timestamp", None


DETECTIONS: dict[str, Callable[[Any], Detected]] = {
    "iso_timestamp": _iso_timestamp,
    "iso_date": _iso_date,
    "timestamp": _epoch_timestamp,
}


def detections_of(settings: dict[str, Any]) -> tuple[Callable[[Any], Detected], ...]:
    """The detection functions a schema's settings switch on, checked by name."""
    names = settings.get(SETTINGS_KEY)
    if names is None:
        names = DEFAULT_DETECTIONS
    if isinstance(names, str):
        names = [names]
    unknown = [n for n in names if n not in DETECTIONS]
    if unknown:
        raise SchemaError(f"schema settings: unknown detection(s) {unknown}; use any of {list(DETECTIONS)}")
    return tuple(DETECTIONS[n] for n in names)


def detect(detections: tuple[Callable[[Any], Detected], ...], value: Any) -> Detected:
    for fn in detections:
        found = fn(value)
        if found is not None:
            return found
    return None
