"""Crash points for tests: ``SHIPLOAD_CRASH_AT=<point>[:<n>]`` kills the process (SIGKILL) the n-th
time (default 1st) execution passes `crash_point(<point>)`. Unset, each call is one dict lookup."""

from __future__ import annotations

import os
import signal

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
