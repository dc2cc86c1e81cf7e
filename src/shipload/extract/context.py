"""The state of the resource that is running now, for code inside resource functions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

_current: list[tuple[str, dict[str, Any]]] = []
_pipeline_state: list[dict[str, Any]] = []


@contextlib.contextmanager
def pipeline_state_context(state: dict[str, Any]) -> Iterator[None]:
    _pipeline_state.append(state)
    try:
        yield
    finally:
        _pipeline_state.pop()


@contextlib.contextmanager
def resource_context(name: str, state: dict[str, Any]) -> Iterator[None]:
    _current.append((name, state))
    try:
        yield
    finally:
        _current.pop()


def resource_state() -> dict[str, Any]:
    """The state dict of the running resource; kept in the destination with the data it describes."""
    if not _current:
        raise RuntimeError("resource_state() is only available while a resource runs in a pipeline")
    return _current[-1][1]


def source_state() -> dict[str, Any]:
    """The state dict shared by all resources of the running source."""
    if not _pipeline_state:
        raise RuntimeError("source_state() is only available while a pipeline extracts")
    return _pipeline_state[-1].setdefault("source", {})
