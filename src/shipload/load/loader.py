"""Load: run every job of one package, then commit the package with its loads-table row.

Crash safety: a job file moves new -> started before it runs and started -> completed after its
transaction (which also wrote a `_sl_load_jobs` row) committed. A job found in `started_jobs` on
resume is asked about in the destination: done jobs are moved on, the others run again."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from shipload.destinations.base import JobClient
from shipload.exceptions import LoadJobFailed, TransientError
from shipload.packages.storage import LoadPackage
from shipload.pipeline import progress
from shipload.schema.schema import Schema
from shipload.utils.faults import crash_point
from shipload.utils.files import write_json

log = logging.getLogger("shipload.load")


class Loader:
    def __init__(self, max_retries: int = 5, backoff_seconds: float = 0.5) -> None:
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds

    def load_package(self, client: JobClient, package: LoadPackage, schema: Schema, state: dict[str, Any] | None) -> dict[str, Any]:
        load_id = package.load_id
        pkg_state = package.state
        tables = sorted(set(pkg_state.get("row_counts", {})) | set(pkg_state.get("replace_tables", [])))
        client.initialize_storage()
        client.update_stored_schema(schema, load_id)
        if not pkg_state.get("prepared"):
            client.prepare_package(schema, load_id, tables)
            pkg_state["prepared"] = True
            package.save_state(pkg_state)
        for job in package.jobs("started_jobs"):
            if client.job_done(load_id, job):
                package.move_job(job, "started_jobs", "completed_jobs")
            else:
                package.move_job(job, "started_jobs", "new_jobs")
        for job in package.jobs("failed_jobs"):
            package.move_job(job, "failed_jobs", "new_jobs")
        # SQL jobs (user statements) run after every data job of the package
        new_jobs = sorted(package.jobs("new_jobs"), key=lambda j: j.file_format == "sql")
        tally = progress.LoadTally(pkg_state.get("row_counts") or {}, [j.table for j in new_jobs])
        for job in new_jobs:
            started = package.move_job(job, "new_jobs", "started_jobs")
            self._run_with_retries(client, package, schema, started)
            crash_point("load.job_committed")
            package.move_job(started, "started_jobs", "completed_jobs")
            tally.job_done(job.table)
            crash_point("load.job_moved")
        crash_point("load.before_complete")
        attempt = 0
        while True:
            try:
                client.complete_package(schema, load_id, tables, state)
                break
            except TransientError:
                attempt += 1
                if attempt > self.max_retries:
                    raise
                self._sleep(attempt)
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

    def _run_with_retries(self, client: JobClient, package: LoadPackage, schema: Schema, job: Any) -> None:
        attempt = 0
        path = package.job_path("started_jobs", job)
        while True:
            try:
                client.run_job(schema, package.load_id, job, path)
                return
            except TransientError as exc:
                attempt += 1
                if attempt > self.max_retries:
                    raise
                log.warning("job %s failed (%s), retry %d of %d", job.job_id, exc, attempt, self.max_retries)
                self._sleep(attempt)
                try:
                    client.close()
                    client.open()
                except Exception as reopen_exc:  # the next attempt reports the real error
                    log.warning("reconnect failed: %s", reopen_exc)
                if client.job_done(package.load_id, job):
                    return
            except Exception as exc:
                package.move_job(job, "started_jobs", "failed_jobs")
                package.write_failure(job, str(exc))
                raise LoadJobFailed(package.load_id, job.name, job.table, str(exc)) from exc

    def _sleep(self, attempt: int) -> None:
        time.sleep(self.backoff_seconds * (2 ** (attempt - 1)) * (0.5 + random.random()))
