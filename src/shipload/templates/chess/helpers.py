"""Months, archive URLs and the HTTP client of the chess source."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from shipload.exceptions import ConfigError
from shipload.helpers.http import HttpClient

from .settings import USER_AGENT_HINT, ChessApiSettings

_MONTH = re.compile(r"^(\d{4})/(\d{2})$")
#: a month's archive is final once this long after the month ended (late games, API cache)
CLOSE_AFTER = dt.timedelta(days=1)


def utc_now() -> dt.datetime:
    """The clock the source reads (tests replace it)."""
    return dt.datetime.now(dt.UTC)


def validate_month(value: str | None, name: str) -> str | None:
    """`value` if it is a month written `YYYY/MM`; a ConfigError naming the parameter otherwise."""
    if value is None:
        return None
    m = _MONTH.match(str(value))
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise ConfigError(f"chess source: {name}={value!r} is not a month written YYYY/MM (e.g. '2024/01')")
    return str(value)


def validate_range(start_month: str | None, end_month: str | None) -> None:
    validate_month(start_month, "start_month")
    validate_month(end_month, "end_month")
    if start_month and end_month and start_month > end_month:
        raise ConfigError(f"chess source: start_month {start_month!r} is after end_month {end_month!r}")


def archive_month(url: str) -> str:
    """`YYYY/MM` of an archive URL such as .../games/2024/01."""
    return url.rstrip("/")[-7:]


_ARCHIVE = re.compile(r"/player/([^/]+)/games/(\d{4}/\d{2})/?$")


def archive_key(url: str) -> str:
    """`username/YYYY/MM` of an archive URL: what the state remembers (not the URL, whose host may change)."""
    m = _ARCHIVE.search(url)
    return f"{m.group(1).lower()}/{m.group(2)}" if m else url


def month_of(day: dt.datetime) -> str:
    return f"{day.year:04d}/{day.month:02d}"


def months_ago(n: int, now: dt.datetime | None = None) -> str:
    now = now or utc_now()
    index = now.year * 12 + now.month - 1 - n
    return f"{index // 12:04d}/{index % 12 + 1:02d}"


def month_closed(month: str, now: dt.datetime) -> bool:
    """True once no more games can appear in `month`'s archive."""
    year, mon = int(month[:4]), int(month[5:])
    following = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=dt.UTC)
    return now >= following + CLOSE_AFTER


def in_range(month: str, start_month: str | None, end_month: str | None) -> bool:
    return (start_month is None or month >= start_month) and (end_month is None or month <= end_month)


def unix_to_datetime(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return value


def make_client(settings: ChessApiSettings) -> HttpClient:
    return HttpClient(
        base_url=settings.base_url, user_agent=settings.contact_user_agent, timeout=settings.timeout,
        max_attempts=settings.max_attempts, backoff_factor=settings.backoff_factor,
        max_parallel=settings.max_parallel, forbidden_hint=USER_AGENT_HINT,
    )
