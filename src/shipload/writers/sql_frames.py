"""Framed SQL job files: a header line, then frames of SQL text, each preceded by its byte length.

A frame never has to be found by scanning for a separator, so string literals may hold any
character (newlines, semicolons, comment markers) without confusing the reader::

    -- shipload <kind> 1 {"columns": [...]}
    -- frame 1234
    <1234 bytes of SQL>
"""

from __future__ import annotations

from collections.abc import Iterator
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


def read_frames(path: Path) -> tuple[str, dict[str, Any], Iterator[str]]:
    """(kind, header metadata, iterator of frame texts) of a framed file."""
    fh = open(path, "rb")
    header = fh.readline()
    if not header.startswith(MAGIC):
        fh.close()
        raise TerminalError(f"{path.name}: not a shipload SQL job file")
    kind, _version, meta = header[len(MAGIC):].split(b" ", 2)

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
                yield body.decode("utf-8")

    return kind.decode(), orjson.loads(meta), frames()


def write_sql_job(path: Path, statements: list[str]) -> None:
    """A `sql` job file: statements run in order, in one transaction."""
    with open(path, "wb") as out:
        write_header(out, "sql", {})
        for sql in statements:
            write_frame(out, sql.encode("utf-8"))
