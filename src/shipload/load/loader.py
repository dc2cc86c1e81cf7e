"""Load: run every job of one package, then commit the package with its loads-table row.

Crash safety: a data job file moves new -> started before it runs and started -> completed after
its transaction (which also wrote a `_sl_load_jobs` row) committed. SQL jobs run in the package's
commit transaction, after the merge/replace follow-up, so they see the final tables and commit
with the `_sl_loads` row. A job found in `started_jobs` or
`failed_jobs` on resume is asked about in the destination (its COMMIT may have succeeded although
the reply was lost): done jobs are moved on, the others run again. Every step retries transient
errors with the one `RetryPolicy`, on a fresh connection."""

from __future__ import annotations

import time
from typing import Any

from shipload.destinations.base import JobClient
from shipload.exceptions import LoadJobFailed, TransientError
from shipload.load.retry import RetryPolicy
from shipload.packages.storage import JobFileName, LoadPackage
from shipload.pipeline import progress
from shipload.schema.schema import Schema
from shipload.schema.skipped import skipped_tables
from shipload.utils.faults import crash_point
from shipload.utils.files import write_json


class Loader:
    def __init__(self, max_retries: int | None = None, backoff_seconds: float | None = None) -> None:
        self.retry = RetryPolicy.from_env(max_retries, backoff_seconds)

    def load_package(self, client: JobClient, package: LoadPackage, schema: Schema, state: dict[str, Any] | None) -> dict[str, Any]:
        load_id = package.load_id
        pkg_state = package.state
        skipped = skipped_tables(schema)
        tables = sorted((set(pkg_state.get("row_counts", {})) | set(pkg_state.get("replace_tables", []))) - skipped)
        self.retry.run(client, "initialize storage", client.initialize_storage)
        self.retry.run(client, "update stored schema", lambda: client.update_stored_schema(schema, load_id))
        if not pkg_state.get("prepared"):
            self.retry.run(client, "prepare package", lambda: client.prepare_package(schema, load_id, tables))
            pkg_state["prepared"] = True
            package.save_state(pkg_state)
        self._requeue(client, package, "started_jobs")
        self._requeue(client, package, "failed_jobs")  # a failed COMMIT may have gone through
        new_jobs = package.jobs("new_jobs")
        tally = progress.LoadTally(pkg_state.get("row_counts") or {}, [j.table for j in new_jobs if j.table not in skipped])
        sql_jobs = []
        for job in new_jobs:
            if job.table in skipped:  # write_disposition="skip": normalized, never loaded
                package.move_job(job, "new_jobs", "completed_jobs")
            elif job.file_format == "sql":
                sql_jobs.append((job, package.job_path("new_jobs", job)))
            else:
                started = package.move_job(job, "new_jobs", "started_jobs")
                self._run_job(client, package, schema, started)
                crash_point("load.job_committed")
                package.move_job(started, "started_jobs", "completed_jobs")
                tally.job_done(job.table)
                crash_point("load.job_moved")
        crash_point("load.before_complete")
        # SQL jobs (user statements) run in the commit transaction, after merge/replace follow-up
        self.retry.run(client, f"commit package {load_id}",
                       lambda: client.complete_package(schema, load_id, tables, state, sql_jobs=sql_jobs))
        for job, _ in sql_jobs:
            package.move_job(job, "new_jobs", "completed_jobs")
            tally.job_done(job.table)
        pkg_state["status"] = "loaded"
        write_json(package.path / "package_completed.json", {"status": "loaded", "completed_at": time.time()})
        return pkg_state

    def open_client(self, client: JobClient) -> None:
        """Connect, retrying transient failures (server restarting, network) with backoff."""
        self.retry.run(client, "connect", client.open, reconnect=False)

    def _requeue(self, client: JobClient, package: LoadPackage, state: str) -> None:
        """Jobs of an earlier attempt: completed if the destination has their marker, else new."""
        for job in package.jobs(state):
            done = self.retry.run(client, f"check job {job.job_id}", lambda j=job: client.job_done(package.load_id, j))
            package.move_job(job, state, "completed_jobs" if done else "new_jobs")

    def _run_job(self, client: JobClient, package: LoadPackage, schema: Schema, job: JobFileName) -> None:
        path = package.job_path("started_jobs", job)
        try:
            self.retry.run(client, f"job {job.job_id}", lambda: client.run_job(schema, package.load_id, job, path),
                           already_done=lambda: client.job_done(package.load_id, job))
        except TransientError:
            raise  # retries exhausted: the job stays started, the next run asks the destination about it
        except Exception as exc:
            package.move_job(job, "started_jobs", "failed_jobs")
            package.write_failure(job, str(exc))
            raise LoadJobFailed(package.load_id, job.name, job.table, str(exc)) from exc
