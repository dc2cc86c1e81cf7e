"""JSON text for nested Arrow columns (lists, maps, structs inside them), built column by column
with Arrow compute kernels: no Python object per value.

Numbers are written as Arrow formats them (decimals exactly, floats shortest round-trip; NaN and
infinities as null, which JSON has no literal for), strings JSON-escaped, timestamps, dates and
times as ISO 8601 strings, binary as base64 is not supported column-wise: a column holding a type
this module does not know (or a string with a control character other than newline, carriage return
and tab) is encoded value by value with orjson instead, so the text is always valid JSON."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


class _NotColumnar(Exception):
    """This array needs the value-by-value encoder."""


def json_text(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A string array of JSON texts, one per value; a null value stays null (SQL NULL, not `null`)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    try:
        text = _encode(array)
    except _NotColumnar:
        return _by_value(array)
    return pc.if_else(array.is_null(), pa.scalar(None, pa.string()), text)


def _by_value(array: pa.Array) -> pa.Array:
    import orjson

    dumps = orjson.dumps
    return pa.array([None if v is None else dumps(v, default=str).decode("utf-8") for v in array.to_pylist()],
                    pa.string())


_NULL = pa.scalar("null", pa.string())


def _wrap(text: pa.Array, left: str, right: str) -> pa.Array:
    return pc.binary_join_element_wise(left, text, right, "")


def _or_null(array: pa.Array, text: pa.Array) -> pa.Array:
    """`text`, with the JSON literal null where `array` is null."""
    if array.null_count == 0:
        return text
    return pc.if_else(array.is_null(), _NULL, pc.fill_null(text, ""))


def _quote_strings(text: pa.Array) -> pa.Array:
    if pc.any(pc.match_substring_regex(text, "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]")).as_py():
        raise _NotColumnar
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = pc.replace_substring(text, raw, escaped)
    return _wrap(text, '"', '"')


def _encode(array: pa.Array) -> pa.Array:
    """JSON text of every slot (null slots may hold anything: callers mask them)."""
    t = array.type
    if pa.types.is_dictionary(t):
        return _encode(array.dictionary_decode())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _or_null(array, _quote_strings(array.cast(pa.string())))
    if pa.types.is_boolean(t):
        return pc.if_else(array, pa.scalar("true"), pa.scalar("false")).fill_null("null")
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return _or_null(array, array.cast(pa.string()))
    if pa.types.is_floating(t):
        finite = pc.is_finite(array)
        return pc.if_else(pc.fill_null(finite, False), array.cast(pa.string()), _NULL)
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
        text = pc.replace_substring(array.cast(pa.string()), " ", "T", max_replacements=1)
        return _or_null(array, _wrap(text, '"', '"'))
    if pa.types.is_null(t):
        return pa.array(["null"] * len(array), pa.string()) if len(array) < 2 else pc.fill_null(array.cast(pa.string()), "null")
    if pa.types.is_struct(t):
        parts = []
        for i in range(t.num_fields):
            key = _quote_strings(pa.array([t.field(i).name], pa.string()))[0].as_py() + ":"
            parts.append(pc.binary_join_element_wise(key, _encode(array.field(i)), ""))
        body = pc.binary_join_element_wise(*parts, ",") if parts else pa.array([""] * len(array), pa.string())
        return _or_null(array, _wrap(body, "{", "}"))
    if pa.types.is_map(t):
        keys = _encode(array.keys.cast(pa.string()) if not pa.types.is_string(array.keys.type) else array.keys)
        pairs = pc.binary_join_element_wise(keys, _encode(array.items), ":")
        return _or_null(array, _wrap(_join_lists(array, pairs), "{", "}"))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _or_null(array, _wrap(_join_lists(array, _encode(array.values)), "[", "]"))
    raise _NotColumnar


def _join_lists(array: Any, encoded_values: pa.Array) -> pa.Array:
    """Each list's encoded values joined by commas (`encoded_values` aligned with `array.values`)."""
    offsets = array.offsets
    cls = pa.LargeListArray if pa.types.is_large_list(array.type) else pa.ListArray
    lists = cls.from_arrays(offsets, encoded_values)
    return pc.fill_null(pc.binary_join(lists, ","), "")
