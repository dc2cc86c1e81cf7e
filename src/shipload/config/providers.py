"""Where configuration values come from, in priority order: environment, secrets.toml, config.toml.

Keys follow section paths: ``[destination.postgres.credentials] host`` in TOML is
``DESTINATION__POSTGRES__CREDENTIALS__HOST`` in the environment."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

_MISSING = object()


def project_dir() -> Path:
    return Path(os.environ.get("SHIPLOAD_PROJECT_DIR", os.getcwd()))


class Provider:
    name = "provider"
    holds_secrets = True

    def get(self, path: tuple[str, ...]) -> Any:
        raise NotImplementedError

    def accepts(self, path: tuple[str, ...]) -> bool:
        """Whether this provider is asked for `path` at all."""
        return True

    def describe(self, path: tuple[str, ...]) -> str:
        raise NotImplementedError


class EnvProvider(Provider):
    """Only section-qualified names: HOST, PORT, PASSWORD, USERNAME... are ordinary shell
    variables that mean something else, so a bare field name is never read from the environment."""

    name = "environment"

    def accepts(self, path: tuple[str, ...]) -> bool:
        return len(path) > 1

    def get(self, path: tuple[str, ...]) -> Any:
        if not self.accepts(path):
            return _MISSING
        return os.environ.get(self.key(path), _MISSING)

    @staticmethod
    def key(path: tuple[str, ...]) -> str:
        return "__".join(p.upper() for p in path)

    def describe(self, path: tuple[str, ...]) -> str:
        return f"env {self.key(path)}"


class TomlProvider(Provider):
    def __init__(self, path: Path, holds_secrets: bool) -> None:
        self.path = path
        self.name = path.name
        self.holds_secrets = holds_secrets
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            try:
                with open(self.path, "rb") as f:
                    self._data = tomllib.load(f)
            except FileNotFoundError:
                self._data = {}
        return self._data

    def get(self, path: tuple[str, ...]) -> Any:
        node: Any = self.data
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return _MISSING
            node = node[part]
        return node

    def describe(self, path: tuple[str, ...]) -> str:
        return f"{self.path.parent.name}/{self.path.name} [{'.'.join(path[:-1])}] {path[-1]}" if len(path) > 1 else (
            f"{self.path.parent.name}/{self.path.name} {path[0]}"
        )


def default_providers() -> list[Provider]:
    folder = project_dir() / ".shipload"
    return [
        EnvProvider(),
        TomlProvider(folder / "secrets.toml", holds_secrets=True),
        TomlProvider(folder / "config.toml", holds_secrets=False),
    ]


MISSING = _MISSING
