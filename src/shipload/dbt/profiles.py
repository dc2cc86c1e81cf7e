"""dbt profiles generated from a pipeline's own resolved credentials.

The profiles.yml written here holds no value at all, only `env_var()` references: the values travel to
the dbt process in its environment. Secret fields use dbt's ``DBT_ENV_SECRET_`` prefix, which dbt
allows only in profiles and scrubs from its logs and artifacts. Which credentials field fills which
profile key is data (`PROFILE_KEYS`), one row per destination."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shipload.dbt.results import DbtError
from shipload.utils.files import atomic_write

#: the profile name every generated profiles.yml declares (passed to dbt with DBT_PROFILE, so the
#: package's own `profile:` in dbt_project.yml does not matter)
PROFILE_NAME = "shipload"

#: dbt adapter package of each destination
ADAPTER_PACKAGES: dict[str, str] = {"redshift": "dbt-redshift", "postgres": "dbt-postgres", "duckdb": "dbt-duckdb"}

#: per destination: dbt adapter type, constant profile keys, and profile key -> credentials field
PROFILE_KEYS: dict[str, dict[str, Any]] = {
    "postgres": {
        "type": "postgres",
        "constants": {"keepalives_idle": 0},
        "fields": {"host": "host", "port": "port", "user": "username", "password": "password",
                   "dbname": "database", "connect_timeout": "connect_timeout", "sslmode": "sslmode"},
    },
    "redshift": {
        "type": "redshift",
        "constants": {"method": "database"},
        "fields": {"host": "host", "port": "port", "user": "username", "password": "password",
                   "dbname": "database", "connect_timeout": "connect_timeout", "sslmode": "sslmode"},
    },
    "duckdb": {"type": "duckdb", "constants": {}, "fields": {"path": "database"}},
}

#: profile keys dbt expects as numbers (env vars are text: rendered with `as_number`)
NUMERIC_KEYS = ("port", "connect_timeout")
ENV_PREFIX = "SHIPLOAD_DBT_"
SECRET_ENV_PREFIX = "DBT_ENV_SECRET_SHIPLOAD_"
SCHEMA_EXPRESSION = "{{ var('destination_dataset_name', var('source_dataset_name')) }}"


@dataclass
class DbtProfile:
    """A profile for one destination: the YAML (references only) and the values for the environment."""

    destination: str
    adapter_type: str
    profile: dict[str, Any]
    env: dict[str, str] = field(repr=False)
    secrets: list[str] = field(repr=False)

    def write(self, folder: Path) -> Path:
        """Write ``profiles.yml`` into `folder` (created); it contains no credential value."""
        path = folder / "profiles.yml"
        body = {PROFILE_NAME: {"target": self.destination, "outputs": {self.destination: self.profile}}}
        atomic_write(path, yaml.safe_dump(body, sort_keys=False))
        return path

    def __repr__(self) -> str:
        return f"DbtProfile({self.destination!r}, keys={sorted(self.profile)})"


def _reference(key: str, env_name: str) -> str:
    expr = f"env_var('{env_name}')"
    return "{{ " + expr + (" | as_number" if key in NUMERIC_KEYS else "") + " }}"


def profile_for(destination: str, credentials: Any, threads: int = 4) -> DbtProfile:
    """The profile for `destination` filled from its resolved `credentials` spec."""
    spec = PROFILE_KEYS.get(destination)
    if spec is None:
        raise DbtError(f"dbt: no dbt profile for destination {destination!r}; supported: {sorted(PROFILE_KEYS)}")
    secret_fields = set(getattr(credentials, "SECRET_FIELDS", ()))
    profile: dict[str, Any] = {"type": spec["type"], **spec["constants"]}
    env: dict[str, str] = {}
    for key, attr in spec["fields"].items():
        value = getattr(credentials, attr, None)
        if attr == "port" and value is None:
            value = getattr(credentials, "DEFAULT_PORT", None)
        if attr == "database" and destination == "duckdb" and value:
            value = os.path.abspath(value)  # dbt runs with the package as its working folder
        if value is None or value == "":
            continue
        env_name = (SECRET_ENV_PREFIX if attr in secret_fields else ENV_PREFIX) + key.upper()
        env[env_name] = str(value)
        profile[key] = _reference(key, env_name)
    profile["schema"] = SCHEMA_EXPRESSION
    profile["threads"] = int(threads)
    secrets = [str(getattr(credentials, f)) for f in secret_fields if getattr(credentials, f, None)]
    return DbtProfile(destination, spec["type"], profile, env, secrets)
