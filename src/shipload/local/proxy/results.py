"""Result messages as Redshift sends them: SUPER columns, and long identifiers mapped back.

PostgreSQL describes a column of the `super` domain with its base type, jsonb (OID 3802), and
writes jsonb text with spaces (`{"a": 1, "b": [1, 2]}`). Redshift describes SUPER as OID 4000 and
writes compact JSON (`{"a":1,"b":[1,2]}`); drivers decide on the OID (psycopg2 hands back a str for
4000, a dict for 3802). Redshift has no jsonb, so every 3802 column on the endpoint is a SUPER.

Identifiers of 64 to 127 bytes are stored under a shorter name (see `longnames.py`); column names
in RowDescription and text values in DataRows that are such a stored name are sent as the original."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

JSONB_OID = 3802
SUPER_OID = 4000
#: name, text, varchar, char: their binary form is their text, so names map back in both formats
TEXT_OIDS = {19, 25, 1042, 1043}
_JSON_TOKEN = re.compile(r'("(?:[^"\\]|\\.)*")|\s+')


def compact_json(text: str) -> str:
    """jsonb's text form without the spaces outside strings."""
    if '"' not in text:
        return text.replace(" ", "")
    return _JSON_TOKEN.sub(lambda m: m.group(1) or "", text)


def row_description(body: bytes, rename: Callable[[str], str] | None = None) -> tuple[bytes, list[int], list[int]]:
    """A RowDescription with SUPER's OID (and names mapped back), the indexes of SUPER columns and
    those of text columns."""
    (count,) = struct.unpack("!h", body[:2])
    out = [body[:2]]
    supers: list[int] = []
    texts: list[int] = []
    pos = 2
    for n in range(count):
        end = body.index(b"\x00", pos)
        name = body[pos:end]
        if rename is not None:
            name = rename(name.decode("utf-8")).encode("utf-8")
        table_oid, attnum, type_oid, typlen, typmod, fmt = struct.unpack("!ihihih", body[end + 1 : end + 19])
        if type_oid == JSONB_OID:
            type_oid = SUPER_OID
            supers.append(n)
        elif type_oid in TEXT_OIDS:
            texts.append(n)
        out.append(name + b"\x00" + struct.pack("!ihihih", table_oid, attnum, type_oid, typlen, typmod, fmt))
        pos = end + 19
    return b"".join(out), supers, texts


def data_row(body: bytes, supers: set[int], binary: Callable[[int], bool], texts: set[int] | None = None,
             rename: Callable[[str], str] | None = None) -> bytes:
    """A DataRow with SUPER values in compact JSON (text format only) and, in text columns, names
    mapped back."""
    (count,) = struct.unpack("!h", body[:2])
    out = [body[:2]]
    pos = 2
    changed = False
    for n in range(count):
        (size,) = struct.unpack("!i", body[pos : pos + 4])
        pos += 4
        if size < 0:
            out.append(body[pos - 4 : pos])
            continue
        value = body[pos : pos + size]
        pos += size
        new = value
        if n in supers:
            if not binary(n):
                new = compact_json(value.decode("utf-8")).encode("utf-8")
        elif rename is not None and texts and n in texts and 40 <= size <= 63:  # a stand-in has 63 bytes at most
            new = rename(value.decode("utf-8", "replace")).encode("utf-8")
        if new != value:
            value, changed = new, True
        out.append(struct.pack("!i", len(value)) + value)
    return b"".join(out) if changed else body


def bind_result_formats(body: bytes) -> list[int]:
    """The result-column format codes of a Bind message ([] = all text)."""
    pos = body.index(b"\x00") + 1
    pos = body.index(b"\x00", pos) + 1
    (nfmt,) = struct.unpack("!h", body[pos : pos + 2])
    pos += 2 + 2 * nfmt
    (nparams,) = struct.unpack("!h", body[pos : pos + 2])
    pos += 2
    for _ in range(nparams):
        (size,) = struct.unpack("!i", body[pos : pos + 4])
        pos += 4 + max(size, 0)
    (nres,) = struct.unpack("!h", body[pos : pos + 2])
    pos += 2
    return list(struct.unpack(f"!{nres}h", body[pos : pos + 2 * nres]))


def format_is_binary(formats: list[int]) -> Callable[[int], bool]:
    if not formats:
        return lambda n: False
    if len(formats) == 1:
        return lambda n: formats[0] == 1
    return lambda n: n < len(formats) and formats[n] == 1
