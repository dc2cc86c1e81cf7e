"""JSON lines load files (gzip, since they are made to travel): one object per row, nulls kept.

Values: Decimal as a string, bytes as hex, datetimes as ISO 8601 (UTC offset for aware ones),
json columns as nested JSON. Compression (ISA-L at levels 1-3, zlib above: utils/gzip_stream.py)
runs on a background thread that releases the GIL, so serializing the next page and compressing the
last one overlap on a second core; option `jsonl_compression_level` (default 1, 0 for plain files)."""

from __future__ import annotations

import os
import queue
import threading
from decimal import Decimal
from typing import Any

import orjson

from shipload.utils.gzip_stream import gzip_compressor
from shipload.writers.base import Columns, FileWriter

_PENDING_CHUNKS = 4


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


class _Compressor(threading.Thread):
    """Compresses and writes chunks in order; at most a few chunks wait, so memory stays bounded."""

    def __init__(self, raw: Any, level: int) -> None:
        super().__init__(daemon=True)
        self.raw = raw
        self.deflate = gzip_compressor(level)
        self.chunks: queue.Queue[bytes | None] = queue.Queue(_PENDING_CHUNKS)
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            while (chunk := self.chunks.get()) is not None:
                self.raw.write(self.deflate.compress(chunk))
            self.raw.write(self.deflate.flush())
        except BaseException as exc:  # reported by the writer thread on the next call
            self.error = exc

    def put(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.chunks.put(chunk)

    def finish(self) -> None:
        self.chunks.put(None)
        self.join()
        if self.error is not None:
            raise self.error


class JsonlWriter(FileWriter):
    file_format = "jsonl"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        level = int(self.options.get("jsonl_compression_level", os.environ.get("SHIPLOAD_JSONL_LEVEL", 1)))
        if not 0 <= level <= 9:
            raise ValueError(f"jsonl_compression_level must be 0 (plain files) to 9, got {level}")
        self._raw = open(self.path, "wb")
        self._compressor = _Compressor(self._raw, level) if level else None
        self._names = [c.name for c in self.columns]
        self._written = 0

    def write(self, columns: Columns, n: int) -> None:
        names = self._names
        none = [None] * n
        cols = [columns.get(name, none) for name in names]
        dumps = orjson.dumps
        lines = [dumps(dict(zip(names, row, strict=False)), default=_default) for row in zip(*cols, strict=False)]
        lines.append(b"")
        chunk = b"\n".join(lines)
        self._written += len(chunk)
        if self._compressor is not None:
            self._compressor.put(chunk)
        else:
            self._raw.write(chunk)

    def size(self) -> int:
        """Bytes before compression (the rotation limit is about the data a file holds)."""
        return self._written

    def close(self) -> None:
        try:
            if self._compressor is not None:
                self._compressor.finish()
        finally:
            self._raw.close()
