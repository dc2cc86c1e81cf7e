"""Live progress of extract, normalize and load: rows and files per table, rate, elapsed.

On a terminal it is drawn with rich; otherwise plain lines go to stderr every `interval` seconds
and at the end of each step. Steps call `report(step, table, rows=, files=)`; the pipeline picks
the reporter from `pipeline(progress=...)`, else `[runtime] progress` in config.toml (or the env
variable RUNTIME__PROGRESS): ``auto`` (default), ``rich``, ``log`` or ``off``."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

from shipload.config.specs import BaseSpec
from shipload.exceptions import ConfigError

MODES = ("auto", "rich", "log", "off")


@dataclasses.dataclass(repr=False)
class RuntimeSettings(BaseSpec):
    #: auto | rich | log | off (false/no/0 mean off)
    progress: str = "auto"
    #: seconds between plain progress lines when not on a terminal
    progress_interval: float = 10.0


@dataclasses.dataclass
class _Counter:
    rows: int = 0
    files: int = 0
    started: float = dataclasses.field(default_factory=time.time)

    def line(self, step: str, table: str) -> str:
        elapsed = max(time.time() - self.started, 1e-9)
        return (f"{step:<9} {table:<32} {self.rows:>12,} rows {self.files:>5} files "
                f"{self.rows / elapsed:>10,.0f} rows/s {elapsed:>7.1f} s")


class Reporter:
    """Does nothing: the `off` mode, and the base of the others."""

    def __init__(self) -> None:
        self.counters: dict[tuple[str, str], _Counter] = {}
        self.step_started_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def advance(self, step: str, table: str, rows: int = 0, files: int = 0) -> None:
        with self._lock:
            c = self.counters.get((step, table))
            if c is None:
                c = self.counters[(step, table)] = _Counter(started=self.step_started_at.get(step, time.time()))
            c.rows += rows
            c.files += files
            self._changed(step, table, c)

    def _changed(self, step: str, table: str, counter: _Counter) -> None:
        pass

    def step_started(self, step: str) -> None:
        self.step_started_at[step] = time.time()
        for key in [k for k in self.counters if k[0] == step]:  # a second load step in one run counts anew
            del self.counters[key]

    def step_done(self, step: str) -> None:
        pass

    def close(self) -> None:
        pass


class LogReporter(Reporter):
    """Plain lines on a stream: every `interval` seconds while a step runs, and when it ends."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0) -> None:
        super().__init__()
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = time.time()

    def _print(self, step: str) -> None:
        for (s, table), c in self.counters.items():
            if s == step:
                print(f"{time.strftime('%H:%M:%S')} {c.line(step, table)}", file=self.stream, flush=True)

    def _changed(self, step: str, table: str, counter: _Counter) -> None:
        if time.time() - self._last >= self.interval:
            self._last = time.time()
            self._print(step)

    def step_done(self, step: str) -> None:
        with self._lock:
            self._print(step)
            self._last = time.time()


class RichReporter(Reporter):
    """A rich progress display on stderr: one line per step and table."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.fields[step]:<9}"), TextColumn("{task.fields[table]:<32}"),
            TextColumn("{task.fields[rows]:>12,} rows"), TextColumn("{task.fields[files]:>5} files"),
            TextColumn("{task.fields[rate]:>14}"), TimeElapsedColumn(),
            console=Console(stderr=True), refresh_per_second=4,
        )
        self.tasks: dict[tuple[str, str], Any] = {}
        self.progress.start()

    def _changed(self, step: str, table: str, counter: _Counter) -> None:
        key = (step, table)
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task("", total=None, step=step, table=table, rows=0, files=0, rate="")
        elapsed = max(time.time() - counter.started, 1e-9)
        self.progress.update(self.tasks[key], rows=counter.rows, files=counter.files,
                             rate=f"{counter.rows / elapsed:,.0f} rows/s")

    def step_done(self, step: str) -> None:
        with self._lock:
            for key, task in self.tasks.items():
                if key[0] == step:
                    self.progress.stop_task(task)

    def close(self) -> None:
        self.progress.stop()


_active: list[Reporter] = []


def report(step: str, table: str, rows: int = 0, files: int = 0) -> None:
    """Count rows/files of `table` in `step` on the reporter of the running pipeline (if any)."""
    if _active:
        _active[-1].advance(step, table, rows, files)


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    reporter = _active[-1] if _active else None
    if reporter is not None:
        reporter.step_started(name)
    try:
        yield
    finally:
        if reporter is not None:
            reporter.step_done(name)


def resolve_mode(value: Any = None, pipeline_name: str | None = None) -> tuple[str, float]:
    """(mode, interval): an explicit value wins over `[runtime] progress`; `auto` becomes rich or log."""
    from shipload.config.resolve import resolve_spec

    settings = resolve_spec(RuntimeSettings, ("runtime",), pipeline_name)
    interval = float(settings.progress_interval)
    if value is None:
        value = settings.progress
    if value is False or str(value).lower() in ("false", "no", "0", "off", "none"):
        return "off", interval
    if value is True:
        value = "auto"
    mode = str(value).lower()
    if mode not in MODES:
        raise ConfigError(f"progress={value!r}: use one of {MODES}")
    if mode == "auto":
        mode = "rich" if sys.stderr.isatty() else "log"
    return mode, interval


def make_reporter(value: Any = None, pipeline_name: str | None = None) -> Reporter:
    mode, interval = resolve_mode(value, pipeline_name)
    if mode == "rich":
        return RichReporter()
    if mode == "log":
        return LogReporter(interval=interval)
    return Reporter()


@contextlib.contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    _active.append(reporter)
    try:
        yield reporter
    finally:
        _active.pop()
        reporter.close()


class LoadTally:
    """Reports a table's rows to the load step when its last job of the package is done."""

    def __init__(self, row_counts: dict[str, int], tables_of_jobs: list[str]) -> None:
        self.rows = dict(row_counts)
        self.left: dict[str, int] = {}
        for table in tables_of_jobs:
            self.left[table] = self.left.get(table, 0) + 1

    def job_done(self, table: str) -> None:
        self.left[table] = self.left.get(table, 1) - 1
        report("load", table, rows=self.rows.get(table, 0) if self.left[table] == 0 else 0, files=1)
