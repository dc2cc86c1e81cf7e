"""What a benchmark process measures of itself: RSS fields from /proc and CPU seconds with children."""

from __future__ import annotations

import resource


def rss_kb(field: str) -> int:
    """A /proc/self/status size field (VmRSS, VmHWM) in kB; 0 when missing."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    """User + system CPU of this process and its reaped children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
