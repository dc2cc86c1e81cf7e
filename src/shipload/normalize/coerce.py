"""Coercion of values into a column's data type: one table of converters, applied per column page.

Documented coercions (anything else goes to a variant column ``<col>__v_<type>``):

| column type | accepts as is | converts |
|---|---|---|
| text | str | int, float, Decimal, UUID -> str(v); bool -> "true"/"false" |
| bigint | int in [-2**63, 2**63) | float or Decimal with an integral value (within range) -> int |
| double | float | int with abs <= 2**53 -> float |
| decimal | Decimal fitting (precision, scale) | int fitting -> Decimal; Decimal with extra zero digits -> rounded |
| wei | int, Decimal fitting (precision, 0) | |
| bool | bool | |
| timestamp | datetime | ISO 8601 str -> datetime; int, float -> unix epoch seconds (UTC); naive values in a tz column are taken as UTC; aware values in a naive column are converted to UTC |
| date | date (not datetime) | ISO 8601 date str -> date |
| time | time | ISO 8601 time str -> time |
| binary | bytes | bytearray, memoryview -> bytes |
| json | anything | |

A value that cannot be converted keeps its own type in the variant column; out-of-range ints and
decimals that do not fit go to ``__v_text`` as their exact decimal string. None is always null.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    Context,
    Decimal,
    DecimalException,
    Inexact,
    InvalidOperation,
    Rounded,
    localcontext,
)
from typing import Any

from shipload.schema.detections import parse_iso_timestamp
from shipload.schema.schema import Column
from shipload.schema.types import py_type_to_data_type

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UTC = dt.UTC


class NoFit(Exception):
    """The value cannot be stored in the column's type."""


NATIVE: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "bigint": (int,),
    "double": (float,),
    "decimal": (Decimal,),
    "wei": (int, Decimal),
    "bool": (bool,),
    "timestamp": (dt.datetime,),
    "date": (dt.date,),
    "time": (dt.time,),
    "binary": (bytes,),
}


def _to_text(v: Any) -> str:
    if type(v) is bool:
        return "true" if v else "false"
    if isinstance(v, (int, float, Decimal, uuid.UUID)):
        return str(v)
    raise NoFit


def _to_bigint(v: Any) -> int:
    if type(v) is bool:
        raise NoFit
    if isinstance(v, int):
        if _INT64_MIN <= v <= _INT64_MAX:
            return v
        raise NoFit
    if isinstance(v, (float, Decimal)) and v == v and v not in (float("inf"), float("-inf")):
        if v == int(v) and _INT64_MIN <= int(v) <= _INT64_MAX:
            return int(v)
    raise NoFit


def _to_double(v: Any) -> float:
    if isinstance(v, int) and type(v) is not bool and abs(v) <= 2**53:
        return float(v)
    raise NoFit


def _from_iso(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    """A converter that parses ISO 8601 strings with `parse` and refuses everything else."""

    def convert(v: Any) -> Any:
        if isinstance(v, str):
            try:
                return parse(v)
            except ValueError:
                raise NoFit from None
        raise NoFit

    return convert


def _to_timestamp(v: Any) -> dt.datetime:
    """ISO 8601 text, or an int/float taken as unix epoch seconds (UTC)."""
    if isinstance(v, str):
        try:
            return parse_iso_timestamp(v)
        except ValueError:
            raise NoFit from None
    if type(v) in (int, float):
        try:
            return dt.datetime.fromtimestamp(v, _UTC)
        except (OverflowError, OSError, ValueError):
            raise NoFit from None
    raise NoFit


def _to_binary(v: Any) -> bytes:
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    raise NoFit


def _fail(v: Any) -> Any:
    raise NoFit


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": _to_text,
    "bigint": _to_bigint,
    "double": _to_double,
    "bool": _fail,
    "timestamp": _to_timestamp,
    "date": _from_iso(dt.date.fromisoformat),
    "time": _from_iso(dt.time.fromisoformat),
    "binary": _to_binary,
}


def fit_decimal(v: Any, precision: int, scale: int) -> Decimal:
    """`v` as a Decimal with at most `scale` fractional and `precision - scale` integral digits."""
    if isinstance(v, int) and type(v) is not bool:
        v = Decimal(v)
    if not isinstance(v, Decimal) or not v.is_finite():
        raise NoFit
    exp = v.as_tuple().exponent
    assert isinstance(exp, int)
    if -exp > scale:
        try:
            q = v.quantize(Decimal(1).scaleb(-scale))
        except InvalidOperation:
            raise NoFit from None
        if q != v:
            raise NoFit
        v = q
    if v.adjusted() + 1 > precision - scale:
        raise NoFit
    return v


def decimals_fit_as_they_are(values: list[Decimal], precision: int, scale: int) -> bool:
    """True when `fit_decimal` would return every one of `values` (Decimals, no None) unchanged.

    Checked per page, not per value: the largest `adjusted()` bounds the integral digits, and an
    exact sum (an inexact or rounded one, a NaN or an infinity answers False) has the smallest
    exponent of its terms, which bounds the fractional digits. False only means "look at each"."""
    if not values:
        return True
    exact = Context(prec=precision + 20, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Inexact, Rounded])
    try:
        with localcontext(exact):
            if max(map(Decimal.adjusted, values)) >= precision - scale:
                return False
            total = sum(values, Decimal(0))
    except DecimalException:
        return False
    if not total.is_finite():
        return False
    exponent = total.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -scale


def variant_of(value: Any) -> tuple[str, Any]:
    """(data type, stored value) of the variant column a misfit value goes to.

    Ints beyond 64 bits and decimals beyond (38, 9) go to a text variant as their exact string."""
    data_type = py_type_to_data_type(type(value)) or "text"
    if data_type == "bigint" and not (_INT64_MIN <= value <= _INT64_MAX):
        return "text", str(value)
    if data_type == "decimal":
        try:
            return "decimal", fit_decimal(value, 38, 9)
        except NoFit:
            return "text", str(value)
    if data_type == "binary":
        return "binary", bytes(value)
    if type(value) is uuid.UUID:
        return "text", str(value)
    if data_type == "text" and not isinstance(value, str):
        return "text", str(value)
    return data_type, value


def coerce_column(values: list[Any], col: Column) -> tuple[list[Any], dict[int, Any]]:
    """Coerce a page of one column in place; returns (values, misfits by row index)."""
    data_type = col.data_type
    assert data_type is not None
    misfits: dict[int, Any] = {}
    if data_type == "json":
        return values, misfits
    present = set(map(type, values))
    nulls = type(None) in present
    present.discard(type(None))
    native = NATIVE.get(data_type, ())
    if data_type in ("decimal", "wei"):
        p = col.precision or 38
        s = col.scale if col.scale is not None else (9 if data_type == "decimal" else 0)
        if present <= {Decimal} and decimals_fit_as_they_are([v for v in values if v is not None] if nulls else values, p, s):
            return values, misfits
        for i, v in enumerate(values):
            if v is None:
                continue
            try:
                values[i] = fit_decimal(v, p, s)
            except NoFit:
                misfits[i] = v
                values[i] = None
        return values, misfits
    if all(t in native for t in present):
        if data_type != "bigint" or not present:
            return values, misfits
        nonnull = [v for v in values if v is not None]
        if _INT64_MIN <= min(nonnull) and max(nonnull) <= _INT64_MAX:
            return values, misfits
    convert = CONVERTERS.get(data_type, _fail)
    for i, v in enumerate(values):
        if v is None:
            continue
        tv = type(v)
        if tv in native and not (data_type == "bigint" and not _INT64_MIN <= v <= _INT64_MAX):
            continue
        try:
            values[i] = convert(v)
        except NoFit:
            misfits[i] = v
            values[i] = None
    return values, misfits


def aware_to_utc(v: dt.datetime) -> dt.datetime:
    return v.astimezone(_UTC) if v.tzinfo is not None else v.replace(tzinfo=_UTC)
