"""Text columns sized in bytes from the data, for destinations whose VARCHAR(n) counts bytes.

Rule: a column's declared size is the first of 256, 512, 1024, ... 32768, 65535 bytes that is at
least 1.25 times the longest value seen (in UTF-8 bytes); it only ever grows, and the destination
widens the column in place when it does. A value longer than the destination's limit is never cut
silently: with overflow "fail" the load stops naming table, column and row; with "truncate" the
value is cut at a character boundary to the limit and a warning counts the cuts.

The same rules apply to every text column, variant columns (``<col>__v_text``) included, whether
the data arrived as Python objects (`apply`, a page of one column) or as Arrow (`apply_arrow`,
measured in Arrow; only a column that overflows is turned into Python strings)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipload.exceptions import UnstorableValueError
from shipload.schema.schema import Column
from shipload.writers.unencodable import value_error

log = logging.getLogger("shipload.normalize")

SIZES = (256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65535)
HEADROOM = 1.25
OVERFLOW_POLICIES = ("fail", "truncate")


def arrow_row(i: int) -> str:
    """How a row of Arrow input is named in errors and warnings."""
    return f"row {i + 1} of the Arrow table"


@dataclass
class TextPolicy:
    max_bytes: int
    overflow: str = "fail"  # fail | truncate
    truncated: int = 0

    def size_for(self, longest: int) -> int:
        need = math.ceil(longest * HEADROOM)
        for size in SIZES:
            if size >= need:
                return min(size, self.max_bytes)
        return self.max_bytes

    def grow(self, col: Column, longest: int) -> None:
        """Raise `col.precision` to fit a value of `longest` bytes (it never shrinks)."""
        if longest > (col.precision or 0):
            col.precision = self.size_for(longest)

    def apply(self, table: str, col: Column, values: list[Any], row_label: Callable[[int], str]) -> list[Any]:
        """Grow `col.precision` to fit `values`; returns the values (cut ones replaced)."""
        current = col.precision or 0
        longest_chars = max((len(v) for v in values if v is not None), default=0)
        if longest_chars * 4 <= current:  # fits whatever the encoding: no byte counting needed
            return values
        longest = 0
        limit = self.max_bytes
        out = values
        for i, v in enumerate(values):
            if v is None or len(v) * 4 <= current:
                continue
            try:
                size = len(v) if v.isascii() else len(v.encode("utf-8"))
            except UnicodeEncodeError:  # a lone surrogate: the same clear error as the writers give
                raise value_error(table, col.name, v, row_label(i)) from None
            if size > limit:
                if out is values:
                    out = list(values)
                out[i] = self._overflow(table, col, v, size, row_label(i))
                size = limit
            longest = max(longest, size)
        self.grow(col, longest)
        return out

    def apply_arrow(self, table: str, col: Column, array: Any) -> Any:
        """`apply` for an Arrow string column: returns the column to write (cut where needed)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not len(array):
            return array
        longest = pc.max(pc.binary_length(array)).as_py() or 0
        if longest <= self.max_bytes:
            self.grow(col, longest)
            return array
        values = self.apply(table, col, array.to_pylist(), arrow_row)
        return pa.array(values, array.type)

    def _overflow(self, table: str, col: Column, value: str, size: int, row: str) -> str:
        """A value over the limit: refused (overflow "fail"), or cut at a character boundary."""
        limit = self.max_bytes
        if self.overflow != "truncate":
            raise UnstorableValueError(
                table, col.name, value,
                f"it is {size} bytes and a text column holds at most {limit} bytes ({row}); "
                "shorten it, store it as json, or set destination text_overflow = \"truncate\"",
            )
        self.truncated += 1
        log.warning("table %r, column %r: value of %d bytes cut to %d bytes (%s)", table, col.name, size, limit, row)
        return value.encode("utf-8")[:limit].decode("utf-8", "ignore")
