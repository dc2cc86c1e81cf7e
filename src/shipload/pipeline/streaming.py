"""`run()`'s extract and normalize in one pass: each page of items is normalized as it is extracted.

The extracted package is not written: the load package (``normalize/new/<load_id>`` until it is
complete, then renamed to ``load/normalized``) is the crash-safe record. A crash before that rename
leaves only half-written folders, which the next run removes before it extracts again; the pipeline
state (incremental cursors) travels in the package and is adopted only when the package is loaded,
so the rerun extracts the same items again.

Both cores stay in use: pages are handed out in groups of `extractor.PAGES_PER_FILE`; even groups
are normalized here, while extract runs, odd ones are pickled into spool files
(``extract/new/<load_id>/spool``) that a forked worker normalizes with its own copy of the schema.
As in the two-process normalize of an extracted package, the worker's schema is merged when it
agrees with this process's; otherwise (or when the worker dies) this process normalizes the spool
files itself, so the outcome is what one process gives. Arrow data and `file_format="sql"` tables
take the extracted package's path (Arrow IPC files, statement lists) and are finished at the end.

`NORMALIZE__STREAM=false` makes `run()` write and read the extracted package instead (as
`extract()` + `normalize()` do).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import shutil
import time
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Any

from shipload.exceptions import PipelineStepFailed, TerminalError
from shipload.extract import extractor
from shipload.extract.extractor import Extractor, _PackageWriter, _unstorable, read_pages
from shipload.normalize.normalizer import Normalizer, PageSink, _add, _Part
from shipload.normalize.schema_merge import merge_schema
from shipload.packages.storage import LoadPackage
from shipload.schema.hints import apply_hints
from shipload.schema.schema import Schema
from shipload.utils.faults import crash_point
from shipload.utils.files import remove_tree, write_json
from shipload.utils.gcpause import paused_gc
from shipload.utils.ids import new_load_id

log = logging.getLogger("shipload.normalize")



def streaming_enabled() -> bool:
    """NORMALIZE__STREAM (default true): `run()` normalizes pages as they are extracted."""
    return os.environ.get("NORMALIZE__STREAM", "true").strip().lower() not in ("0", "false", "no", "off")


class NormalizeFailed(Exception):
    """Normalizing a streamed page failed (the cause is the normalize error, not the resource's)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Worker:
    """The forked second process: normalizes the spool files it is sent, reports its schema."""

    def __init__(self, normalizer: Normalizer, schema: Schema, load_id: str, folder: Path) -> None:
        folder.mkdir()
        self.folder = folder
        ctx = multiprocessing.get_context("fork")
        self._results, results_out = ctx.Pipe(duplex=False)
        commands_in, self._commands = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=self._main, daemon=True,
                                   args=(normalizer, schema, load_id, commands_in, results_out))
        self.process.start()
        commands_in.close()
        results_out.close()
        self.alive = True

    def _main(self, normalizer: Normalizer, schema: Schema, load_id: str, commands: Any, results: Any) -> None:
        self._commands.close()  # the main process's end: a killed main process then reads as EOF here
        self._results.close()
        try:
            parent = os.getppid()

            def orphaned() -> None:  # the main process was killed: stop, its rerun starts over
                if os.getppid() != parent:
                    os._exit(1)

            sink = normalizer.page_sink(schema, load_id, self.folder, "normalize.worker_page", orphaned)
            while True:
                try:
                    message = commands.recv()
                except EOFError:
                    os._exit(1)
                if message[0] == "end":
                    break
                _, path, hints = message
                for table, entry in hints.items():
                    apply_hints(schema, table, entry["hints"], entry["resource"])
                for root, page in read_pages(path):
                    sink.page(root, page)
            part = sink.close()
            results.send(("ok", schema.to_dict(), part.row_counts, sorted(part.new_tables)))
        except BaseException:
            try:
                results.send(("error", traceback.format_exc()))
            except OSError:
                pass
        finally:
            os._exit(0)

    def send(self, path: Path, hints: dict[str, Any]) -> None:
        if not self.alive:
            return
        try:
            self._commands.send(("file", str(path), hints))
        except OSError:  # the worker is gone: its files are redone here
            self.alive = False

    def result(self) -> Any:
        """("ok", schema, row counts, new tables), ("error", traceback), or None (died without a word)."""
        try:
            self._commands.send(("end",))
        except OSError:
            pass
        self._commands.close()
        try:
            result = self._results.recv()
        except EOFError:
            result = None
        self.process.join()
        if self.process.exitcode != 0 and result is not None and result[0] == "ok":
            result = None
        return result


class _StreamedPages:
    """Takes each extracted page: applies its table's hints once, then normalizes it here or spools
    it for the worker (alternating groups of extractor.PAGES_PER_FILE pages)."""

    def __init__(self, normalizer: Normalizer, schema: Schema, load_id: str, work: Path, spool: Path,
                 writer: _PackageWriter) -> None:
        self.normalizer, self.schema, self.load_id, self.work = normalizer, schema, load_id, work
        self.spool, self.writer = spool, writer
        self._sink: PageSink | None = None
        self.parallel = normalizer.workers >= 2 and "fork" in multiprocessing.get_all_start_methods()
        self.worker: _Worker | None = None
        self.applied: set[str] = set()
        self.unsent_hints: dict[str, Any] = {}
        self.sql_pages: dict[str, list[list[Any]]] = defaultdict(list)
        self.pages = 0
        self.spooled: list[Path] = []  # files meant for the worker, in order
        self._file: Any = None

    def __call__(self, table: str, page: list[Any]) -> None:
        try:
            self._take(table, page)
        except NormalizeFailed:
            raise
        except Exception as exc:
            raise NormalizeFailed(exc) from exc

    def apply_hints(self, table: str) -> None:
        if table in self.applied:
            return
        entry = self.writer.hints[table]
        apply_hints(self.schema, table, entry["hints"], entry["resource"])
        self.applied.add(table)
        self.unsent_hints[table] = entry

    @property
    def sink(self) -> PageSink:
        """Made at the first page, once the hints (detections among them) are applied."""
        if self._sink is None:
            self._sink = self.normalizer.page_sink(self.schema, self.load_id, self.work / "new_jobs")
        return self._sink

    def _take(self, table: str, page: list[Any]) -> None:
        self.apply_hints(table)
        if self.schema.tables[table].file_format == "sql":
            self.sql_pages[table].append(page)
            return
        group, self.pages = self.pages // extractor.PAGES_PER_FILE, self.pages + 1
        to_worker = self.parallel and group % 2 == 1 and (self.worker is None or self.worker.alive)
        if not to_worker:
            self._flush_spool()
            self.sink.page(table, page)
            return
        try:
            data = pickle.dumps((table, page), protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):  # normalize it here: its error names it
            found = _unstorable(table, page)
            if found is not None:
                raise found from None
            self.sink.page(table, page)
            return
        if self._file is None:
            path = self.spool / f"{group:06d}.pickle"
            self.spooled.append(path)
            self._file = open(path, "wb")
        self._file.write(data)

    def _flush_spool(self) -> None:
        """Close the spool file being written and hand it to the worker (forked at the first one)."""
        if self._file is None:
            return
        self._file.close()
        self._file = None
        path = self.spooled[-1]
        if self.worker is None:
            # forked with the schema as it is now: it applies the hints of tables seen later
            self.worker = _Worker(self.normalizer, self.schema, self.load_id, self.work / "worker")
            self.unsent_hints = {}
        hints, self.unsent_hints = self.unsent_hints, {}
        self.worker.send(path, hints)

    def finish(self) -> _Part:
        """Every page is in: finish the worker's share (merged, or redone here) and the SQL jobs."""
        self._flush_spool()
        part = self.sink.close()
        if self.spooled:
            result = self.worker.result() if self.worker is not None else None
            merged = (result is not None and result[0] == "ok"
                      and merge_schema(self.schema, Schema.from_dict(result[1], self.schema.naming.max_length)))
            if merged:
                log.info("normalize: a second process normalized %d of %d page groups", len(self.spooled),
                         (self.pages + extractor.PAGES_PER_FILE - 1) // extractor.PAGES_PER_FILE)
                for path in (self.work / "worker").iterdir():
                    os.replace(path, self.work / "new_jobs" / path.name)
                _add(part, result[2], set(result[3]))
            else:
                log.info("normalize: the second process %s; its pages are normalized again here",
                         "disagreed on column types" if result and result[0] == "ok" else "failed")
                redo = self.normalizer.page_sink(self.schema, self.load_id, self.work / "new_jobs")
                for path in self.spooled:
                    for root, page in read_pages(path):
                        redo.page(root, page)
                extra = redo.close()
                _add(part, extra.row_counts, extra.new_tables)
            shutil.rmtree(self.work / "worker", ignore_errors=True)
        for table, pages in self.sql_pages.items():
            Normalizer.sql_job(pages, self.work / "new_jobs", table)
        return part

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.worker is not None and self.worker.process.is_alive():
            self.worker.process.kill()
            self.worker.process.join()


class StreamedPackage:
    """One package made by extract and normalize in one pass: `extract()`, then `finish()`.

    Both raise PipelineStepFailed: step "extract" for the resources' errors, "normalize" for the
    data's (a refused package is recorded in extract/failed with its error, as normalize() does);
    either way nothing of the package is left pending."""

    def __init__(self, extract: Extractor, normalizer: Normalizer, live_schema: Schema, schema_name: str) -> None:
        self.normalizer, self.schema_name = normalizer, schema_name
        self.storage = normalizer.storage
        self.load_id = new_load_id()
        self.spool_root = self.storage.folder("extract", "new", self.load_id)
        self.work = self.storage.folder("normalize", "new") / self.load_id
        remove_tree(self.work)
        LoadPackage(self.work).ensure_layout()
        self.schema = live_schema.clone()
        self.writer = _PackageWriter(self.spool_root, extract.naming, {})
        spool = self.spool_root / "spool"
        spool.mkdir()
        self.pages = _StreamedPages(normalizer, self.schema, self.load_id, self.work, spool, self.writer)
        self.writer.page_sink = self.pages
        self.package_state: dict[str, Any] = {"load_id": self.load_id, "schema_name": schema_name,
                                              "created_at": time.time()}

    @property
    def item_counts(self) -> dict[str, int]:
        return dict(self.package_state.get("item_counts") or {})

    @paused_gc()
    def extract(self, resources: list[Any], source_state: dict[str, Any], source_hints: dict[str, Any],
                pipeline_state: dict[str, Any]) -> None:
        """Run the resources; their pages are normalized (or spooled for the worker) as they come."""
        step = "extract"
        try:
            self.writer.source_hints = source_hints
            self.writer.register_static(resources)  # hints of fixed tables apply before any page
            try:
                for table in list(self.writer.hints):
                    self.pages.apply_hints(table)
                self.package_state = Extractor.run_resources(self.writer, resources, self.schema_name, source_state,
                                                             pipeline_state, self.load_id)
            except NormalizeFailed as exc:
                step = "normalize"
                raise exc.cause from None
        except BaseException as exc:
            self._failed(step, exc)
            raise self._step_failed(step, exc) from exc
        crash_point("extract.done")

    @paused_gc()
    def finish(self) -> tuple[LoadPackage, Schema]:
        """The worker's share, SQL and Arrow tables, then the package published to load/normalized."""
        try:
            for table in list(self.writer.hints):  # tables that yielded no page (replace empties them)
                self.pages.apply_hints(table)
            part = self.pages.finish()
            self.normalizer.normalize_arrow(self.writer.arrow_dir, self.schema, self.load_id, self.work, part)
            target = self.normalizer.publish(self.work, self.schema, part, self.package_state, self.writer.hints)
        except BaseException as exc:
            self._failed("normalize", exc)
            raise self._step_failed("normalize", exc) from exc
        remove_tree(self.spool_root)
        return LoadPackage(target), self.schema

    def _failed(self, step: str, exc: BaseException) -> None:
        """Nothing of a failed package stays pending; a refused one is recorded in extract/failed."""
        self.pages.abort()
        remove_tree(self.work)
        if isinstance(exc, TerminalError) and step == "normalize":
            _record_refused(self.storage.folder("extract", "failed") / self.load_id, self.package_state,
                            self.writer, exc)
        remove_tree(self.spool_root)

    def _step_failed(self, step: str, exc: BaseException) -> BaseException:
        if not isinstance(exc, Exception):
            return exc
        return PipelineStepFailed(step, self.load_id if step == "normalize" else None, exc)


def _record_refused(folder: Path, package_state: dict[str, Any], writer: _PackageWriter, exc: BaseException) -> None:
    """What a refused streamed package leaves: its error and what was extracted until then (no pages)."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {t: tf.items for t, tf in writer.files.items()}
    write_json(folder / "package_state.json", {**package_state, "item_counts": package_state.get("item_counts", counts)})
    (folder / "error.txt").write_text(str(exc), encoding="utf-8")
