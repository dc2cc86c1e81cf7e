"""The one retry policy of every load step: a transient error (connection lost, serialization
conflict, timeout) is retried with exponential backoff and jitter on a fresh connection; a
terminal error goes straight to the caller."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from shipload.exceptions import RetriesExhausted, TransientError

log = logging.getLogger("shipload.load")
T = TypeVar("T")


@dataclass
class RetryPolicy:
    #: retries after the first attempt (env ``LOAD__MAX_RETRIES``)
    max_retries: int = 5
    #: first pause (env ``LOAD__RETRY_BACKOFF``); each further one doubles, times a random factor in [0.5, 1.5)
    backoff_seconds: float = 0.5

    @classmethod
    def from_env(cls, max_retries: int | None = None, backoff_seconds: float | None = None) -> RetryPolicy:
        """Explicit values, else ``LOAD__MAX_RETRIES`` / ``LOAD__RETRY_BACKOFF``, else the defaults."""
        return cls(
            max_retries if max_retries is not None else int(os.environ.get("LOAD__MAX_RETRIES", cls.max_retries)),
            backoff_seconds if backoff_seconds is not None
            else float(os.environ.get("LOAD__RETRY_BACKOFF", cls.backoff_seconds)),
        )

    def run(self, client: Any, what: str, action: Callable[[], T],
            already_done: Callable[[], bool] | None = None, reconnect: bool = True) -> T | None:
        """`action()`, retried on transient errors. Before a retry the client reconnects (unless
        `reconnect` is false) and `already_done()` is asked: true means the failed attempt did in
        fact commit (its reply was lost), and nothing runs again; the result is then None."""
        attempt = 0
        while True:
            try:
                if attempt and reconnect:
                    with contextlib.suppress(Exception):
                        client.close()
                    client.open()
                    if already_done is not None and already_done():
                        log.info("%s: the failed attempt had committed", what)
                        return None
                return action()
            except TransientError as exc:
                attempt += 1
                if attempt > self.max_retries:
                    exhausted = RetriesExhausted(f"{what}: gave up after {self.max_retries} retries: {exc}")
                    exhausted.sqlstate = getattr(exc, "sqlstate", None)  # type: ignore[attr-defined]
                    raise exhausted from exc
                log.warning("%s failed (%s), retry %d of %d", what, exc, attempt, self.max_retries)
                self.sleep(attempt)

    def sleep(self, attempt: int) -> None:
        time.sleep(self.backoff_seconds * (2 ** (attempt - 1)) * (0.5 + random.random()))
