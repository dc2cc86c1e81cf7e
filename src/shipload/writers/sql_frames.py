"""Framed SQL job files: a header line, then frames of SQL text, each preceded by its byte length.

A frame never has to be found by scanning for a separator, so string literals may hold any
character (newlines, semicolons, comment markers) without confusing the reader::

    -- shipload <kind> 1 {"columns": [...]}
    -- frame 1234
    <1234 bytes of SQL>
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from shipload.exceptions import TerminalError

MAGIC = b"-- shipload "
FRAME = b"-- frame "


def write_header(out: BinaryIO, kind: str, meta: dict[str, Any]) -> None:
    out.write(MAGIC + kind.encode() + b" 1 " + orjson.dumps(meta) + b"\n")


def write_frame(out: BinaryIO, body: bytes) -> None:
    out.write(FRAME + str(len(body)).encode() + b"\n" + body + b"\n")


#: width of the length a streamed frame's header reserves (zero-padded; read like any other length)
_STREAMED_WIDTH = 12


def begin_frame(out: Any) -> int:
    """Start a frame whose body is written in pieces; returns where the body starts (for `end_frame`).
    `out` must be seekable: the header's length is filled in when the frame ends."""
    out.write(FRAME + b"0" * _STREAMED_WIDTH + b"\n")
    return out.tell()


def end_frame(out: Any, body_start: int) -> None:
    """Finish a frame begun with `begin_frame`: write its body's length into the header."""
    end = out.tell()
    out.seek(body_start - 1 - _STREAMED_WIDTH)
    out.write(str(end - body_start).zfill(_STREAMED_WIDTH).encode())
    out.seek(end)
    out.write(b"\n")


def read_frames(
    path: Path, prefix_for: Callable[[dict[str, Any]], str] | None = None,
) -> tuple[str, dict[str, Any], Iterator[str]]:
    """(kind, header metadata, iterator of frame texts) of a framed file; with `prefix_for`, each text
    starts with `prefix_for(header metadata)` (an INSERT's head).

    One frame is in memory at a time, held once: the bytes read are dropped as the text is made."""
    fh = open(path, "rb")
    header = fh.readline()
    if not header.startswith(MAGIC):
        fh.close()
        raise TerminalError(f"{path.name}: not a shipload SQL job file")
    kind, _version, raw_meta = header[len(MAGIC):].split(b" ", 2)
    meta = orjson.loads(raw_meta)
    head = prefix_for(meta).encode("utf-8") if prefix_for is not None else b""

    def frames() -> Iterator[str]:
        with fh:
            while True:
                line = fh.readline()
                if not line:
                    return
                if not line.startswith(FRAME):
                    raise TerminalError(f"{path.name}: damaged SQL job file at byte {fh.tell()}")
                size = int(line[len(FRAME):])
                body = fh.read(size)
                if len(body) != size or fh.read(1) != b"\n":
                    raise TerminalError(f"{path.name}: truncated SQL job file")
                if head:
                    body = head + body
                text = body.decode("utf-8")
                del body
                yield text
                del text

    return kind.decode(), meta, frames()


def write_sql_job(path: Path, statements: list[str]) -> None:
    """A `sql` job file: statements run in order, in one transaction."""
    with open(path, "wb") as out:
        write_header(out, "sql", {})
        for sql in statements:
            write_frame(out, sql.encode("utf-8"))
