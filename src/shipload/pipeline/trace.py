"""The trace of the last `run`: steps with timings, rows per table, and the error if one stopped it.

Saved as ``trace.json`` in the pipeline's working folder; `shipload pipeline <name> trace` shows it."""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipload.pipeline import progress
from shipload.utils.files import read_json, write_json

TRACE_FILE = "trace.json"


@dataclass
class StepTrace:
    step: str
    started_at: float
    finished_at: float = 0.0
    row_counts: dict[str, int] = field(default_factory=dict)
    load_ids: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def elapsed(self) -> float:
        return max(0.0, self.finished_at - self.started_at)


@dataclass
class RunTrace:
    pipeline_name: str
    started_at: float = field(default_factory=time.time)
    finished_at: float = 0.0
    steps: list[StepTrace] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[StepTrace]:
        entry = StepTrace(name, time.time())
        self.steps.append(entry)
        try:
            with progress.step(name):
                yield entry
        except BaseException as exc:
            entry.error = str(exc)
            raise
        finally:
            entry.finished_at = time.time()

    def failed(self, exc: BaseException) -> None:
        self.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.error_type = type(exc).__name__

    def save(self, working_dir: Path) -> None:
        self.finished_at = self.finished_at or time.time()
        write_json(working_dir / TRACE_FILE, asdict(self))

    @classmethod
    def load(cls, working_dir: Path) -> RunTrace | None:
        data: Any = read_json(working_dir / TRACE_FILE, None)
        if data is None:
            return None
        steps = [StepTrace(**s) for s in data.pop("steps", [])]
        return cls(steps=steps, **data)
