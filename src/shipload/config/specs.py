"""Configuration specs: dataclasses whose fields are resolved from providers.

A field listed in `SECRET_FIELDS` is never read from config.toml and never shown by repr/str."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from shipload.exceptions import ConfigError

REDACTED = "***"


@dataclasses.dataclass
class BaseSpec:
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ()
    REQUIRED_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            shown = REDACTED if f.name in self.SECRET_FIELDS and value is not None else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__

    @classmethod
    def parse_native(cls, value: str) -> dict[str, Any]:
        """Fields from a one-string form (a connection string); specs without one refuse."""
        raise ConfigError(f"{cls.__name__} cannot be given as one string")

    def secret_values(self) -> list[str]:
        return [str(getattr(self, f)) for f in self.SECRET_FIELDS if getattr(self, f, None)]


@dataclasses.dataclass(repr=False)
class ConnectionStringCredentials(BaseSpec):
    """database, username, password, host, port plus driver parameters in `query`."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("password",)
    REQUIRED_FIELDS: ClassVar[tuple[str, ...]] = ("database", "username", "password", "host")
    SCHEMES: ClassVar[tuple[str, ...]] = ("postgresql", "postgres")
    DEFAULT_PORT: ClassVar[int] = 5432

    database: str | None = None
    username: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    connect_timeout: int = 15
    sslmode: str | None = None
    query: dict[str, str] | None = None

    @classmethod
    def parse_native(cls, value: str) -> dict[str, Any]:
        parts = urlsplit(value)
        if parts.scheme not in cls.SCHEMES:
            raise ConfigError(
                f"{cls.__name__}: connection string scheme must be one of {cls.SCHEMES}, got {parts.scheme!r}"
            )
        out: dict[str, Any] = {
            "database": unquote(parts.path.lstrip("/")) or None,
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "host": parts.hostname,
            "port": parts.port,
        }
        query = dict(parse_qsl(parts.query))
        if "connect_timeout" in query:
            out["connect_timeout"] = int(query.pop("connect_timeout"))
        if "sslmode" in query:
            out["sslmode"] = query.pop("sslmode")
        if query:
            out["query"] = query
        return {k: v for k, v in out.items() if v is not None}

    def to_url(self, scheme: str = "postgresql", hide_password: bool = True) -> str:
        pw = REDACTED if hide_password else quote(self.password or "", safe="")
        user = quote(self.username or "", safe="")
        return f"{scheme}://{user}:{pw}@{self.host}:{self.port or self.DEFAULT_PORT}/{quote(self.database or '', safe='')}"

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for psycopg2.connect (libpq parameters)."""
        kwargs: dict[str, Any] = {
            "dbname": self.database, "user": self.username, "password": self.password, "host": self.host,
            "port": int(self.port or self.DEFAULT_PORT), "connect_timeout": int(self.connect_timeout),
        }
        if self.sslmode:
            kwargs["sslmode"] = self.sslmode
        kwargs.update(self.query or {})
        return kwargs
