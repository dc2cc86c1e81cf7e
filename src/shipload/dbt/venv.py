"""The Python environment dbt runs in: an isolated virtualenv with dbt-core and the destination's
adapter (created once, reused), or the current environment when dbt is installed there."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import venv as stdlib_venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipload.dbt.profiles import ADAPTER_PACKAGES
from shipload.dbt.results import DbtError

log = logging.getLogger("shipload.dbt")

#: dbt-core 1.11 (1.12 cannot be installed from the package index this project is built against)
DEFAULT_DBT_VERSION = "~=1.11.0"
MARKER = "shipload-dbt.json"

_CHECK = """
import json, sys
from importlib.metadata import version, PackageNotFoundError
from packaging.specifiers import SpecifierSet
want = json.loads(sys.argv[1])
try:
    ok = all(SpecifierSet(spec).contains(version(name), prereleases=True) for name, spec in want.items())
except PackageNotFoundError:
    ok = False
print("ok" if ok else "missing")
"""


@dataclass(frozen=True)
class Venv:
    """An interpreter that can run dbt. `path` is None for the current environment."""

    python: Path
    path: Path | None = None

    @classmethod
    def current(cls) -> Venv:
        return cls(Path(sys.executable))

    @property
    def is_current(self) -> bool:
        return self.path is None

    def has(self, requirements: dict[str, str]) -> bool:
        """True if every package name -> version specifier is installed in this environment."""
        try:
            done = subprocess.run([str(self.python), "-c", _CHECK, json.dumps(requirements)],
                                  capture_output=True, text=True, timeout=120)
        except OSError:
            return False
        return done.stdout.strip() == "ok"


def version_spec(dbt_version: str) -> str:
    """`"1.11.2"` -> `"==1.11.2"`; a specifier (`"~=1.11.0"`, `">=1.11,<1.12"`) is kept."""
    v = dbt_version.strip()
    return f"=={v}" if v[:1].isdigit() else v


def requirements_for(destination: str, dbt_version: str = DEFAULT_DBT_VERSION) -> dict[str, str]:
    """Packages dbt needs for `destination`: dbt-core and the adapter of the same minor version."""
    adapter = ADAPTER_PACKAGES.get(destination)
    if adapter is None:
        raise DbtError(f"dbt: no dbt adapter for destination {destination!r}; supported: {sorted(ADAPTER_PACKAGES)}")
    return {"dbt-core": version_spec(dbt_version), adapter: ""}


def _python_in(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def get_venv(pipeline: Any, dbt_version: str = DEFAULT_DBT_VERSION, venv_path: str | os.PathLike[str] | None = None,
             use_current: bool = True) -> Venv:
    """An environment with dbt-core (`dbt_version`) and the adapter for the pipeline's destination.

    With `use_current` (default) and both installed in the running environment, that one is used.
    Otherwise a virtualenv at `venv_path` (default: ``dbt/venv`` in the pipeline's working folder) is
    created and filled with pip on the first call, and reused by every later call that asks for the
    same packages."""
    requirements = requirements_for(pipeline.destination.name, dbt_version)
    if use_current and venv_path is None and Venv.current().has(requirements):
        return Venv.current()
    path = Path(venv_path) if venv_path is not None else Path(pipeline.working_dir) / "dbt" / "venv"
    if not path.is_absolute():
        path = Path(pipeline.working_dir) / path
    wanted = [name + spec for name, spec in requirements.items()]
    marker = path / MARKER
    env = Venv(_python_in(path), path)
    if marker.exists() and json.loads(marker.read_text("utf-8")).get("requirements") == wanted and env.has(requirements):
        return env
    log.info("creating the dbt environment %s with %s", path, " ".join(wanted))
    stdlib_venv.EnvBuilder(with_pip=True, clear=marker.exists()).create(path)
    done = subprocess.run([str(env.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *wanted],
                          capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise DbtError(f"dbt: could not install {' '.join(wanted)} into {path}:\n{tail}")
    marker.write_text(json.dumps({"requirements": wanted}), encoding="utf-8")
    return env
