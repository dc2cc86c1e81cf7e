"""Resolve a spec's fields from providers, most specific section first, pipeline name first.

For spec sections ``("destination", "postgres", "credentials")``, field ``host`` and pipeline
``p``, each provider is asked (in priority order) for, in turn::

    p.destination.postgres.credentials.host, p.destination.postgres.host, p.destination.host, p.host
    destination.postgres.credentials.host, destination.postgres.host, destination.host, host

and at each section path also for a whole-spec string (``destination.postgres.credentials =
"postgresql://..."``) that the spec parses. Secret fields skip config.toml."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from shipload.config.providers import MISSING, Provider, default_providers
from shipload.config.specs import BaseSpec
from shipload.exceptions import ConfigError, ConfigFieldMissingError

S = TypeVar("S", bound=BaseSpec)


def _candidate_sections(sections: tuple[str, ...], pipeline_name: str | None) -> list[tuple[str, ...]]:
    prefixes: list[tuple[str, ...]] = [(pipeline_name,)] if pipeline_name else []
    prefixes.append(())
    out = []
    for prefix in prefixes:
        for k in range(len(sections), -1, -1):
            out.append(prefix + sections[:k])
    return out


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    target = annotation
    if isinstance(annotation, str):
        target = {"int": int, "bool": bool, "str": str, "float": float}.get(annotation.split("|")[0].strip(), str)
    origin = typing.get_origin(target)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(target) if a is not type(None)]
        target = args[0] if args else str
    if target is bool and isinstance(value, str):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected true or false")
    if target in (int, float) and isinstance(value, str):
        try:
            return target(value)
        except ValueError:
            raise ConfigError(f"{where}: expected a number") from None
    if typing.get_origin(target) is dict and isinstance(value, str):
        raise ConfigError(f"{where}: expected a table of values")
    return value


def resolve_spec(
    spec_cls: type[S],
    sections: tuple[str, ...],
    pipeline_name: str | None = None,
    explicit: Any = None,
    providers: list[Provider] | None = None,
) -> S:
    """An instance of `spec_cls` from explicit values (dict, spec, or native string) then providers."""
    if isinstance(explicit, spec_cls):
        return explicit
    given: dict[str, Any] = {}
    if isinstance(explicit, str):
        given = spec_cls.parse_native(explicit)
    elif isinstance(explicit, dict):
        given = dict(explicit)
    elif explicit is not None:
        raise ConfigError(f"{spec_cls.__name__}: cannot use a {type(explicit).__name__} as configuration")
    providers = providers if providers is not None else default_providers()
    hints = typing.get_type_hints(spec_cls)
    candidates = _candidate_sections(sections, pipeline_name)
    values: dict[str, Any] = {}
    tried: dict[str, list[str]] = {}
    native_cache: dict[tuple[int, tuple[str, ...]], dict[str, Any] | None] = {}

    def native_at(i: int, provider: Provider, path: tuple[str, ...]) -> dict[str, Any] | None:
        key = (i, path)
        if key not in native_cache:
            raw = provider.get(path)
            native_cache[key] = spec_cls.parse_native(raw) if isinstance(raw, str) else None
        return native_cache[key]

    for f in dataclasses.fields(spec_cls):
        if f.name in given:
            values[f.name] = given[f.name]
            continue
        is_secret = f.name in spec_cls.SECRET_FIELDS
        tried[f.name] = []
        found = MISSING
        for i, provider in enumerate(providers):
            if is_secret and not provider.holds_secrets:
                continue
            for section in candidates:
                path = section + (f.name,)
                if not provider.accepts(path):
                    continue
                tried[f.name].append(provider.describe(path))
                raw = provider.get(path)
                if raw is not MISSING and not isinstance(raw, dict) or (raw is not MISSING and f.name == "query"):
                    found = _coerce(raw, hints.get(f.name, str), provider.describe(path))
                    break
                if sections and section[-len(sections):] == sections:
                    native = native_at(i, provider, section)
                    if native and f.name in native:
                        found = native[f.name]
                        break
            if found is not MISSING:
                break
        if found is not MISSING:
            values[f.name] = found
    missing = [name for name in spec_cls.REQUIRED_FIELDS if values.get(name) in (None, "")]
    if missing:
        name = missing[0]
        raise ConfigFieldMissingError(spec_cls.__name__, name, tried.get(name, ["(given explicitly)"]))
    return spec_cls(**values)
