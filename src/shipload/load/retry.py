"""The one retry policy of every load step: a transient error (connection lost, serialization
conflict, timeout) is retried with exponential backoff and jitter on a fresh connection; a
terminal error goes straight to the caller."""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from shipload.exceptions import TransientError

log = logging.getLogger("shipload.load")
T = TypeVar("T")


@dataclass
class RetryPolicy:
    max_retries: int = 5
    #: first pause; each further one doubles, times a random factor in [0.5, 1.5)
    backoff_seconds: float = 0.5

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
                    raise
                log.warning("%s failed (%s), retry %d of %d", what, exc, attempt, self.max_retries)
                self.sleep(attempt)

    def sleep(self, attempt: int) -> None:
        time.sleep(self.backoff_seconds * (2 ** (attempt - 1)) * (0.5 + random.random()))
