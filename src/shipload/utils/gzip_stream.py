"""Streaming gzip for load files: ISA-L (the `isal` package) at the fast levels, zlib otherwise.

ISA-L's levels 1-3 compress several times faster than zlib's level 1 and to smaller files (the
benchmark's JSON lines: zlib 1 makes 25 % of the input in 0.24 s, ISA-L 1 21 % in 0.05 s); the
output is ordinary gzip that any reader (Redshift's COPY ... GZIP, `gzip -d`) takes. Levels 4-9
go to zlib, which has the better ratio there. Without `isal` installed everything uses zlib."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

try:
    from isal import igzip as _igzip
    from isal import isal_zlib as _isal
except ImportError:  # an interpreter or platform without an isal wheel: zlib only
    _isal = _igzip = None

_GZIP_WBITS = 31  # a deflate stream with a gzip header and trailer
#: the levels ISA-L takes (its 0 is its fastest level, not "stored"; we never ask it for 0)
_ISAL_LEVELS = (1, 2, 3)


class Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self, mode: int = ..., /) -> bytes: ...


def gzip_compressor(level: int) -> Compressor:
    """A streaming gzip compressor at `level` (1-9): `compress(chunk)` pieces, then `flush()`."""
    if not 1 <= level <= 9:
        raise ValueError(f"gzip compression level must be 1-9, got {level!r}")
    if _isal is not None and level in _ISAL_LEVELS:
        return _isal.compressobj(level, _isal.DEFLATED, _GZIP_WBITS)
    return zlib.compressobj(level, zlib.DEFLATED, _GZIP_WBITS)


def gzip_decompressor() -> Any:
    """A streaming gzip decompressor (`decompress(chunk)`, `eof`, `unused_data`), ISA-L when present."""
    return (_isal or zlib).decompressobj(_GZIP_WBITS)


def gunzip(data: bytes) -> bytes:
    """Every member of a gzip file, decompressed (`gzip.decompress`, ISA-L's when present).

    Raises OSError (not gzip data, bad CRC) or EOFError (truncated), as `gzip.decompress` does."""
    return _igzip.decompress(data) if _igzip is not None else gzip.decompress(data)


def gzip_lines(path: Path) -> Iterator[bytes]:
    """The lines of a gzip file (newline kept), read in a stream."""
    opener = _igzip.open if _igzip is not None else gzip.open
    with opener(path, "rb") as fh:
        yield from fh
