"""Ids: load ids (sortable time stamps), file ids and row ids generated in bulk."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from typing import Any

import orjson

_last_load_id = 0.0


def new_load_id() -> str:
    """A strictly increasing Unix time stamp with microseconds, e.g. ``1795682359.946404``."""
    global _last_load_id
    now = max(time.time(), _last_load_id + 1e-6)
    _last_load_id = now
    return f"{now:.6f}"


def new_file_id() -> str:
    return os.urandom(5).hex()


_ID_BYTES = 12  # 12 random bytes -> 16 base64 characters, no padding


def new_row_ids(count: int) -> list[str]:
    """`count` random row ids; one urandom call and one base64 pass for the whole batch."""
    if count <= 0:
        return []
    text = base64.urlsafe_b64encode(os.urandom(_ID_BYTES * count)).decode("ascii")
    width = _ID_BYTES * 4 // 3
    return [text[i : i + width] for i in range(0, width * count, width)]


class RowIdPool:
    """Hands out row ids one at a time from batches made by `new_row_ids`."""

    __slots__ = ("_ids", "_pos")

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._pos = 0

    def take(self, count: int) -> list[str]:
        if self._pos + count > len(self._ids):
            self._ids = self._ids[self._pos :] + new_row_ids(max(4096, count))
            self._pos = 0
        out = self._ids[self._pos : self._pos + count]
        self._pos += count
        return out

    def next(self) -> str:
        if self._pos >= len(self._ids):
            self._ids = new_row_ids(4096)
            self._pos = 0
        value = self._ids[self._pos]
        self._pos += 1
        return value


def content_row_ids(items: list[Any]) -> list[str]:
    """Row ids that are hashes of the items' content (key order ignored), for scd2 versions."""
    dumps, opts = orjson.dumps, orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    out = []
    for item in items:
        digest = hashlib.blake2b(dumps(item, option=opts, default=str), digest_size=_ID_BYTES).digest()
        out.append(base64.urlsafe_b64encode(digest).decode("ascii"))
    return out
