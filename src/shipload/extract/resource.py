"""Resources (named streams of items with table hints), transformers and sources."""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from shipload.exceptions import TerminalError
from shipload.extract import context
from shipload.extract.incremental import Incremental

TableHints = dict[str, Any]
HINT_KEYS = (
    "table_name", "write_disposition", "primary_key", "merge_key", "columns", "max_table_nesting",
    "schema_contract", "file_format", "merge_strategy", "replace_strategy", "scd2", "table_description",
    "table_extra",
)


def _is_arrow(item: Any) -> bool:
    """An Arrow Table or RecordBatch, or a pandas DataFrame (made an Arrow table by `_as_arrow`)."""
    cls = type(item)
    mod = cls.__module__
    return (mod.startswith("pyarrow") and cls.__name__ in ("Table", "RecordBatch")) or (
        mod.startswith("pandas") and cls.__name__ == "DataFrame")


def _as_arrow(item: Any, resource_name: str) -> Any:
    """A pandas DataFrame as an Arrow table (its index dropped; columns typed by pyarrow); any other
    item unchanged. A DataFrame pyarrow cannot convert is refused naming the resource and column."""
    if type(item).__name__ == "DataFrame" and type(item).__module__.startswith("pandas"):
        import pyarrow as pa

        try:
            return pa.Table.from_pandas(item, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise TerminalError(f"resource {resource_name!r}: a pandas DataFrame cannot be made Arrow: {exc}") from None
    return item


class Resource:
    """A named producer of items (dicts, lists of dicts, Arrow tables) plus hints for its table."""

    def __init__(
        self,
        data: Any,
        name: str,
        hints: TableHints | None = None,
        selected: bool = True,
        parent: Resource | None = None,
        section: str | None = None,
    ) -> None:
        self.name = name
        self._data = data
        self.hints: TableHints = dict(hints or {})
        self.selected = selected
        self.parent = parent
        self.section = section
        self._args: tuple[Any, ...] = ()
        self._kwargs: dict[str, Any] = {}
        self._bound = not callable(data) or _is_arrow(data)

    # -- configuration ------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Resource:
        """Bind arguments of the resource function; returns a new resource."""
        bound = copy.copy(self)
        bound.hints = dict(self.hints)
        bound._args, bound._kwargs, bound._bound = args, kwargs, True
        return bound

    def apply_hints(self, **hints: Any) -> Resource:
        unknown = set(hints) - set(HINT_KEYS)
        if unknown:
            raise TypeError(f"unknown hints for resource {self.name!r}: {sorted(unknown)}")
        wd = hints.pop("write_disposition", None)
        self.hints.update({k: v for k, v in hints.items() if v is not None})
        self.hints.update(_disposition_hints(wd))
        return self

    def with_name(self, name: str) -> Resource:
        clone = copy.copy(self)
        clone.hints = dict(self.hints)
        clone.name = name
        return clone

    @property
    def table_name(self) -> Any:
        return self.hints.get("table_name") or self.name

    @property
    def write_disposition(self) -> str:
        return self.hints.get("write_disposition") or "append"

    def incremental_param(self) -> tuple[str, Incremental] | None:
        fn = self._data
        if not callable(fn) or _is_arrow(fn):
            return None
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return None
        for pname, p in params.items():
            if pname in self._kwargs and isinstance(self._kwargs[pname], Incremental):
                return pname, self._kwargs[pname]
            if isinstance(p.default, Incremental) and pname not in self._kwargs:
                return pname, p.default
        return None

    # -- iteration ----------------------------------------------------------------------------
    def _bind_incremental(self, state: dict[str, Any]) -> tuple[dict[str, Any], Incremental | None]:
        kwargs = dict(self._kwargs)
        inc = self.incremental_param()
        if inc is None:
            return kwargs, None
        bound = inc[1].bind(state, self.name)
        kwargs[inc[0]] = bound
        return kwargs, bound

    def produce(self, state: dict[str, Any]) -> Iterator[tuple[Any, Incremental | None]]:
        """Yield raw items of a resource that has no parent, with the incremental that filters them."""
        kwargs, bound = self._bind_incremental(state)
        with context.resource_context(self.name, state):
            data = self._data
            if callable(data) and not _is_arrow(data):
                data = data(*self._args, **kwargs)
            if isinstance(data, dict) or _is_arrow(data):
                data = [data]
            elif data is None:
                data = []
            elif isinstance(data, (str, bytes)):
                raise TerminalError(f"resource {self.name!r} produced a string; yield dicts, lists or Arrow tables")
            for item in data:
                yield _as_arrow(item, self.name), bound

    def prepare(self, state: dict[str, Any]) -> tuple[dict[str, Any], Incremental | None]:
        """Bind the incremental once per extraction (transformers are called once per parent item)."""
        return self._bind_incremental(state)

    def transform(
        self, item: Any, state: dict[str, Any], prepared: tuple[dict[str, Any], Incremental | None]
    ) -> Iterator[tuple[Any, Incremental | None]]:
        """Call a transformer with one item of its parent; yield what it produces."""
        kwargs, bound = prepared
        with context.resource_context(self.name, state):
            out = self._data(item, *self._args, **kwargs)
            if out is None:
                return
            if isinstance(out, dict) or _is_arrow(out):
                out = [out]
            for produced in out:
                yield _as_arrow(produced, self.name), bound

    def __repr__(self) -> str:
        return f"<Resource {self.name!r} selected={self.selected} hints={sorted(self.hints)}>"


class Source:
    """A named group of resources; its name is the schema name."""

    def __init__(self, name: str, resources: list[Resource], hints: TableHints | None = None) -> None:
        self.name = name
        self.hints = dict(hints or {})
        self._resources: dict[str, Resource] = {}
        for r in resources:
            if r.name in self._resources:
                raise TerminalError(f"source {name!r} has two resources named {r.name!r}")
            self._resources[r.name] = r

    @property
    def resources(self) -> dict[str, Resource]:
        return self._resources

    @property
    def selected_resources(self) -> list[Resource]:
        return [r for r in self._resources.values() if r.selected]

    def with_resources(self, *names: str) -> Source:
        missing = [n for n in names if n not in self._resources]
        if missing:
            raise TerminalError(f"source {self.name!r} has no resources {missing}; it has {list(self._resources)}")
        clone = Source(self.name, [copy.copy(r) for r in self._resources.values()], self.hints)
        for r in clone._resources.values():
            r.selected = r.name in names
        return clone

    def __getattr__(self, name: str) -> Resource:
        resources = self.__dict__.get("_resources", {})
        if name in resources:
            return resources[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"<Source {self.name!r} resources={list(self._resources)}>"


def _hints_from_kwargs(**kwargs: Any) -> TableHints:
    return {k: v for k, v in kwargs.items() if v is not None}


def resource(
    data: Any = None,
    /,
    name: str | None = None,
    table_name: str | Callable[[Any], str] | None = None,
    write_disposition: str | dict[str, Any] | None = None,
    primary_key: str | list[str] | None = None,
    merge_key: str | list[str] | None = None,
    columns: Any = None,
    max_table_nesting: int | None = None,
    schema_contract: str | dict[str, str] | None = None,
    file_format: str | None = None,
    selected: bool = True,
    data_from: Resource | None = None,
) -> Any:
    """Decorate a generator function (or wrap data) as a resource.

    `write_disposition` may be a dict like ``{"disposition": "merge", "strategy": "scd2"}``.
    """
    hints = _hints_from_kwargs(
        table_name=table_name, primary_key=primary_key, merge_key=merge_key, columns=columns,
        max_table_nesting=max_table_nesting, schema_contract=schema_contract, file_format=file_format,
    )
    hints.update(_disposition_hints(write_disposition))

    def wrap(fn: Any) -> Resource:
        rname = name or getattr(fn, "__name__", None) or "data"
        res = Resource(fn, rname, hints, selected=selected, parent=data_from)
        if callable(fn):
            functools.update_wrapper(res, fn, updated=())  # type: ignore[arg-type]
        return res

    if data is None:
        return wrap
    if callable(data) and not _is_arrow(data):
        return wrap(data)
    if name is None and not isinstance(data, Resource):
        raise TerminalError("resource(data) needs a name= when wrapping data that is not a function")
    return wrap(data)


def transformer(
    fn: Any = None,
    /,
    data_from: Resource | None = None,
    **kwargs: Any,
) -> Any:
    """A resource fed by another one: the function is called with each item its parent yields."""

    def wrap(f: Any) -> Resource:
        if data_from is None:
            raise TerminalError(f"transformer {getattr(f, '__name__', f)!r} needs data_from=<resource>")
        return resource(f, data_from=data_from, **kwargs)

    return wrap if fn is None else wrap(fn)


def _disposition_hints(write_disposition: str | dict[str, Any] | None) -> TableHints:
    if write_disposition is None:
        return {}
    if isinstance(write_disposition, str):
        return {"write_disposition": write_disposition}
    wd = dict(write_disposition)
    disposition = wd.pop("disposition", None)
    if disposition is None:
        raise TerminalError("write_disposition dict needs a 'disposition' key")
    out: TableHints = {"write_disposition": disposition}
    strategy = wd.pop("strategy", None)
    if strategy is not None:
        out["merge_strategy" if disposition == "merge" else "replace_strategy"] = strategy
    if wd:
        out["scd2"] = wd
    return out


def source(
    fn: Any = None,
    /,
    name: str | None = None,
    max_table_nesting: int | None = None,
    schema_contract: str | dict[str, str] | None = None,
    detections: list[str] | None = None,
) -> Any:
    """Decorate a function returning resources (or a list of them) as a source factory.

    `detections` sets the source schema's detections (see shipload.schema.detections)."""

    def wrap(f: Callable[..., Any]) -> Callable[..., Source]:
        sname = name or f.__name__

        @functools.wraps(f)
        def make(*args: Any, **kwargs: Any) -> Source:
            produced = f(*args, **kwargs)
            if isinstance(produced, Resource):
                produced = [produced]
            resources = [r if isinstance(r, Resource) else resource(r, name=f"{sname}_data") for r in produced]
            hints = _hints_from_kwargs(max_table_nesting=max_table_nesting, schema_contract=schema_contract,
                                       detections=detections)
            return Source(sname, list(resources), hints)

        return make

    return wrap if fn is None else wrap(fn)
