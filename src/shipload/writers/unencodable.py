"""Text that UTF-8 cannot encode (a lone surrogate such as ``"\\ud800"``, left by a bad decode or
a JSON ``\\ud800`` escape) is refused, naming table, column, row and the character: a replacement
character would change the data without anyone noticing. Writers do not check each value; when
encoding fails, the page is searched once for the culprit."""

from __future__ import annotations

from typing import Any

from shipload.exceptions import UnstorableValueError
from shipload.schema.schema import ROW_ID_COL

Columns = dict[str, list[Any]]


def _bad_char(value: Any) -> str | None:
    """The first character of `value` (or of any text nested in it) that UTF-8 cannot encode."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return value[exc.start]
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            found = _bad_char(k) or _bad_char(v)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for v in value:
            found = _bad_char(v)
            if found:
                return found
    return None


def unencodable_error(table: str, columns: Columns) -> UnstorableValueError | None:
    """The error for the first value in `columns` that cannot be encoded, or None if all can."""
    ids = columns.get(ROW_ID_COL)
    for name, values in columns.items():
        for i, value in enumerate(values):
            if _bad_char(value) is not None:
                row = f"row {i + 1} of its page" + (f", {ROW_ID_COL}={ids[i]!r}" if ids else "")
                return value_error(table, name, value, row)
    return None


def value_error(table: str, column: str, value: Any, row: str) -> UnstorableValueError:
    """The error for `value` (which holds text UTF-8 cannot encode) at `row` of `table`.`column`."""
    char = _bad_char(value) or "?"
    shown = value.encode("utf-8", "backslashreplace").decode("ascii", "replace") if isinstance(value, str) else "..."
    return UnstorableValueError(
        table, column, shown,
        f"it holds the lone surrogate U+{ord(char):04X} ({row}), which is not text UTF-8 can encode; "
        "fix how the text was decoded, or replace it, e.g. "
        "value.encode('utf-8', 'surrogatepass').decode('utf-8', 'replace')",
    )
