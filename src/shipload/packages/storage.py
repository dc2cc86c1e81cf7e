"""Packages on disk. The folder a package (or a job file) sits in is its state; moves are renames.

Layout under ``<pipelines_dir>/<pipeline_name>/``::

    extract/new/<load_id>/          extract is writing it (discarded after a crash)
    extract/extracted/<load_id>/    complete extracted package, waiting for normalize
    normalize/new/<load_id>/        normalize is writing it (discarded after a crash)
    load/normalized/<load_id>/      load package: new_jobs/ started_jobs/ completed_jobs/ failed_jobs/
                                    and job_errors/ (the last error of each failed job, never a job)
    load/loaded/<load_id>/          done (status in package_completed.json: loaded | aborted)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipload.utils.files import read_json, remove_tree, write_json

JOB_STATES = ("new_jobs", "started_jobs", "completed_jobs", "failed_jobs")
#: beside the job folders: `<job name>.exception` holds the error of the job's last failed attempt
JOB_ERRORS = "job_errors"


@dataclass(frozen=True, order=True)
class JobFileName:
    """``<table>.<file_id>.<retry>.<format>``; the table name never contains a dot."""

    table: str  # first field: jobs sort by table, parents before children
    file_id: str
    retry: int
    file_format: str

    @property
    def name(self) -> str:
        return f"{self.table}.{self.file_id}.{self.retry}.{self.file_format}"

    @property
    def job_id(self) -> str:
        return f"{self.table}.{self.file_id}.{self.file_format}"

    @classmethod
    def parse(cls, name: str) -> JobFileName:
        parts = name.split(".")
        if len(parts) != 4 or not parts[2].isdigit():
            raise ValueError(f"not a job file name: {name!r}")
        table, file_id, retry, fmt = parts
        return cls(table, file_id, int(retry), fmt)

    @classmethod
    def is_job_file(cls, name: str) -> bool:
        parts = name.split(".")
        return len(parts) == 4 and parts[2].isdigit() and all(parts)

    def with_retry(self) -> JobFileName:
        return JobFileName(self.table, self.file_id, self.retry + 1, self.file_format)


class LoadPackage:
    """One load package folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.load_id = path.name

    def ensure_layout(self) -> None:
        for state in JOB_STATES:
            (self.path / state).mkdir(parents=True, exist_ok=True)

    def jobs(self, state: str) -> list[JobFileName]:
        folder = self.path / state
        if not folder.exists():
            return []
        return sorted(JobFileName.parse(p) for p in os.listdir(folder) if JobFileName.is_job_file(p))

    def job_path(self, state: str, job: JobFileName) -> Path:
        return self.path / state / job.name

    def move_job(self, job: JobFileName, src: str, dst: str, new: JobFileName | None = None) -> JobFileName:
        target = new or job
        os.replace(self.job_path(src, job), self.job_path(dst, target))
        return target

    def _error_path(self, job: JobFileName) -> Path:
        return self.path / JOB_ERRORS / f"{job.name}.exception"

    def write_failure(self, job: JobFileName, message: str) -> None:
        path = self._error_path(job)
        path.parent.mkdir(exist_ok=True)
        path.write_text(message, encoding="utf-8")

    def failure_message(self, job: JobFileName) -> str:
        p = self._error_path(job)
        return p.read_text(encoding="utf-8") if p.exists() else ""

    @property
    def state(self) -> dict[str, Any]:
        return read_json(self.path / "package_state.json", {}) or {}

    def save_state(self, state: dict[str, Any]) -> None:
        write_json(self.path / "package_state.json", state)


class PipelineStorage:
    """The pipeline's working folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, *parts: str) -> Path:
        p = self.root.joinpath(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def list_packages(self, *parts: str) -> list[Path]:
        base = self.root.joinpath(*parts)
        if not base.exists():
            return []
        return sorted((p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: float(p.name))

    def extracted_packages(self) -> list[Path]:
        return self.list_packages("extract", "extracted")

    def normalized_packages(self) -> list[LoadPackage]:
        return [LoadPackage(p) for p in self.list_packages("load", "normalized")]

    def loaded_packages(self) -> list[LoadPackage]:
        return [LoadPackage(p) for p in self.list_packages("load", "loaded")]

    def clean_incomplete(self) -> None:
        """Remove what a crashed extract or normalize left half written; drop extracted packages
        whose normalized package already exists (crash between the two renames)."""
        for stage in (("extract", "new"), ("normalize", "new")):
            for p in self.list_packages(*stage):
                remove_tree(p)
        normalized = {p.name for p in self.list_packages("load", "normalized")}
        normalized |= {p.name for p in self.list_packages("load", "loaded")}
        for p in self.extracted_packages():
            if p.name in normalized:
                remove_tree(p)

    def has_pending(self) -> bool:
        return bool(self.extracted_packages() or self.normalized_packages())
