"""A small JSON-over-HTTP client for sources (standard library only).

* every request sends the configured `User-Agent` (APIs such as chess.com refuse requests without
  contact details: a 403 raises `HttpForbidden` whose message says which setting to change);
* 429, 5xx, refused/reset connections and timeouts are retried with exponential backoff (a
  `Retry-After` header is honoured, capped at `max_backoff`);
* `map()` runs requests on at most `max_parallel` threads, so a source never opens more
  parallel connections than the API tolerates."""

from __future__ import annotations

import http.client
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import orjson

from shipload.exceptions import TerminalError, TransientError

log = logging.getLogger("shipload.http")

T = TypeVar("T")
R = TypeVar("R")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HttpError(TerminalError):
    """A response that retrying will not fix (4xx other than 429)."""

    def __init__(self, url: str, status: int, reason: str, hint: str = "") -> None:
        self.url, self.status, self.reason = url, status, reason
        super().__init__(f"GET {url} answered {status} {reason}" + (f": {hint}" if hint else ""))


class HttpForbidden(HttpError):
    """403: for APIs that need a contact User-Agent, the message names the setting to change."""


class HttpRetriesExhausted(TransientError):
    def __init__(self, url: str, attempts: int, last: str) -> None:
        self.url, self.attempts = url, attempts
        super().__init__(f"GET {url} failed {attempts} times; last error: {last}")


class HttpClient:
    def __init__(
        self,
        base_url: str = "",
        user_agent: str | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_factor: float = 1.0,
        max_backoff: float = 60.0,
        max_parallel: int = 2,
        forbidden_hint: str = "",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/") + "/" if base_url else ""
        self.user_agent = user_agent or _default_user_agent()
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_factor = backoff_factor
        self.max_backoff = max_backoff
        self.max_parallel = max(1, int(max_parallel))
        self.forbidden_hint = forbidden_hint
        self._sleep = sleep

    def url(self, path_or_url: str) -> str:
        if urllib.parse.urlsplit(path_or_url).scheme:
            return path_or_url
        return self.base_url + path_or_url.lstrip("/")

    def get_json(self, path_or_url: str, missing_ok: bool = False) -> Any:
        """The decoded JSON body; `None` for a 404 when `missing_ok`."""
        url = self.url(path_or_url)
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            retry_after: float | None = None
            try:
                request = urllib.request.Request(url, headers={"User-Agent": self.user_agent,
                                                               "Accept": "application/json"})
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return orjson.loads(response.read())
            except urllib.error.HTTPError as exc:
                if exc.code == 404 and missing_ok:
                    return None
                if exc.code == 403:
                    raise HttpForbidden(url, 403, exc.reason, self.forbidden_hint) from None
                if exc.code not in RETRY_STATUSES:
                    raise HttpError(url, exc.code, str(exc.reason)) from None
                retry_after = _retry_after(exc.headers.get("Retry-After"))
                last = f"{exc.code} {exc.reason}"
            except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.IncompleteRead, http.client.RemoteDisconnected) as exc:
                last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            except orjson.JSONDecodeError as exc:
                raise HttpError(url, 200, f"response is not JSON ({exc})") from None
            if attempt < self.max_attempts:
                delay = self._backoff(attempt, retry_after)
                log.warning("GET %s: %s; retry %d of %d in %.1fs", url, last, attempt, self.max_attempts - 1, delay)
                self._sleep(delay)
        raise HttpRetriesExhausted(url, self.max_attempts, last)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        return min(self.backoff_factor * (2 ** (attempt - 1)) * (0.5 + random.random()), self.max_backoff)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`fn` over `items` on at most `max_parallel` threads; results in the order of `items`.

        At most 2 x `max_parallel` results wait to be consumed, so big responses do not pile up."""
        items = list(items)
        if self.max_parallel == 1 or len(items) < 2:
            yield from map(fn, items)
            return
        ahead = 2 * self.max_parallel
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(items))) as pool:
            pending: deque[Future[R]] = deque()
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _default_user_agent() -> str:
    from shipload import __version__

    return f"shipload/{__version__}"
