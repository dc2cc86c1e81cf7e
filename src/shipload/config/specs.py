"""Configuration specs: dataclasses whose fields are resolved from providers.

A field listed in `SECRET_FIELDS` is never read from config.toml and never shown by repr/str."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar
from urllib.parse import quote

from shipload.config.connection_string import SECRET_QUERY_KEYS, parse_connection_string
from shipload.exceptions import ConfigError

REDACTED = "***"


@dataclasses.dataclass
class BaseSpec:
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ()
    REQUIRED_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            parts.append(f"{f.name}={self.shown_value(f.name, getattr(self, f.name))}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__

    def shown_value(self, name: str, value: Any) -> str:
        """How a field shows in repr/str: secrets as ***."""
        return REDACTED if name in self.SECRET_FIELDS and value is not None else repr(value)

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
        return parse_connection_string(value, cls.SCHEMES, cls.__name__)

    def secret_values(self) -> list[str]:
        query = self.query or {}
        return super().secret_values() + [str(query[k]) for k in SECRET_QUERY_KEYS if query.get(k)]

    def shown_value(self, name: str, value: Any) -> str:
        if name == "query" and isinstance(value, dict):
            value = {k: (REDACTED if k in SECRET_QUERY_KEYS else v) for k, v in value.items()}
        return super().shown_value(name, value)

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
