"""Load: run every job of one package, then commit the package with its loads-table row.

Crash safety: a job file moves new -> started before it runs and started -> completed after its
transaction (which also wrote a `_sl_load_jobs` row) committed. A job found in `started_jobs` on
resume is asked about in the destination: done jobs are moved on, the others run again.

Every step that talks to the destination (schema migration, jobs, the package commit) is retried on
transient errors (lost connection, serialization conflict, statement timeout) with jittered
exponential backoff on a fresh connection, at most `max_retries` times (``LOAD__MAX_RETRIES``,
default 5; first pause ``LOAD__RETRY_BACKOFF`` seconds, default 0.5). Each step is safe to repeat:
its transaction either committed (jobs and packages are looked up first) or changed nothing."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from shipload.destinations.base import JobClient
from shipload.exceptions import LoadJobFailed, RetriesExhausted, TransientError
from shipload.packages.storage import LoadPackage
from shipload.schema.schema import Schema
from shipload.utils.faults import crash_point
from shipload.utils.files import write_json

log = logging.getLogger("shipload.load")
T = TypeVar("T")


class Loader:
    def __init__(self, max_retries: int | None = None, backoff_seconds: float | None = None) -> None:
        self.max_retries = max_retries if max_retries is not None else int(os.environ.get("LOAD__MAX_RETRIES", 5))
        self.backoff_seconds = (backoff_seconds if backoff_seconds is not None
                                else float(os.environ.get("LOAD__RETRY_BACKOFF", 0.5)))

    def load_package(self, client: JobClient, package: LoadPackage, schema: Schema, state: dict[str, Any] | None) -> dict[str, Any]:
        load_id = package.load_id
        pkg_state = package.state
        tables = sorted(set(pkg_state.get("row_counts", {})) | set(pkg_state.get("replace_tables", [])))

        def prepare() -> None:
            client.initialize_storage()
            client.update_stored_schema(schema, load_id)
            if not pkg_state.get("prepared"):
                client.prepare_package(schema, load_id, tables)
                pkg_state["prepared"] = True
                package.save_state(pkg_state)

        self._retrying(client, f"package {load_id}: schema update", prepare)
        for job in package.jobs("started_jobs"):
            if self._retrying(client, f"job {job.job_id}: lookup", lambda job=job: client.job_done(load_id, job)):
                package.move_job(job, "started_jobs", "completed_jobs")
            else:
                package.move_job(job, "started_jobs", "new_jobs")
        for job in package.jobs("failed_jobs"):
            package.move_job(job, "failed_jobs", "new_jobs")
        # SQL jobs (user statements) run after every data job of the package
        for job in sorted(package.jobs("new_jobs"), key=lambda j: j.file_format == "sql"):
            started = package.move_job(job, "new_jobs", "started_jobs")
            self._run_with_retries(client, package, schema, started)
            crash_point("load.job_committed")
            package.move_job(started, "started_jobs", "completed_jobs")
            crash_point("load.job_moved")
        crash_point("load.before_complete")
        self._retrying(client, f"package {load_id}: commit",
                       lambda: client.complete_package(schema, load_id, tables, state))
        pkg_state["status"] = "loaded"
        write_json(package.path / "package_completed.json", {"status": "loaded", "completed_at": time.time()})
        return pkg_state

    def open_client(self, client: JobClient) -> None:
        """Connect, retrying transient failures (server restarting, network) with backoff."""
        attempt = 0
        while True:
            try:
                client.open()
                return
            except TransientError as exc:
                attempt += 1
                if attempt > self.max_retries:
                    raise
                log.warning("connect failed (%s), retry %d of %d", exc, attempt, self.max_retries)
                self._sleep(attempt)

    def _retrying(self, client: JobClient, what: str, action: Callable[[], T]) -> T:
        """`action()`, retried on transient errors on a fresh connection; gives up clearly."""
        attempt = 0
        while True:
            try:
                return action()
            except TransientError as exc:
                attempt += 1
                if attempt > self.max_retries:
                    raise RetriesExhausted(f"{what}: gave up after {self.max_retries} retries: {exc}") from exc
                log.warning("%s failed (%s), retry %d of %d", what, exc, attempt, self.max_retries)
                self._sleep(attempt)
                self._reconnect(client)

    @staticmethod
    def _reconnect(client: JobClient) -> None:
        try:
            client.close()
            client.open()
        except Exception as exc:  # the next attempt reports the real error
            log.warning("reconnect failed: %s", exc)

    def _run_with_retries(self, client: JobClient, package: LoadPackage, schema: Schema, job: Any) -> None:
        path = package.job_path("started_jobs", job)
        first = True

        def attempt() -> None:
            nonlocal first
            # after a lost connection the transaction may have committed: look before running again
            if not first and client.job_done(package.load_id, job):
                return
            first = False
            client.run_job(schema, package.load_id, job, path)

        try:
            self._retrying(client, f"job {job.job_id}", attempt)
        except RetriesExhausted:
            raise  # the job stays in started_jobs: the next run looks it up and continues
        except Exception as exc:
            package.move_job(job, "started_jobs", "failed_jobs")
            package.write_failure(job, str(exc))
            raise LoadJobFailed(package.load_id, job.name, job.table, str(exc)) from exc

    def _sleep(self, attempt: int) -> None:
        time.sleep(self.backoff_seconds * (2 ** (attempt - 1)) * (0.5 + random.random()))
