"""CSV load files for ``COPY ... FROM STDIN (FORMAT csv, HEADER true)``.

NULL is an empty unquoted field; every text value is quoted, so an empty string stays an empty
string. bytes are written as ``\\x<hex>`` (bytea input), json as JSON text, datetimes as ISO 8601.
A text value with a NUL character is refused (Postgres cannot store it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from shipload.exceptions import UnstorableValueError
from shipload.schema.schema import Column
from shipload.writers.base import Columns, FileWriter


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _renderer(table: str, col: Column) -> Callable[[Any], str]:
    dt = col.data_type
    if dt == "text":
        def text(v: str) -> str:
            if "\x00" in v:
                raise UnstorableValueError(table, col.name, v, "text with a NUL character")
            return _quote(v)
        return text
    if dt == "bool":
        return lambda v: "t" if v else "f"
    if dt == "json":
        return lambda v: _quote(orjson.dumps(v, default=str).decode("utf-8"))
    if dt == "binary":
        return lambda v: "\\x" + bytes(v).hex()
    if dt in ("timestamp", "date", "time"):
        return lambda v: v.isoformat()
    if dt == "double":
        return repr
    return str


class CsvWriter(FileWriter):
    file_format = "csv"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._render = [_renderer(self.table.name, c) for c in self.columns]
        self._out = open(self.path, "w", encoding="utf-8", newline="")
        self._out.write(",".join(_quote(c.name) for c in self.columns) + "\n")

    def write(self, columns: Columns, n: int) -> None:
        rendered: list[list[str]] = []
        for col, render in zip(self.columns, self._render, strict=False):
            values = columns.get(col.name)
            if values is None:
                rendered.append([""] * n)
            else:
                rendered.append([("" if v is None else render(v)) for v in values])
        lines = [",".join(row) for row in zip(*rendered, strict=False)]
        lines.append("")
        self._out.write("\n".join(lines))

    def size(self) -> int:
        return self._out.tell()

    def close(self) -> None:
        self._out.close()
