"""Pause Python's cyclic garbage collector during the hot steps.

Extract and normalize allocate millions of short-lived dicts, lists and tuples while the caller's
data (often hundreds of thousands of records) is alive; every full collection walks all of it, and
on the benchmark that cost as much as the work itself. Our steps make no reference cycles, so
reference counting frees everything; collection resumes afterwards."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
