"""Large text (a schema, a pipeline state) in system-table columns that hold a limited number of
bytes (Redshift: VARCHAR(65535)).

The text is compressed (zlib, then base64) and, when even that is over the limit, split into parts,
one row each: ``sl-part:<i>/<n>:<base64 slice>``. A single part is stored as it always was (the
base64 alone, or the plain text), so rows written by earlier versions read the same. The prefix
cannot begin a base64 text (``-`` and ``:`` are not in its alphabet) nor a JSON document."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence

from shipload.exceptions import TerminalError

PART_MARK = "sl-part:"
#: room kept for the ``sl-part:<i>/<n>:`` prefix of each part
_PREFIX_ROOM = 32


def compress_text(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def decompress_text(text: str) -> str:
    """The text of `compress_text`, or `text` itself when it is not compressed (older rows)."""
    try:
        return zlib.decompress(base64.b64decode(text, validate=True)).decode("utf-8")
    except Exception:
        return text


def to_parts(text: str, max_bytes: int | None, compress: bool = True) -> list[str]:
    """What to store, one value per row: each at most `max_bytes` bytes (None: no limit)."""
    if not compress and (max_bytes is None or len(text.encode("utf-8")) <= max_bytes):
        return [text]
    packed = compress_text(text)  # ASCII: one byte per character
    if max_bytes is None or len(packed) <= max_bytes:
        return [packed]
    size = max_bytes - _PREFIX_ROOM
    chunks = [packed[i:i + size] for i in range(0, len(packed), size)]
    return [f"{PART_MARK}{i}/{len(chunks)}:{chunk}" for i, chunk in enumerate(chunks)]


def from_parts(values: Sequence[str], what: str) -> str:
    """The text stored by `to_parts` (values in any order; a repeated part counts once)."""
    if len(values) == 1 and not values[0].startswith(PART_MARK):
        return decompress_text(values[0])
    parts: dict[int, str] = {}
    total = None
    for value in values:
        if not value.startswith(PART_MARK):
            raise TerminalError(f"{what}: a whole value stored among parts")
        head, _, chunk = value[len(PART_MARK):].partition(":")
        index, _, count = head.partition("/")
        parts[int(index)] = chunk
        total = int(count)
    if total is None or sorted(parts) != list(range(total)):
        raise TerminalError(f"{what}: {len(parts)} of {total} parts stored")
    return decompress_text("".join(parts[i] for i in range(total)))
