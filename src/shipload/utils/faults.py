"""Crash points for tests: ``SHIPLOAD_CRASH_AT=<point>[:<n>]`` kills the process (SIGKILL) the n-th
time (default 1st) execution passes `crash_point(<point>)`. Unset, each call is one dict lookup."""

from __future__ import annotations

import os
import signal

#: every crash point in the code, and where it is
POINTS = {
    "extract.page": "extract wrote a page of items (package still in extract/new)",
    "extract.done": "extracted package complete, normalize not started",
    "normalize.page": "normalize (main process) wrote the rows of a page",
    "normalize.worker_page": "the forked normalize worker wrote the rows of a page",
    "normalize.renamed": "normalized package in load/normalized, extracted package not yet removed",
    "load.job_committed": "a load job's transaction committed, its file not yet moved to completed_jobs",
    "load.job_moved": "a load job's file moved to completed_jobs",
    "load.before_complete": "every job done, package commit transaction not started",
    "load.followup_sql": "a merge/replace/scd2 follow-up statement ran (commit transaction open)",
    "load.state_inserted": "the pipeline state row was inserted (commit transaction open)",
    "load.package_committed": "package commit transaction committed, local state not yet written",
    "pipeline.state_saved": "local state.json written, package not yet moved to load/loaded",
}

_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    spec = os.environ.get("SHIPLOAD_CRASH_AT")
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
