"""Postgres wire-protocol messages: framing, and the few messages the proxy reads or writes."""

from __future__ import annotations

import asyncio
import struct

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608


async def read_startup(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(code, whole packet) of a startup-phase packet (no type byte)."""
    head = await reader.readexactly(4)
    (length,) = struct.unpack("!i", head)
    body = await reader.readexactly(length - 4)
    (code,) = struct.unpack("!i", body[:4])
    return code, head + body


def parse_startup(packet: bytes) -> dict[str, str]:
    parts = packet[8:].split(b"\x00")
    params: dict[str, str] = {}
    for key, value in zip(parts[0::2], parts[1::2], strict=False):
        if key:
            params[key.decode()] = value.decode()
    return params


def build_startup(params: dict[str, str]) -> bytes:
    body = struct.pack("!i", PROTOCOL_3)
    for key, value in params.items():
        body += key.encode() + b"\x00" + value.encode() + b"\x00"
    body += b"\x00"
    return struct.pack("!i", len(body) + 4) + body


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """(type byte, body) of one regular message."""
    head = await reader.readexactly(5)
    (length,) = struct.unpack("!i", head[1:])
    body = await reader.readexactly(length - 4) if length > 4 else b""
    return head[:1], body


def message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def cstring(value: str) -> bytes:
    return value.encode("utf-8") + b"\x00"


def parse_fields(body: bytes) -> dict[str, str]:
    """Fields of an ErrorResponse/NoticeResponse."""
    out: dict[str, str] = {}
    for part in body.split(b"\x00"):
        if part:
            out[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return out


def build_fields(fields: dict[str, str]) -> bytes:
    return b"".join(k.encode() + cstring(v) for k, v in fields.items()) + b"\x00"


def error_response(message_text: str, code: str = "XX000", detail: str | None = None) -> bytes:
    fields = {"S": "ERROR", "V": "ERROR", "C": code, "M": message_text}
    if detail:
        fields["D"] = detail
    return message(b"E", build_fields(fields))


def parse_parse(body: bytes) -> tuple[bytes, str, bytes]:
    """(statement name, query, parameter type section) of a Parse message."""
    name_end = body.index(b"\x00")
    query_end = body.index(b"\x00", name_end + 1)
    return body[:name_end], body[name_end + 1 : query_end].decode("utf-8"), body[query_end + 1 :]


def build_parse(name: bytes, query: str, rest: bytes) -> bytes:
    return message(b"P", name + b"\x00" + cstring(query) + rest)


def first_value(data_row: bytes) -> bytes | None:
    """The first column of a DataRow."""
    (ncols,) = struct.unpack("!h", data_row[:2])
    if ncols < 1:
        return None
    (size,) = struct.unpack("!i", data_row[2:6])
    return None if size < 0 else data_row[6 : 6 + size]
