"""insert_values load files: rows rendered as SQL literals by the destination's dialect, packed
into frames that each become one ``INSERT INTO <table> (<columns>) VALUES <frame>`` statement.

Frames are cut at row boundaries so that the whole statement, prefix included, stays within the
dialect's `max_statement_bytes` (counted in UTF-8 bytes). The target table is named at load time,
so the same file can load a final or a staging table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from shipload.exceptions import SchemaError, TerminalError, UnstorableValueError
from shipload.schema.schema import Column
from shipload.writers.base import Columns, FileWriter
from shipload.writers.sql_frames import begin_frame, end_frame, write_header

#: frame size when the dialect has no statement limit
DEFAULT_STATEMENT_BYTES = 16 * 1024 * 1024


def statement_prefix(dialect: Any, target: str, columns: list[str]) -> str:
    cols = ", ".join(dialect.quote_identifier(c) for c in columns)
    return f"INSERT INTO {target} ({cols}) VALUES\n"


def renderer(dialect: Any, col: Column) -> Callable[[Any], str]:
    """A function that renders one non-null value of `col` as a literal of `dialect`."""
    dt = col.data_type
    if dt == "text":
        return dialect.escape_string
    if dt == "bigint":
        return str
    if dt == "bool":
        return lambda v: "TRUE" if v else "FALSE"
    if dt == "json":
        return lambda v: dialect.json_literal(orjson.dumps(v, default=str).decode("utf-8"))
    if dt == "binary":
        return lambda v: dialect.binary_literal(bytes(v))
    if dt in ("timestamp", "date", "time"):
        return lambda v: dialect.escape_string(v.isoformat())
    return dialect.literal


def _fails(render: Callable[[Any], str], value: Any) -> bool:
    try:
        render(value)
    except SchemaError:
        return True
    return False


class InsertValuesWriter(FileWriter):
    file_format = "insert_values"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.dialect = self.options.get("dialect")
        if self.dialect is None:
            raise TerminalError("insert_values files need the destination's SQL dialect")
        names = [c.name for c in self.columns]
        limit = self.dialect.max_statement_bytes or DEFAULT_STATEMENT_BYTES
        longest_target = self.dialect.max_identifier_length * 4 + 8  # "dataset"."table", quotes doubled
        reserve = len(statement_prefix(self.dialect, "x" * longest_target, names).encode("utf-8"))
        self.budget = limit - reserve
        if self.budget < 1024:
            raise TerminalError(f"table {self.table.name!r}: column list too long for one {self.dialect.name} statement")
        self._render = [renderer(self.dialect, c) for c in self.columns]
        self._out = open(self.path, "wb")
        write_header(self._out, "insert_values", {"columns": names})
        #: where the open frame's body starts in the file (None: no frame open); rows are written as
        #: they are rendered (a page at a time), so no frame is held in memory
        self._frame_start: int | None = None
        self._frame_bytes = 0

    def write(self, columns: Columns, n: int) -> None:
        rendered: list[list[str]] = []
        for col, render in zip(self.columns, self._render, strict=False):
            values = columns.get(col.name)
            if values is None:
                rendered.append(["NULL"] * n)
            else:
                try:
                    rendered.append([("NULL" if v is None else render(v)) for v in values])
                except SchemaError as exc:
                    bad = next(v for v in values if v is not None and _fails(render, v))
                    raise UnstorableValueError(self.table.name, col.name, bad, str(exc)) from None
        budget = self.budget
        pending: list[bytes] = []  # this page's rows of the open frame
        for row in zip(*rendered, strict=False):
            line = ("(" + ",".join(row) + ")").encode("utf-8")
            size = len(line) + 2  # ",\n" separator
            if size > budget:
                raise TerminalError(
                    f"table {self.table.name!r}: one row renders to {len(line)} bytes, more than a "
                    f"{self.dialect.name} statement may hold ({budget} bytes after the INSERT prefix)"
                )
            if self._frame_bytes + size > budget:
                self._write_pending(pending)
                pending = []
                self._end_frame()
            pending.append(line)
            self._frame_bytes += size
        self._write_pending(pending)

    def _write_pending(self, lines: list[bytes]) -> None:
        if not lines:
            return
        if self._frame_start is None:
            self._frame_start = begin_frame(self._out)
        else:
            self._out.write(b",\n")
        self._out.write(b",\n".join(lines))

    def _end_frame(self) -> None:
        if self._frame_start is not None:
            end_frame(self._out, self._frame_start)
            self._frame_start = None
        self._frame_bytes = 0

    def size(self) -> int:
        return self._out.tell()

    def close(self) -> None:
        self._end_frame()
        self._out.close()
