"""Identifiers of 64 to 127 bytes: Redshift allows 127, PostgreSQL keeps 63 (and would truncate
longer names silently). The proxy stores such a name under a 63-byte stand-in (its first bytes, `_`
and 10 hex digits of its SHA-1) and maps the stand-in back wherever the client would see it:
result column names, text values in result rows (catalog queries), and error messages.

Stand-ins are deterministic, so a statement always finds the same table; they are also kept in a
file in the endpoint folder, so results are mapped back after a restart of the proxy."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import orjson

POSTGRES_MAX_IDENTIFIER = 63
_PREFIX_BYTES = POSTGRES_MAX_IDENTIFIER - 11


def stand_in(name: str) -> str:
    """The ≤63-byte name PostgreSQL stores for `name` (itself when it fits)."""
    raw = name.encode("utf-8")
    if len(raw) <= POSTGRES_MAX_IDENTIFIER:
        return name
    prefix = raw[:_PREFIX_BYTES].decode("utf-8", "ignore")  # never half a character
    return f"{prefix}_{hashlib.sha1(raw).hexdigest()[:10]}"


class LongNames:
    """The stand-ins made so far, both ways, persisted to `path` (JSON lines) when given."""

    def __init__(self, path: str | None = None) -> None:
        self.path = Path(path) if path else None
        self.originals: dict[str, str] = {}  # stand-in -> original
        self._lock = threading.Lock()
        if self.path is not None and self.path.exists():
            for line in self.path.read_bytes().splitlines():
                if line.strip():
                    short, original = orjson.loads(line)
                    self.originals[short] = original

    def short(self, name: str) -> str:
        short = stand_in(name)
        if short != name and short not in self.originals:
            with self._lock:
                self.originals[short] = name
                if self.path is not None:
                    with open(self.path, "ab") as out:
                        out.write(orjson.dumps([short, name]) + b"\n")
        return short

    def original(self, name: str) -> str:
        return self.originals.get(name, name)

    def known_long(self, value: str) -> str | None:
        """The stand-in of `value` when `value` is a long name already stored, else None."""
        short = stand_in(value)
        return short if short != value and short in self.originals else None

    def in_text(self, text: str) -> str:
        """`text` (an error message) with every stand-in replaced by its original."""
        for short, original in self.originals.items():
            if short in text:
                text = text.replace(short, original)
        return text
