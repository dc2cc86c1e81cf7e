"""JSON lines load files (gzip, since they are made to travel): one object per row, nulls kept.

Values: Decimal as a string, bytes as hex, datetimes as ISO 8601 (UTC offset for aware ones),
json columns as nested JSON."""

from __future__ import annotations

import gzip
from decimal import Decimal
from typing import Any

import orjson

from shipload.writers.base import Columns, FileWriter


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


class JsonlWriter(FileWriter):
    file_format = "jsonl"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        level = int(self.options.get("jsonl_compression_level", 1))
        self._raw = open(self.path, "wb")
        self._out = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=level) if level else self._raw
        self._names = [c.name for c in self.columns]

    def write(self, columns: Columns, n: int) -> None:
        names = self._names
        none = [None] * n
        cols = [columns.get(name, none) for name in names]
        dumps = orjson.dumps
        lines = [dumps(dict(zip(names, row, strict=False)), default=_default) for row in zip(*cols, strict=False)]
        lines.append(b"")
        self._out.write(b"\n".join(lines))

    def size(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()
