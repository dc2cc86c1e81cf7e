"""Incremental cursors: remember the last cursor value in resource state and drop what was seen."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from shipload.exceptions import TerminalError

_MISSING = object()


def _lookup(item: Any, path: tuple[str, ...]) -> Any:
    value = item
    for part in path:
        if not isinstance(value, dict):
            return _MISSING
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def _row_hash(item: Any) -> str:
    return hashlib.blake2b(orjson.dumps(item, default=str, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()


class Incremental:
    """Declare as a default argument: ``def games(updated=incremental("updated_at", initial_value=...))``.

    While the resource runs, `start_value` is the value stored by the previous run (or
    `initial_value`), `last_value` the highest (per `last_value_func`) value seen so far.
    Items at or before the stored value are dropped; items equal to it are dropped only if
    they were already seen (kept by hash), so nothing at the boundary is lost or duplicated.
    """

    def __init__(
        self,
        cursor_path: str,
        initial_value: Any = None,
        last_value_func: Callable[[Any], Any] = max,
        end_value: Any = None,
        on_cursor_value_missing: str = "raise",
    ) -> None:
        if on_cursor_value_missing not in ("raise", "include", "exclude"):
            raise ValueError("on_cursor_value_missing must be 'raise', 'include' or 'exclude'")
        self.cursor_path = cursor_path
        self._path = tuple(cursor_path.split("."))
        self.initial_value = initial_value
        self.last_value_func = last_value_func
        self.end_value = end_value
        self.on_cursor_value_missing = on_cursor_value_missing
        self._state: dict[str, Any] | None = None
        self.resource_name: str | None = None

    def bind(self, state: dict[str, Any], resource_name: str) -> Incremental:
        """A copy bound to the resource's state dict (`state` is mutated as values are seen)."""
        bound = copy.copy(self)
        bound.resource_name = resource_name
        slot = state.setdefault("incremental", {}).setdefault(self.cursor_path, {})
        if "last_value" not in slot:
            slot["initial_value"] = self.initial_value
            slot["last_value"] = self.initial_value
            slot["unique_hashes"] = []
        bound._state = slot
        bound._start_value = slot["last_value"]
        bound._start_hashes = set(slot["unique_hashes"])
        return bound

    @property
    def start_value(self) -> Any:
        self._bound_state()
        return self._start_value

    @property
    def last_value(self) -> Any:
        return self._bound_state()["last_value"]

    def _bound_state(self) -> dict[str, Any]:
        if self._state is None:
            raise TerminalError(f"incremental({self.cursor_path!r}) is used outside of a running resource")
        return self._state

    def _is_newer(self, a: Any, b: Any) -> bool:
        """True when `a` wins over `b` per last_value_func (and they differ)."""
        return a != b and self.last_value_func((a, b)) == a

    def filter_page(self, items: list[Any]) -> list[Any]:
        """Keep the items past the stored cursor; update last_value and the boundary hashes."""
        state = self._state
        assert state is not None
        start, start_hashes = self._start_value, self._start_hashes
        last = state["last_value"]
        boundary = set(state["unique_hashes"])
        kept: list[Any] = []
        for item in items:
            value = _lookup(item, self._path)
            if value is _MISSING or value is None:
                if self.on_cursor_value_missing == "raise":
                    raise TerminalError(
                        f"resource {self.resource_name!r}: cursor {self.cursor_path!r} missing in item {item!r:.200}"
                    )
                if self.on_cursor_value_missing == "include":
                    kept.append(item)
                continue
            if self.end_value is not None and not self._is_newer(self.end_value, value):
                continue
            if start is not None:
                if self._is_newer(start, value):
                    continue
                if value == start:
                    h = _row_hash(item)
                    if h in start_hashes:
                        continue
            kept.append(item)
            if last is None or self._is_newer(value, last):
                last = value
                boundary = {_row_hash(item)}
            elif value == last:
                boundary.add(_row_hash(item))
        state["last_value"] = last
        state["unique_hashes"] = sorted(boundary)
        return kept

    def filter_arrow(self, table: Any) -> Any:
        """Arrow tables: drop rows at or before the stored value (ties kept), update last_value."""
        import pyarrow.compute as pc

        state = self._state
        assert state is not None
        column = table.column(self._path[0]) if len(self._path) == 1 else None
        if column is None:
            raise TerminalError(f"incremental on Arrow data needs a top-level column, got {self.cursor_path!r}")
        ascending = self.last_value_func((1, 2)) == 2
        if self._start_value is not None:
            mask = pc.greater_equal(column, self._start_value) if ascending else pc.less_equal(column, self._start_value)
            table = table.filter(mask)
            column = table.column(self._path[0])
        if len(table):
            edge = pc.max(column).as_py() if ascending else pc.min(column).as_py()
            last = state["last_value"]
            if last is None or self._is_newer(edge, last):
                state["last_value"] = edge
        return table
