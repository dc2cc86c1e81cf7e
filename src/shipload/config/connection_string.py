"""Parse ``scheme://user:password@host:port/database?key=value`` without ever showing a secret.

`urllib.parse.urlsplit` reads an unescaped ``#``, ``/`` or ``?`` in a password as the start of
the fragment, path or query, and then fails on the port with an error that quotes the start of
the password. This parser finds the host instead: the userinfo ends at the first ``@`` after
which a plain ``host[:port][/database][?query]`` follows, so a raw password with those characters
still parses. Nothing of the input is ever quoted in an error, only which part is wrong.

Secrets in the query part (``password``, ``sslpassword``) are secrets too: `password` becomes the
password field, `sslpassword` stays a driver parameter that is redacted wherever it is shown."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote

from shipload.exceptions import ConfigError

#: query parameters that hold secrets
SECRET_QUERY_KEYS = ("password", "sslpassword")

_HOST_PART = re.compile(
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]+)?(?::(?P<port>[^/?]*))?(?P<path>/[^?]*)?(?:\?(?P<query>.*))?",
    re.DOTALL,
)
_HINT = "percent-encode special characters in the user name and password (e.g. '#' as %23, '/' as %2F, '@' as %40)"


def parse_connection_string(value: str, schemes: tuple[str, ...], spec: str) -> dict[str, Any]:
    """Fields of a connection string: database, username, password, host, port and `query`."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise ConfigError(f"{spec}: a connection string starts with one of {[s + '://' for s in schemes]}")
    if scheme not in schemes:
        shown = scheme if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,20}", scheme) else "(not a scheme)"
        raise ConfigError(f"{spec}: connection string scheme must be one of {schemes}, got {shown!r}")
    userinfo, match = _split_userinfo(rest)
    if match is None or not match.group("host"):
        raise ConfigError(f"{spec}: the connection string has no valid host after '@'; {_HINT}")
    username, colon, password = userinfo.partition(":") if userinfo is not None else ("", "", "")
    port_text = match.group("port")
    if port_text is not None and not port_text.isdigit():
        raise ConfigError(f"{spec}: the port of the connection string is not a number; {_HINT}")
    out: dict[str, Any] = {
        "database": unquote((match.group("path") or "").lstrip("/")) or None,
        "username": unquote(username) or None,
        "password": unquote(password) if colon and password else None,
        "host": unquote(match.group("host")).strip("[]"),
        "port": int(port_text) if port_text else None,
    }
    query = dict(parse_qsl(match.group("query") or "", keep_blank_values=True))
    if "password" in query:
        if out["password"]:
            raise ConfigError(f"{spec}: the connection string gives a password twice (before '@' and as ?password=)")
        out["password"] = query.pop("password")
    if "connect_timeout" in query:
        timeout = query.pop("connect_timeout")
        if not timeout.isdigit():
            raise ConfigError(f"{spec}: connect_timeout in the connection string is not a number")
        out["connect_timeout"] = int(timeout)
    if "sslmode" in query:
        out["sslmode"] = query.pop("sslmode")
    if query:
        out["query"] = query
    return {k: v for k, v in out.items() if v is not None}


def _split_userinfo(rest: str) -> tuple[str | None, re.Match[str] | None]:
    """(userinfo or None, the match of what follows it)."""
    at = -1
    while True:
        at = rest.find("@", at + 1)
        if at < 0:
            break
        match = _HOST_PART.fullmatch(rest[at + 1:])
        if match is not None and match.group("host"):
            return rest[:at], match
    if "@" in rest:
        return None, None
    match = _HOST_PART.fullmatch(rest)
    return None, match
