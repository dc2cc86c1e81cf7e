"""Write dispositions and strategies a destination declares it supports (`Capabilities`), checked
against the resources of a run before anything is extracted."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipload.destinations.base import Capabilities
from shipload.exceptions import TerminalError


def check_resources(caps: Capabilities, destination: str, resources: Iterable[Any]) -> None:
    """Raise TerminalError naming the resource, what it asks for and what `destination` supports."""
    for r in resources:
        hints = r.hints
        disposition = hints.get("write_disposition") or "append"
        if disposition not in caps.supported_write_dispositions:
            raise TerminalError(f"resource {r.name!r}: write_disposition {disposition!r} is not supported by "
                                f"{destination}; it supports {list(caps.supported_write_dispositions)}")
        key, supported = {"merge": ("merge_strategy", caps.supported_merge_strategies),
                          "replace": ("replace_strategy", caps.supported_replace_strategies)}.get(disposition, (None, ()))
        strategy = hints.get(key) if key else None
        if strategy is not None and strategy not in supported:
            raise TerminalError(f"resource {r.name!r}: {disposition} strategy {strategy!r} is not supported by "
                                f"{destination}; it supports {list(supported)}")
