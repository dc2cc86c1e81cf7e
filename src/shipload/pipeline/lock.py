"""One process at a time per pipeline working folder: `run`, `extract`, `normalize` and `load` hold
an exclusive lock on ``<working folder>/.lock`` (flock: released by the OS when the process dies, so
a crash never leaves it behind). A second process that starts the same pipeline is refused at once
with a message naming the process that holds it; nothing of the running one's packages is touched."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from shipload.exceptions import PipelineError

LOCK_FILE = ".lock"
F = TypeVar("F", bound=Callable[..., Any])


class PipelineLocked(PipelineError):
    """The pipeline's working folder is in use by another run."""


class FolderLock:
    def __init__(self, folder: Path, pipeline_name: str) -> None:
        self.path = folder / LOCK_FILE
        self.pipeline_name = pipeline_name
        self._fd: int | None = None
        self._depth = 0

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock (re-entrant within this object)."""
        if self._depth == 0:
            self._acquire()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._release()

    def _acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise PipelineLocked(
                f"pipeline {self.pipeline_name!r} is already running (process {holder}) in {self.path.parent}; "
                "wait for it to finish, or stop that process, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def _release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def locked(method: F) -> F:
    """Run a Pipeline method holding its working-folder lock."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._folder_lock.held():
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
