"""Extract: run resources, filter incrementals, write pages of items into an extracted package.

Pages of Python items are pickled (one pickle per page of up to `page_size` items) because the
files never leave this machine and pickle keeps every Python type (Decimal, datetime, bytes, UUID)
without a second serialization format; Arrow data is written as Arrow IPC files, untouched.
"""

from __future__ import annotations

import copyreg
import os
import pickle
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipload.exceptions import TerminalError
from shipload.extract import context
from shipload.extract.incremental import Incremental
from shipload.extract.resource import Resource, _is_arrow
from shipload.packages.storage import PipelineStorage
from shipload.pipeline import progress
from shipload.schema.hints import column_hints_as_dicts
from shipload.schema.naming import SnakeCaseNaming
from shipload.schema.types import py_type_to_data_type
from shipload.utils.faults import crash_point
from shipload.utils.files import fsync_dir, write_json
from shipload.utils.gcpause import paused_gc
from shipload.utils.ids import new_file_id, new_load_id
from shipload.utils.typed import to_tagged

PAGE_SIZE = 1000
PAGES_PER_FILE = 20  # several files per big package: normalize splits work by file
#: callable(table, page): takes each full page instead of the page file (streamed runs)
PageSink = Callable[[str, list[Any]], None]
#: types pickle cannot keep, stored as what normalize reads them as (memoryview: its bytes)
_PAGE_REDUCERS = {**copyreg.dispatch_table, memoryview: lambda m: (bytes, (m.tobytes(),))}


class _TableFile:
    """Appends pickled pages of one table to a file, rotating after PAGES_PER_FILE pages."""

    def __init__(self, folder: Path, table: str, sink: PageSink | None = None) -> None:
        self.folder, self.table, self.sink = folder, table, sink
        self.buffer: list[Any] = []
        self._file: Any = None
        self._pages = 0
        self._files = 0
        self.items = 0

    def add(self, items: list[Any]) -> None:
        self.buffer.extend(items)
        self.items += len(items)
        progress.report("extract", self.table, rows=len(items))
        while len(self.buffer) >= PAGE_SIZE:
            self._dump(self.buffer[:PAGE_SIZE])
            del self.buffer[:PAGE_SIZE]

    def _dump(self, page: list[Any]) -> None:
        if self.sink is not None:
            self.sink(self.table, page)
            crash_point("extract.page")
            return
        if self._file is None or self._pages >= PAGES_PER_FILE:
            self._close_file()
            # numbered so that files sort in the order their pages were made
            self._file = open(self.folder / f"{self.table}.{self._files:06d}-{new_file_id()}.pickle", "wb")
            self._files += 1
            self._pages = 0
            progress.report("extract", self.table, files=1)
        try:
            pickler = pickle.Pickler(self._file, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = _PAGE_REDUCERS
            pickler.dump(page)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise _unstorable(self.table, page) or TerminalError(f"table {self.table!r}: {exc}") from None
        self._pages += 1
        crash_point("extract.page")

    def close(self) -> None:
        if self.buffer:
            page, self.buffer = self.buffer, []
            self._dump(page)
        self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


def _unstorable(table: str, page: list[Any]) -> TerminalError | None:
    """An error naming the first value of a type shipload cannot store (table, column path, value)."""

    def find(value: Any, path: str) -> TerminalError | None:
        if isinstance(value, dict):
            for k, v in value.items():
                found = find(v, f"{path}.{k}" if path else str(k))
                if found:
                    return found
        elif isinstance(value, (list, tuple)):
            for v in value:
                found = find(v, path)
                if found:
                    return found
        elif value is not None and py_type_to_data_type(type(value)) is None:
            return TerminalError(
                f"table {table!r}, column {path!r}: cannot store value {value!r:.100} of type "
                f"{type(value).__name__}; convert it to str, int, float, Decimal, datetime, bytes, dict or list"
            )
        return None

    for item in page:
        found = find(item, "")
        if found:
            return found
    return None


def read_pages(path: Path) -> Any:
    """Yield the pages of one extracted pickle file."""
    with open(path, "rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


class _PackageWriter:
    """The extracted package being written: pages and Arrow files per table, and each table's hints."""

    def __init__(self, work: Path, naming: SnakeCaseNaming, source_hints: dict[str, Any],
                 page_sink: PageSink | None = None) -> None:
        self.work, self.naming, self.source_hints, self.page_sink = work, naming, source_hints, page_sink
        self.pages_dir, self.arrow_dir = work / "pages", work / "arrow"
        self.pages_dir.mkdir()
        self.arrow_dir.mkdir()
        self.files: dict[str, _TableFile] = {}
        self.hints: dict[str, dict[str, Any]] = {}
        self.arrow_counts: dict[str, int] = defaultdict(int)

    def table_for(self, res: Resource, item: Any) -> str:
        """The (normalized) table an item of `res` goes to; records the table's hints once."""
        tname = res.table_name
        raw = tname(item) if callable(tname) else tname
        table = self.naming.normalize_identifier(raw)
        if table not in self.hints:
            merged = {**self.source_hints, **res.hints}
            merged.pop("table_name", None)
            if "columns" in merged:
                merged["columns"] = column_hints_as_dicts(merged["columns"])
            self.hints[table] = {"resource": res.name, "hints": merged}
        return table

    def write(self, res: Resource, item: Any) -> None:
        """An Arrow table/batch, or a list of items (grouped by table when the name is dynamic)."""
        if _is_arrow(item):
            table = self.table_for(res, None)
            _write_arrow(self.arrow_dir / f"{table}.{new_file_id()}.arrow", item)
            self.arrow_counts[table] += len(item)
            progress.report("extract", table, rows=len(item), files=1)
            return
        if callable(res.table_name):
            grouped: dict[str, list[Any]] = defaultdict(list)
            for it in item:
                grouped[self.table_for(res, it)].append(it)
            groups: Any = grouped.items()
        else:
            groups = [(self.table_for(res, None), item)]
        for table, items in groups:
            tf = self.files.get(table)
            if tf is None:
                tf = self.files[table] = _TableFile(self.pages_dir, table, self.page_sink)
            tf.add(items)

    def register_static(self, resources: list[Resource]) -> None:
        """Record the hints of every resource with a fixed table name (one that yields nothing counts:
        replace empties its table)."""
        for res in resources:
            if not callable(res.table_name):
                self.table_for(res, None)

    def finish(self, resources: list[Resource]) -> dict[str, int]:
        """Flush the pages; item counts per table."""
        for tf in self.files.values():
            tf.close()
        self.register_static(resources)
        counts = {t: tf.items for t, tf in self.files.items()}
        for t, n in self.arrow_counts.items():
            counts[t] = counts.get(t, 0) + n
        return counts


class _ResourceTree:
    """Selected resources with their parents: roots produce, transformers get their parent's items."""

    def __init__(self, resources: list[Resource], resource_states: dict[str, Any], writer: _PackageWriter) -> None:
        self.children: dict[str, list[Resource]] = defaultdict(list)
        self.roots: dict[str, Resource] = {}
        for res in resources:
            node = res
            while node.parent is not None:
                if node not in self.children[node.parent.name]:
                    self.children[node.parent.name].append(node)
                node = node.parent
            self.roots.setdefault(node.name, node)
        self.selected = {r.name for r in resources}
        self.prepared: dict[str, Any] = {}
        self.states = resource_states
        self.writer = writer

    def run(self) -> None:
        for root in self.roots.values():
            for item, inc in root.produce(self.states.setdefault(root.name, {})):
                self.feed(root, item, inc)

    def feed(self, res: Resource, item: Any, inc: Incremental | None) -> None:
        """Filter `item` by the incremental, write it if `res` is selected, pass it to the children."""
        if _is_arrow(item):
            if inc is not None:
                item = inc.filter_arrow(item)
            if not len(item):
                return
        else:
            was_list = isinstance(item, list)
            batch = item if was_list else [item]
            if inc is not None:
                batch = inc.filter_page(batch)
            if not batch:
                return
            item = batch if was_list else batch[0]
        if res.name in self.selected:
            self.writer.write(res, item if isinstance(item, list) or _is_arrow(item) else [item])
        for child in self.children.get(res.name, []):
            cstate = self.states.setdefault(child.name, {})
            if child.name not in self.prepared:
                self.prepared[child.name] = child.prepare(cstate)
            for out, cinc in child.transform(item, cstate, self.prepared[child.name]):
                self.feed(child, out, cinc)


class Extractor:
    def __init__(self, storage: PipelineStorage, naming: SnakeCaseNaming) -> None:
        self.storage = storage
        self.naming = naming

    @paused_gc()
    def extract(
        self,
        resources: list[Resource],
        schema_name: str,
        state: dict[str, Any],
        source_hints: dict[str, Any],
        pipeline_state: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, int]]:
        """Write one extracted package; returns its load id and item counts per table.

        `state` (the source's part of `pipeline_state`) is updated in place by the resources;
        the whole `pipeline_state` is stored in the package, committed with it by the rename."""
        load_id = new_load_id()
        work = self.storage.folder("extract", "new", load_id)
        writer = _PackageWriter(work, self.naming, source_hints)
        package_state = self.run_resources(writer, resources, schema_name, state, pipeline_state, load_id)
        write_json(work / "hints.json", writer.hints)
        write_json(work / "package_state.json", package_state)
        fsync_dir(writer.pages_dir)
        os.replace(work, self.storage.folder("extract", "extracted") / load_id)
        return load_id, package_state["item_counts"]

    @staticmethod
    def run_resources(
        writer: _PackageWriter, resources: list[Resource], schema_name: str, state: dict[str, Any],
        pipeline_state: dict[str, Any] | None, load_id: str,
    ) -> dict[str, Any]:
        """Run the resources into `writer`; returns the package state (pipeline state after extract)."""
        with context.pipeline_state_context(state):
            _ResourceTree(resources, state.setdefault("resources", {}), writer).run()
        counts = writer.finish(resources)
        return {
            "load_id": load_id, "schema_name": schema_name, "created_at": time.time(),
            "pipeline_state": to_tagged(pipeline_state if pipeline_state is not None else state), "item_counts": counts,
        }


def _write_arrow(path: Path, data: Any) -> None:
    import pyarrow as pa

    table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
