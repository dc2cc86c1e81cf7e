"""Destination factories by name; each knows its capabilities, credentials spec and client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipload.config.resolve import resolve_spec
from shipload.destinations.base import Capabilities, JobClient
from shipload.exceptions import UnknownDestination


@dataclass
class Destination:
    """A destination as configured for one pipeline. `credentials` may be explicit or resolved."""

    name: str
    credentials: Any = None
    config: dict[str, Any] | None = None
    #: a staging destination (the filesystem) whose bucket this one loads from with COPY
    staging: Destination | None = None

    @property
    def capabilities(self) -> Capabilities:
        return _impl(self.name)["capabilities"]()

    def resolve_credentials(self, pipeline_name: str) -> Any:
        impl = _impl(self.name)
        explicit = self.credentials
        spec = impl["credentials"]()
        if self.name == "duckdb" and explicit is None:
            resolved = resolve_spec(spec, ("destination", self.name, "credentials"), pipeline_name)
            if not resolved.database:
                resolved.database = f"{pipeline_name}.duckdb"
            return resolved
        return resolve_spec(spec, ("destination", self.name, "credentials"), pipeline_name, explicit)

    def settings(self, pipeline_name: str) -> Any:
        """The destination's settings spec (`[destination.<name>]`), or None if it has none."""
        factory = _impl(self.name).get("settings")
        if factory is None:
            return None
        return resolve_spec(factory(), ("destination", self.name), pipeline_name, self.config)

    def client(self, pipeline_name: str, dataset_name: str) -> JobClient:
        impl = _impl(self.name)
        credentials = self.resolve_credentials(pipeline_name)
        if impl.get("settings") is not None:
            client = impl["client"](credentials, dataset_name, self.settings(pipeline_name))
        else:
            client = impl["client"](credentials, dataset_name)
        if self.staging is not None:
            client.attach_staging(self.staging.bucket(pipeline_name))
        return client

    def bucket(self, pipeline_name: str) -> Any:
        """The bucket of a filesystem destination (its staging role)."""
        impl = _impl(self.name)
        if "bucket" not in impl:
            raise UnknownDestination(f"destination {self.name!r} cannot be a staging destination; use 'filesystem'")
        return impl["bucket"](self.resolve_credentials(pipeline_name), self.settings(pipeline_name))

    def __repr__(self) -> str:
        return f"Destination({self.name!r})"


def _duckdb() -> dict[str, Any]:
    from shipload.destinations.duckdb import client

    return {
        "capabilities": lambda: client.CAPABILITIES,
        "credentials": lambda: client.DuckDbCredentials,
        "settings": lambda: client.DuckDbSettings,
        "client": client.DuckDbClient,
    }


def _postgres() -> dict[str, Any]:
    from shipload.destinations.postgres import client

    return {
        "capabilities": lambda: client.CAPABILITIES,
        "credentials": lambda: client.PostgresCredentials,
        "client": client.PostgresClient,
    }


def _redshift() -> dict[str, Any]:
    from shipload.destinations.redshift import client, config

    return {
        "capabilities": lambda: client.CAPABILITIES,
        "credentials": lambda: config.RedshiftCredentials,
        "settings": lambda: config.RedshiftSettings,
        "client": client.RedshiftClient,
    }


def _filesystem() -> dict[str, Any]:
    from shipload.destinations.filesystem import client, config

    return {
        "capabilities": lambda: client.CAPABILITIES,
        "credentials": lambda: config.AwsCredentials,
        "settings": lambda: config.FilesystemSettings,
        "client": client.FilesystemClient,
        "bucket": client.settings_bucket,
    }


_IMPLS = {"duckdb": _duckdb, "postgres": _postgres, "redshift": _redshift, "filesystem": _filesystem}


def _impl(name: str) -> dict[str, Any]:
    try:
        return _IMPLS[name]()
    except KeyError:
        raise UnknownDestination(f"unknown destination {name!r}; known: {sorted(_IMPLS)}") from None


def register(name: str, loader: Any) -> None:
    _IMPLS[name] = loader


def as_destination(value: Any) -> Destination:
    if isinstance(value, Destination):
        return value
    if isinstance(value, str):
        _impl(value)
        return Destination(value)
    raise UnknownDestination(f"destination must be a name or a Destination, got {type(value).__name__}")


def as_staging(destination: Destination, value: Any) -> Destination:
    """The staging destination for `destination` (only a filesystem, for destinations that COPY)."""
    staging = as_destination(value)
    if not destination.capabilities.supported_staging_file_formats:
        raise UnknownDestination(f"destination {destination.name!r} loads without staging; leave staging out")
    if staging.name != "filesystem":
        raise UnknownDestination(f"staging={staging.name!r}: the staging destination is 'filesystem' (an S3 bucket)")
    return staging
