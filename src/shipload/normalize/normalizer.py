"""Normalize: one extracted package in, one load package (typed load files per table) out.

Big packages are normalized by two processes when the machine has two cores: a forked worker takes
part of the page files with its own copy of the schema and its own load files; its schema changes
are merged back when they agree (same data type for every column both saw). When they do not, or
the worker fails, its files are discarded and the main process normalizes those pages itself, so
the result is always what one process would have made."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipload.exceptions import TerminalError
from shipload.extract.extractor import read_pages
from shipload.normalize.arrow_input import ArrowNormalizer
from shipload.normalize.relational import RelationalNormalizer
from shipload.normalize.schema_merge import merge_schema
from shipload.normalize.table_page import TablePageNormalizer
from shipload.normalize.text_size import TextPolicy
from shipload.packages.storage import JobFileName, LoadPackage, PipelineStorage
from shipload.schema.hints import apply_hints
from shipload.schema.schema import Schema
from shipload.utils.faults import crash_point
from shipload.utils.files import read_json, remove_tree, write_json
from shipload.utils.gcpause import paused_gc
from shipload.utils.ids import new_file_id
from shipload.writers.base import WriterPool
from shipload.writers.registry import writer_class
from shipload.writers.sql_frames import write_sql_job

log = logging.getLogger("shipload.normalize")

DEFAULT_MAX_NESTING = 1000
#: a package needs at least this many page files before a second process is worth forking
PARALLEL_MIN_FILES = 2


def default_workers() -> int:
    """NORMALIZE__WORKERS, else 2 on a machine with two or more cores, else 1."""
    configured = os.environ.get("NORMALIZE__WORKERS")
    if configured:
        return max(1, int(configured))
    return 2 if (os.cpu_count() or 1) >= 2 else 1


@dataclass
class _Part:
    """What normalizing some page files produced."""

    row_counts: dict[str, int] = field(default_factory=dict)
    new_tables: set[str] = field(default_factory=set)


class Normalizer:
    def __init__(
        self,
        storage: PipelineStorage,
        choose_format: Any,
        writer_options: dict[str, Any] | None = None,
        max_rows_per_file: int = 1_000_000,
        max_bytes_per_file: int = 128 * 1024 * 1024,
        text_policy: TextPolicy | None = None,
        workers: int | None = None,
        package_hook: Any = None,
    ) -> None:
        self.storage = storage
        self.choose_format = choose_format  # callable(Schema, Table) -> file format name
        self.writer_options = writer_options or {}
        self.max_rows_per_file = max_rows_per_file
        self.max_bytes_per_file = max_bytes_per_file
        self.text_policy = text_policy
        self.workers = workers if workers is not None else default_workers()
        #: callable(package folder, schema), run on the finished package before it is published
        self.package_hook = package_hook

    @paused_gc()
    def normalize(self, extracted: Path, live_schema: Schema) -> tuple[LoadPackage, Schema, dict[str, int]]:
        """Write the load package for `extracted`; returns it, the evolved schema and row counts."""
        load_id = extracted.name
        schema = live_schema.clone()
        hints = read_json(extracted / "hints.json", {})
        for table_name, entry in hints.items():
            apply_hints(schema, table_name, entry["hints"], entry["resource"])
        work = self.storage.folder("normalize", "new") / load_id
        remove_tree(work)
        package = LoadPackage(work)
        package.ensure_layout()
        files = sorted((extracted / "pages").iterdir())
        sql_roots = {t.name for t in schema.tables.values() if t.file_format == "sql"}
        data_files = [f for f in files if _root_of(f) not in sql_roots]
        for path in files:
            if _root_of(path) in sql_roots:
                self._sql_job(path, work / "new_jobs", _root_of(path))
        part = self._normalize_pages(data_files, schema, load_id, work)
        self.normalize_arrow(extracted / "arrow", schema, load_id, work, part)
        state = read_json(extracted / "package_state.json", {})
        target = self.publish(work, schema, part, state, hints)
        remove_tree(extracted)
        return LoadPackage(target), schema, part.row_counts

    def normalize_arrow(self, arrow_dir: Path, schema: Schema, load_id: str, work: Path, part: _Part) -> None:
        """Arrow IPC files of the extracted package to load files (no Python objects per row)."""
        if not arrow_dir.exists() or not any(arrow_dir.iterdir()):
            return
        pool = self._pool(schema, work / "new_jobs")
        pages = TablePageNormalizer(schema, load_id, self.text_policy)
        arrow = ArrowNormalizer(schema, load_id, pages)
        for path in sorted(arrow_dir.iterdir()):
            arrow.normalize_file(path, pool)
        pool.close()
        _add(part, pool.row_counts, pages.new_tables)

    def publish(self, work: Path, schema: Schema, part: _Part, state: dict[str, Any],
                hints: dict[str, Any]) -> Path:
        """Write the package's state and schema, then move it to load/normalized (its commit)."""
        schema.bump_version()
        state["row_counts"] = part.row_counts
        state["schema_version_hash"] = schema.version_hash
        state["new_tables"] = sorted(part.new_tables)
        state["replace_tables"] = sorted(
            t for t in hints if t in schema.tables and schema.write_disposition(t) == "replace"
        )
        if self.package_hook is not None:
            self.package_hook(work, schema)
        LoadPackage(work).save_state(state)
        write_json(work / "schema.json", schema.to_dict())
        target = self.storage.folder("load", "normalized") / work.name
        os.replace(work, target)
        crash_point("normalize.renamed")
        return target

    # -- pages ------------------------------------------------------------------------------------
    def _normalize_pages(self, files: list[Path], schema: Schema, load_id: str, work: Path) -> _Part:
        if self.workers < 2 or len(files) < PARALLEL_MIN_FILES or "fork" not in multiprocessing.get_all_start_methods():
            return self._run_files(files, schema, load_id, work / "new_jobs")
        mine, theirs = files[0::2], files[1::2]
        folder = work / "worker"
        folder.mkdir()
        ctx = multiprocessing.get_context("fork")
        receive, send = ctx.Pipe(duplex=False)
        worker = ctx.Process(target=self._worker, args=(theirs, schema, load_id, folder, send), daemon=True)
        worker.start()
        send.close()
        part = self._run_files(mine, schema, load_id, work / "new_jobs")
        try:
            result = receive.recv()
        except EOFError:  # the worker died without a word (killed): redo its pages here
            result = None
        worker.join()
        merged = (
            result is not None and result[0] == "ok" and worker.exitcode == 0
            and merge_schema(schema, Schema.from_dict(result[1], schema.naming.max_length))
        )
        if merged:
            log.info("normalize: a second process normalized %d of %d page files", len(theirs), len(files))
            for path in folder.iterdir():
                os.replace(path, work / "new_jobs" / path.name)
            _add(part, result[2], set(result[3]))
        else:  # the worker failed or its schema disagrees: do its pages here, as one process would
            log.info("normalize: the second process %s; its pages are normalized again here",
                     "disagreed on column types" if result and result[0] == "ok" else "failed")
            extra = self._run_files(theirs, schema, load_id, work / "new_jobs")
            _add(part, extra.row_counts, extra.new_tables)
        shutil.rmtree(folder, ignore_errors=True)
        return part

    def _worker(self, files: list[Path], schema: Schema, load_id: str, folder: Path, send: Any) -> None:
        try:
            parent = os.getppid()

            def orphaned() -> None:  # the main process was killed: stop, its rerun starts over
                if os.getppid() != parent:
                    os._exit(1)

            part = self._run_files(files, schema, load_id, folder, page_point="normalize.worker_page", on_page=orphaned)
            send.send(("ok", schema.to_dict(), part.row_counts, sorted(part.new_tables)))
        except BaseException:
            send.send(("error", traceback.format_exc()))
        finally:
            send.close()
            os._exit(0)

    def _run_files(
        self, files: list[Path], schema: Schema, load_id: str, folder: Path, page_point: str = "normalize.page",
        on_page: Callable[[], None] | None = None,
    ) -> _Part:
        sink = self.page_sink(schema, load_id, folder, page_point, on_page)
        for path in files:
            root = _root_of(path)
            for page in read_pages(path):
                sink.page(root, page)
        return sink.close()

    def page_sink(
        self, schema: Schema, load_id: str, folder: Path, page_point: str = "normalize.page",
        on_page: Callable[[], None] | None = None,
    ) -> PageSink:
        """Normalizes pages handed to it one by one into load files in `folder`."""
        return PageSink(self, schema, load_id, folder, page_point, on_page)

    def _pool(self, schema: Schema, folder: Path) -> WriterPool:
        return WriterPool(
            folder,
            lambda table: writer_class(self.choose_format(schema, table)),
            self.max_rows_per_file,
            self.max_bytes_per_file,
            self.writer_options,
        )

    @staticmethod
    def _sql_job(pages: Path, folder: Path, table: str) -> None:
        Normalizer.sql_job(read_pages(pages), folder, table)

    @staticmethod
    def sql_job(pages: Iterable[list[Any]], folder: Path, table: str) -> None:
        """A resource with file_format="sql" yields SQL statements: one job file, one transaction."""
        statements: list[str] = []
        for page in pages:
            for item in page:
                if not isinstance(item, str):
                    raise TerminalError(f"resource {table!r} has file_format 'sql': items must be SQL strings, got {item!r:.100}")
                statements.append(item)
        write_sql_job(folder / JobFileName(table, new_file_id(), 0, "sql").name, statements)

    def _flattener(self, schema: Schema, root: str) -> RelationalNormalizer:
        table = schema.tables.get(root)
        max_nesting = table.max_nesting if table is not None and table.max_nesting is not None else DEFAULT_MAX_NESTING
        json_columns = {
            t.name: {c.name for c in t.columns.values() if c.data_type == "json"}
            for t in schema.tables.values()
        }
        with_root_id = table is not None and table.write_disposition == "merge"
        content_ids = with_root_id and table.merge_strategy == "scd2"
        return RelationalNormalizer(schema.naming, root, max_nesting, json_columns, with_root_id, content_ids)


class PageSink:
    """Pages of items in, load files out: flattens each page and writes its tables' rows."""

    def __init__(self, normalizer: Normalizer, schema: Schema, load_id: str, folder: Path, page_point: str,
                 on_page: Callable[[], None] | None) -> None:
        self.schema, self.page_point, self.on_page = schema, page_point, on_page
        self._normalizer = normalizer
        self.pool = normalizer._pool(schema, folder)
        self.pages = TablePageNormalizer(schema, load_id, normalizer.text_policy)
        self.flatteners: dict[str, RelationalNormalizer] = {}

    def page(self, root: str, page: list[Any]) -> None:
        flattener = self.flatteners.get(root)
        if flattener is None:
            flattener = self.flatteners[root] = self._normalizer._flattener(self.schema, root)
        tables, root_ids = flattener.normalize_page(page)
        dropped: set[str] = set()
        for table_name, (columns, n) in tables.items():
            is_root = table_name == root
            parent = None if is_root else flattener.parent_of[table_name]
            done = self.pages.process(table_name, parent, columns, n, root_ids if is_root else None, dropped)
            if done is not None:
                cols, kept = done
                self.pool.write(self.schema.tables[table_name], cols, kept)
        crash_point(self.page_point)
        if self.on_page is not None:
            self.on_page()

    def close(self) -> _Part:
        self.pool.close()
        return _Part(dict(self.pool.row_counts), set(self.pages.new_tables))


def _root_of(path: Path) -> str:
    return path.name.split(".", 1)[0]


def _add(part: _Part, row_counts: dict[str, int], new_tables: set[str]) -> None:
    for table, n in row_counts.items():
        part.row_counts[table] = part.row_counts.get(table, 0) + n
    part.new_tables |= new_tables
