"""What every destination provides: capabilities (data) and a job client (behaviour)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipload.packages.storage import JobFileName
from shipload.schema.schema import Schema


@dataclass(frozen=True)
class Capabilities:
    #: format normalize writes when no staging is used and nothing else is asked for
    preferred_loader_file_format: str
    #: formats the destination loads directly
    supported_loader_file_formats: tuple[str, ...]
    #: format written when a staging destination (S3) is used
    preferred_staging_file_format: str | None = None
    supported_staging_file_formats: tuple[str, ...] = ()
    max_identifier_length: int = 63
    #: what a resource may ask for; checked before extract (pipeline/capability_checks.py), so an
    #: unsupported disposition or strategy fails at once with what the destination supports
    supported_write_dispositions: tuple[str, ...] = ("append", "replace", "merge", "skip")
    supported_merge_strategies: tuple[str, ...] = ("delete-insert", "upsert", "scd2")
    supported_replace_strategies: tuple[str, ...] = ("truncate-and-insert", "insert-from-staging", "staging-optimized")
    #: the SQL dialect class (insert_values files are rendered with it at normalize time)
    sql_dialect: Any = None
    #: run on every normalized schema before its package is published, so before any DDL: raises
    #: SchemaError for what the destination would refuse (the package is then set aside, the
    #: pipeline's schema is not changed, and nothing blocks later runs)
    schema_check: Callable[[Schema], None] | None = None
    #: options for the file writers (e.g. parquet_json_logical_type: json columns as parquet JSON)
    writer_options: dict[str, Any] = field(default_factory=dict)


class JobClient(ABC):
    """A connection to one dataset of a destination, used by the loader for one package."""

    capabilities: Capabilities

    def __enter__(self) -> JobClient:
        self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def initialize_storage(self) -> None:
        """Create the dataset and system tables if they are missing."""

    @abstractmethod
    def update_stored_schema(self, schema: Schema, load_id: str) -> list[str]:
        """Migrate tables to `schema`; returns the statements run (empty if up to date)."""

    @abstractmethod
    def prepare_package(self, schema: Schema, load_id: str, tables: list[str]) -> None:
        """Work done once per package before jobs run (truncate for replace, staging tables)."""

    @abstractmethod
    def job_done(self, load_id: str, job: JobFileName) -> bool:
        """True if the destination already committed this job (crash after commit, before the move)."""

    @abstractmethod
    def run_job(self, schema: Schema, load_id: str, job: JobFileName, path: Path) -> None:
        """Load one file in one transaction that also records the job as done."""

    @abstractmethod
    def complete_package(self, schema: Schema, load_id: str, tables: list[str], state: dict[str, Any] | None,
                         sql_jobs: Sequence[tuple[JobFileName, Path]] = ()) -> None:
        """Follow-up work (merge, replace from staging), then the `sql_jobs` (user statements), then
        the state and the loads-table row, in one transaction: the commit point."""

    @abstractmethod
    def get_stored_state(self, pipeline_name: str) -> dict[str, Any] | None: ...

    def completed_loads(self, load_ids: list[str]) -> set[str] | None:
        """Which of `load_ids` the destination committed; None if it cannot tell."""
        return None

    @abstractmethod
    def get_stored_schema(self, schema_name: str) -> Schema | None: ...
