"""Run dbt packages on a pipeline's dataset: `shipload.dbt.package(pipeline, "path").run_all()`.

See docs/dbt.md."""

from shipload.dbt.results import (
    DbtCommandFailed,
    DbtError,
    DbtNotInstalled,
    IncrementalOutOfSync,
    NodeResult,
    SourceTestsFailed,
)
from shipload.dbt.runner import DbtPackageRunner, package
from shipload.dbt.venv import DEFAULT_DBT_VERSION, Venv, get_venv

__all__ = [
    "DEFAULT_DBT_VERSION", "DbtCommandFailed", "DbtError", "DbtNotInstalled", "DbtPackageRunner", "IncrementalOutOfSync",
    "NodeResult", "SourceTestsFailed", "Venv", "get_venv", "package",
]
