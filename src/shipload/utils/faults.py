"""Crash points for tests: ``SHIPLOAD_CRASH_AT=<point>[:<n>]`` kills the process (SIGKILL) the n-th
time (default 1st) execution passes `crash_point(<point>)`. Unset, each call is one dict lookup.

In-process fault hooks (tests): `on_point(name, action)` runs `action()` each time execution passes
the point while the context is open (e.g. terminate the connection's backend, stop a server)."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator

#: every crash point in the code, and where it is
POINTS = {
    "extract.page": "extract wrote a page of items (package still in extract/new); in run()'s streamed path:"
                    " handed a page to normalize (load package still in normalize/new)",
    "extract.done": "extracted package complete, normalize not started; streamed: the resources are exhausted,"
                    " the worker's share and the package's publication not yet done",
    "normalize.page": "normalize (main process) wrote the rows of a page",
    "normalize.worker_page": "the forked normalize worker wrote the rows of a page",
    "normalize.renamed": "normalized package in load/normalized, extracted package (streamed: the spool) not yet removed",
    "load.job_data": "a load job's data statements ran (its transaction open, marker not yet inserted)",
    "load.job_marker": "a load job's marker row was inserted, its transaction not yet committed",
    "load.job_committed": "a load job's transaction committed, its file not yet moved to completed_jobs",
    "load.job_moved": "a load job's file moved to completed_jobs",
    "load.before_complete": "every job done, package commit transaction not started",
    "load.followup_sql": "a merge/replace/scd2 follow-up statement ran (commit transaction open)",
    "load.state_inserted": "the pipeline state row was inserted (commit transaction open)",
    "load.package_committed": "package commit transaction committed, local state not yet written",
    "pipeline.state_saved": "local state.json written, package not yet moved to load/loaded",
    "staging.file_uploaded": "a staged file of a copy job was uploaded (others not yet)",
    "staging.uploaded": "a copy job's files and manifest uploaded, COPY not yet run",
    "staging.copied": "COPY ran (its transaction open), the job marker not yet written",
    "staging.before_cleanup": "package committed, its staged files not yet deleted from the bucket",
    "staging.cleaned": "a table's staged files deleted after the package commit (others not yet)",
}

_counts: dict[str, int] = {}
_hooks: dict[str, list[Callable[[], None]]] = {}


@contextlib.contextmanager
def on_point(name: str, action: Callable[[], None]) -> Iterator[None]:
    """Run `action` whenever execution passes `crash_point(name)` inside this block (tests only)."""
    _hooks.setdefault(name, []).append(action)
    try:
        yield
    finally:
        _hooks[name].remove(action)


def crash_armed(name: str) -> bool:
    """True when SHIPLOAD_CRASH_AT names this point (code may then take a slower, step-by-step path)."""
    spec = os.environ.get("SHIPLOAD_CRASH_AT")
    return bool(spec) and spec.partition(":")[0] == name


def crash_point(name: str) -> None:
    if _hooks:
        for action in list(_hooks.get(name, ())):
            action()
    spec = os.environ.get("SHIPLOAD_CRASH_AT")
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
