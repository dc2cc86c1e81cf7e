"""The pipeline: extract -> normalize -> load, with local state and crash recovery."""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import orjson

from shipload.config.resolve import resolve_spec
from shipload.destinations.registry import Destination, as_destination, as_staging
from shipload.exceptions import PipelineError, PipelineStepFailed, TerminalError
from shipload.extract.extractor import Extractor
from shipload.extract.resource import Resource, Source, _is_arrow, resource
from shipload.load.loader import Loader
from shipload.normalize.normalizer import Normalizer
from shipload.normalize.rotation import FALLBACK_SLICES, NormalizeSettings, rotation
from shipload.normalize.text_size import TextPolicy
from shipload.packages.storage import LoadPackage, PipelineStorage
from shipload.pipeline import destination_state, progress, streaming
from shipload.pipeline.capability_checks import check_resources
from shipload.pipeline.dataset import Dataset
from shipload.pipeline.identifiers import check_dataset_name
from shipload.pipeline.load_info import LoadInfo
from shipload.pipeline.lock import FolderLock, locked
from shipload.pipeline.package_checks import checked_before
from shipload.pipeline.schema_revert import revert_to_loaded_schemas
from shipload.pipeline.trace import RunTrace
from shipload.schema.hints import normalize_contract
from shipload.schema.schema import Schema
from shipload.schema.skipped import skipped_tables
from shipload.utils.faults import crash_point
from shipload.utils.files import atomic_write, read_json, remove_tree, write_json
from shipload.utils.typed import from_tagged, to_tagged

log = logging.getLogger("shipload.pipeline")

RUN_HINT_KEYS = ("table_name", "write_disposition", "primary_key", "merge_key", "columns", "schema_contract")


def default_pipelines_dir() -> Path:
    return Path(os.environ.get("SHIPLOAD_PIPELINES_DIR", Path.home() / ".shipload" / "pipelines"))


class Pipeline:
    def __init__(
        self,
        pipeline_name: str,
        destination: Any,
        staging: Any = None,
        dataset_name: str | None = None,
        pipelines_dir: str | os.PathLike[str] | None = None,
        dev_mode: bool = False,
        credentials: Any = None,
        progress: Any = None,
    ) -> None:
        self.pipeline_name = pipeline_name
        #: live progress: None (config `[runtime] progress`, default auto), "rich", "log", "off"/False
        self.progress = progress
        self.working_dir = Path(pipelines_dir or default_pipelines_dir()) / pipeline_name
        if dev_mode:
            remove_tree(self.working_dir)
        self.storage = PipelineStorage(self.working_dir)
        self._folder_lock = FolderLock(self.working_dir, pipeline_name)
        stored = from_tagged(read_json(self.working_dir / "state.json", None))
        self._is_new = stored is None
        self._synced = False  # state checked against the destination (once per Pipeline object)
        self._state: dict[str, Any] = stored or {"pipeline_name": pipeline_name, "_state_version": 0, "sources": {}}
        if destination is None and stored:
            destination = stored.get("destination")
        if destination is None:
            raise PipelineError("pipeline needs a destination, e.g. destination='duckdb'")
        self.destination: Destination = as_destination(destination)
        if credentials is not None:
            self.destination.credentials = credentials
        self.staging: Destination | None = as_staging(self.destination, staging) if staging is not None else None
        self.destination.staging = self.staging
        suffix = time.strftime("_%Y%m%d%H%M%S") if dev_mode else ""
        self.dataset_name = dataset_name or self._state.get("dataset_name") or f"{pipeline_name}_dataset{suffix}"
        if dev_mode and dataset_name:
            self.dataset_name = dataset_name + suffix
        check_dataset_name(self.destination.capabilities.sql_dialect, self.dataset_name, self.destination.name)
        self._state["destination"] = self.destination.name
        self._state["staging"] = self.staging.name if self.staging is not None else None
        self._state["dataset_name"] = self.dataset_name
        self.max_identifier_length = self.destination.capabilities.max_identifier_length
        self._schemas: dict[str, Schema] = {}
        self.last_load_info: LoadInfo | None = None
        self._slices: int | None = None

    # -- schema -------------------------------------------------------------------------------
    @property
    def default_schema_name(self) -> str:
        return self._state.get("default_schema_name") or self.pipeline_name

    def _schema_path(self, name: str) -> Path:
        return self.working_dir / "schemas" / f"{name}.schema.yaml"

    def schema(self, name: str | None = None) -> Schema:
        name = name or self.default_schema_name
        if name not in self._schemas:
            path = self._schema_path(name)
            if path.exists():
                self._schemas[name] = Schema.from_yaml(path.read_text("utf-8"), self.max_identifier_length)
            else:
                self._schemas[name] = Schema(name, self.max_identifier_length)
        return self._schemas[name]

    @property
    def default_schema(self) -> Schema:
        return self.schema()

    def _save_schema(self, schema: Schema) -> None:
        self._schemas[schema.name] = schema
        atomic_write(self._schema_path(schema.name), schema.to_yaml())

    def export_schema(self, path: str | os.PathLike[str], name: str | None = None) -> Path:
        target = Path(path)
        atomic_write(target, self.schema(name).to_yaml())
        return target

    def import_schema(self, path: str | os.PathLike[str]) -> Schema:
        schema = Schema.from_yaml(Path(path).read_text("utf-8"), self.max_identifier_length)
        current = self.schema(schema.name)
        if schema.content_hash() != current.content_hash():  # edited: a new version, above both
            schema.version = max(schema.version, current.version) + 1
        else:
            schema.version = current.version
        self._save_schema(schema)
        return schema

    # -- state ----------------------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        """The state as of the newest package (pending ones included): what the next extract sees."""
        newest = self._newest_pending_state()
        return copy.deepcopy(newest if newest is not None else self._state)

    def _newest_pending_state(self) -> dict[str, Any] | None:
        candidates: list[tuple[float, dict[str, Any]]] = []
        for path in self.storage.extracted_packages():
            st = read_json(path / "package_state.json", {})
            candidates.append((float(path.name), st.get("pipeline_state")))
        for pkg in self.storage.normalized_packages():
            candidates.append((float(pkg.load_id), pkg.state.get("pipeline_state")))
        candidates = [c for c in candidates if c[1] is not None]
        return from_tagged(max(candidates, key=lambda c: c[0])[1]) if candidates else None

    def _save_state(self) -> None:
        write_json(self.working_dir / "state.json", to_tagged(self._state))

    @staticmethod
    def _state_hash(state: dict[str, Any]) -> str:
        body = to_tagged({k: v for k, v in state.items() if not k.startswith("_")})
        return hashlib.sha256(orjson.dumps(body, default=str, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]

    # -- data -> resources -------------------------------------------------------------------------
    def _as_resources(self, data: Any, hints: dict[str, Any]) -> tuple[str, list[Resource], dict[str, Any]]:
        """(schema name, selected resources, source-level hints)."""
        items = data if isinstance(data, (list, tuple)) and data and all(isinstance(d, (Resource, Source)) for d in data) else [data]
        schema_name: str | None = None
        resources: list[Resource] = []
        source_hints: dict[str, Any] = {}
        for d in items:
            if isinstance(d, Source):
                schema_name = schema_name or d.name
                source_hints.update(d.hints)
                resources.extend(d.selected_resources)
            elif isinstance(d, Resource):
                resources.append(d)
            else:
                name = hints.get("table_name") or getattr(d, "__name__", None)
                if not isinstance(name, str) or name == "<lambda>":
                    name = self.pipeline_name
                if _is_arrow(d) or isinstance(d, (list, tuple, dict)) or hasattr(d, "__iter__") or callable(d):
                    resources.append(resource(d if not isinstance(d, tuple) else list(d), name=name))
                else:
                    raise TerminalError(f"cannot extract data of type {type(d).__name__}")
        run_hints = {k: v for k, v in hints.items() if v is not None}
        if run_hints:
            resources = [r.with_name(r.name) for r in resources]
            if "schema_contract" in run_hints:
                normalize_contract(run_hints["schema_contract"])
            for r in resources:
                r.apply_hints(**run_hints)
        return schema_name or self.default_schema_name, resources, source_hints

    # -- steps ----------------------------------------------------------------------------------------
    @locked
    def extract(self, data: Any, **hints: Any) -> str | None:
        self._recover()
        schema_name, resources, source_hints, state, source_state = self._prepare_extract(data, hints)
        extractor = Extractor(self.storage, self.schema(schema_name).naming)
        try:
            load_id, _ = extractor.extract(resources, schema_name, source_state, source_hints, state)
        except Exception as exc:
            remove_tree(self.working_dir / "extract" / "new")
            raise PipelineStepFailed("extract", None, exc) from exc
        crash_point("extract.done")
        return load_id

    def _prepare_extract(self, data: Any, hints: dict[str, Any]) -> tuple[str, list[Resource], dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(schema name, resources, source hints, the pipeline state the package will carry, its source part)."""
        try:
            schema_name, resources, source_hints = self._as_resources(
                data, {k: hints.get(k) for k in RUN_HINT_KEYS}
            )
            check_resources(self.destination.capabilities, self.destination.name, resources)
        except TerminalError as exc:
            raise PipelineStepFailed("extract", None, exc) from exc
        if "default_schema_name" not in self._state:
            self._state["default_schema_name"] = schema_name
            self._save_state()
        state = self.state
        state["_state_version"] = int(state.get("_state_version", 0)) + 1
        source_state = state.setdefault("sources", {}).setdefault(schema_name, {})
        return schema_name, resources, source_hints, state, source_state

    def _choose_format(self, loader_file_format: str | None) -> Any:
        caps = self.destination.capabilities
        supported = caps.supported_loader_file_formats
        preferred = caps.preferred_loader_file_format
        if self.staging is not None:  # staged formats first: they are what staging is for
            supported = tuple(dict.fromkeys(caps.supported_staging_file_formats + supported))
            preferred = caps.preferred_staging_file_format or preferred

        def choose(schema: Schema, table: Any) -> str:
            wanted = loader_file_format or schema.root_table(table.name).file_format or preferred
            if wanted == "sql" and loader_file_format == "sql":
                raise TerminalError(
                    f"table {table.name!r}: 'sql' is the format of SQL job files, not of data; "
                    f"use one of {[f for f in supported if f != 'sql']}"
                )
            if wanted not in supported:
                staged = " with staging" if self.staging is not None else ""
                raise TerminalError(
                    f"table {table.name!r}: file format {wanted!r} is not supported by {self.destination.name}{staged}; "
                    f"use one of {list(supported)}"
                )
            return wanted

        return choose

    @locked
    def normalize(self, loader_file_format: str | None = None) -> list[str]:
        self._recover()
        normalizer = self._normalizer(loader_file_format)
        done: list[str] = []
        for extracted in self.storage.extracted_packages():
            pkg_state = read_json(extracted / "package_state.json", {})
            live = self.schema(pkg_state.get("schema_name"))
            try:
                package, schema, _ = normalizer.normalize(extracted, live)
            except Exception as exc:
                remove_tree(self.working_dir / "normalize" / "new")
                if isinstance(exc, TerminalError):
                    self._discard_extracted(extracted, exc)
                raise PipelineStepFailed("normalize", extracted.name, exc) from exc
            self._save_schema(schema)
            done.append(package.load_id)
            self._report_normalized(package)
        return done

    @staticmethod
    def _report_normalized(package: LoadPackage) -> None:
        for job in package.jobs("new_jobs"):
            progress.report("normalize", job.table, files=1)
        for table, n in (package.state.get("row_counts") or {}).items():
            progress.report("normalize", table, rows=n)

    def _normalizer(self, loader_file_format: str | None) -> Normalizer:
        """The normalizer for this destination (formats, writer options, file rotation, staging)."""
        dialect = self.destination.capabilities.sql_dialect
        caps = self.destination.capabilities
        options: dict[str, Any] = {"dialect": dialect, **caps.writer_options}
        staged = self.staging is not None
        fmt = loader_file_format or (caps.preferred_staging_file_format if staged else caps.preferred_loader_file_format)
        limits = rotation(resolve_spec(NormalizeSettings, ("normalize",), self.pipeline_name), fmt, staged)
        package_hook = None
        if staged:
            from shipload.destinations.redshift.staged_files import StagedPackager

            options["parquet_json_logical_type"] = True
            options["jsonl_compression_level"] = 1  # staged files travel: always gzip
            package_hook = StagedPackager(limits.configured, self._slice_count)
        return Normalizer(self.storage, self._choose_format(loader_file_format), options,
                          limits.max_rows, limits.max_bytes, text_policy=self._text_policy(dialect),
                          package_hook=checked_before(caps.schema_check, dialect, package_hook))

    def _slice_count(self) -> int:
        """The cluster's slice count for sizing staged files: setting, else read once, else a fallback."""
        if self._slices is None:
            try:
                with self.destination.client(self.pipeline_name, self.dataset_name) as client:
                    self._slices = client.slice_count()
            except Exception as exc:
                log.warning("could not read the cluster's slice count (%s); sizing staged files for %d slices",
                            exc, FALLBACK_SLICES)
                self._slices = FALLBACK_SLICES
        return self._slices

    def _text_policy(self, dialect: Any) -> TextPolicy | None:
        """Byte-sized text columns for destinations whose VARCHAR(n) counts bytes (Redshift)."""
        if dialect is None or not dialect.sized_text or dialect.max_text_bytes is None:
            return None
        settings = self.destination.settings(self.pipeline_name)
        return TextPolicy(dialect.max_text_bytes, getattr(settings, "text_overflow", "fail"))

    def _discard_extracted(self, extracted: Path, exc: BaseException) -> None:
        """A package whose data cannot be normalized (bad data, contract) is set aside, with its state."""
        failed = self.storage.folder("extract", "failed")
        os.replace(extracted, failed / extracted.name)
        (failed / extracted.name / "error.txt").write_text(str(exc), encoding="utf-8")

    @locked
    def load(self) -> LoadInfo:
        self._recover()
        started = time.time()
        info = LoadInfo(self.pipeline_name, self.destination.name, self.dataset_name, started_at=started)
        packages = self.storage.normalized_packages()
        if not packages:
            return info
        loader = Loader()
        try:
            client = self.destination.client(self.pipeline_name, self.dataset_name)
            loader.open_client(client)
        except Exception as exc:
            raise PipelineStepFailed("load", packages[0].load_id, exc) from exc
        try:
            for package in packages:
                self._load_package(loader, client, package, info)
        finally:
            client.close()
        info.elapsed = time.time() - started
        return info

    def _load_package(self, loader: Loader, client: Any, package: LoadPackage, info: LoadInfo) -> None:
        pkg_state = package.state
        schema = Schema.from_dict(read_json(package.path / "schema.json"), self.max_identifier_length)
        pipeline_state = from_tagged(pkg_state.get("pipeline_state"))
        to_store = None
        if pipeline_state is not None:
            state_hash = self._state_hash(pipeline_state)
            if state_hash != self._state.get("_stored_hash"):
                to_store = dict(pipeline_state, pipeline_name=self.pipeline_name, _version_hash=state_hash)
        try:
            loader.load_package(client, package, schema, to_store)
        except Exception as exc:
            raise PipelineStepFailed("load", package.load_id, exc) from exc
        crash_point("load.package_committed")
        self._package_loaded(package, pipeline_state, to_store)
        info.load_ids.append(package.load_id)
        skipped = skipped_tables(schema)
        for table, n in (pkg_state.get("row_counts") or {}).items():
            if table not in skipped:
                info.row_counts[table] = info.row_counts.get(table, 0) + n

    def _package_loaded(self, package: LoadPackage, pipeline_state: dict[str, Any] | None, stored: dict[str, Any] | None) -> None:
        if pipeline_state is not None:
            keep = {k: self._state[k] for k in ("destination", "staging", "dataset_name", "default_schema_name")
                    if k in self._state}
            self._state = dict(pipeline_state, **keep)
            if stored is not None:
                self._state["_stored_hash"] = stored["_version_hash"]
        self._save_state()
        crash_point("pipeline.state_saved")
        target = self.storage.folder("load", "loaded") / package.load_id
        os.replace(package.path, target)
        remove_tree(target / "completed_jobs")
        remove_tree(target / "staged_files")

    def _recover(self) -> None:
        self.storage.clean_incomplete()

    @locked
    def run(
        self,
        data: Any = None,
        *,
        table_name: str | None = None,
        write_disposition: Any = None,
        primary_key: Any = None,
        merge_key: Any = None,
        columns: Any = None,
        loader_file_format: str | None = None,
        schema_contract: Any = None,
    ) -> LoadInfo:
        """Finish pending packages, then extract, normalize and load `data`."""
        trace = RunTrace(self.pipeline_name)
        with progress.reporting(progress.make_reporter(self.progress, self.pipeline_name)):
            try:
                info = self._run(trace, data, loader_file_format, dict(
                    table_name=table_name, write_disposition=write_disposition, primary_key=primary_key,
                    merge_key=merge_key, columns=columns, schema_contract=schema_contract))
            except BaseException as exc:
                trace.failed(exc)
                trace.save(self.working_dir)
                raise
        trace.save(self.working_dir)
        return info

    def _run(self, trace: RunTrace, data: Any, loader_file_format: str | None, hints: dict[str, Any]) -> LoadInfo:
        started = trace.started_at
        self._recover()
        if not self._synced:
            self.sync_destination()
        steps: dict[str, float] = {}
        pending_info = None
        if self.storage.has_pending():
            with trace.step("normalize"):
                self.normalize(loader_file_format)
            with trace.step("load") as step:
                pending_info = self.load()
                step.row_counts, step.load_ids = dict(pending_info.row_counts), list(pending_info.load_ids)
        info = LoadInfo(self.pipeline_name, self.destination.name, self.dataset_name, started_at=started)
        if pending_info is not None:
            info.load_ids.extend(pending_info.load_ids)
            info.row_counts.update(pending_info.row_counts)
        if data is not None:
            if streaming.streaming_enabled():
                self._extract_normalize_streamed(trace, data, hints, loader_file_format)
            else:
                self._extract_normalize_on_disk(trace, data, hints, loader_file_format)
            with trace.step("load") as step:
                loaded = self.load()
                step.row_counts, step.load_ids = dict(loaded.row_counts), list(loaded.load_ids)
            steps = {s.step: s.elapsed for s in trace.steps[-3:]}
            info.load_ids.extend(loaded.load_ids)
            for t, n in loaded.row_counts.items():
                info.row_counts[t] = info.row_counts.get(t, 0) + n
        info.steps = steps
        info.elapsed = time.time() - started
        self.last_load_info = info
        return info

    def _extract_normalize_streamed(self, trace: RunTrace, data: Any, hints: dict[str, Any],
                                    loader_file_format: str | None) -> None:
        """Pages normalized as they are extracted (pipeline/streaming.py): the "extract" step ends
        when the resources are exhausted, "normalize" finishes and publishes the package."""
        with trace.step("extract") as step:
            schema_name, resources, source_hints, state, source_state = self._prepare_extract(data, hints)
            live = self.schema(schema_name)
            streamed = streaming.StreamedPackage(Extractor(self.storage, live.naming),
                                                 self._normalizer(loader_file_format), live, schema_name)
            streamed.extract(resources, source_state, source_hints, state)
            step.load_ids, step.row_counts = [streamed.load_id], streamed.item_counts
        with trace.step("normalize") as step:
            package, schema = streamed.finish()
            self._save_schema(schema)
            self._report_normalized(package)
            step.load_ids, step.row_counts = [package.load_id], dict(package.state.get("row_counts") or {})

    def _extract_normalize_on_disk(self, trace: RunTrace, data: Any, hints: dict[str, Any],
                                   loader_file_format: str | None) -> None:
        """extract() writes the extracted package, normalize() reads it (NORMALIZE__STREAM=false)."""
        with trace.step("extract") as step:
            load_id = self.extract(data, **hints)
            step.load_ids = [load_id] if load_id else []
            if load_id:
                extracted = read_json(self.working_dir / "extract" / "extracted" / load_id / "package_state.json", {})
                step.row_counts = dict((extracted or {}).get("item_counts") or {})
        with trace.step("normalize") as step:
            normalized = self.normalize(loader_file_format)
            step.load_ids = normalized
            for load_id in normalized:
                counts = LoadPackage(self.storage.root / "load" / "normalized" / load_id).state.get("row_counts")
                for t, n in (counts or {}).items():
                    step.row_counts[t] = step.row_counts.get(t, 0) + n

    # -- destination ----------------------------------------------------------------------------------
    def sync_destination(self) -> bool:
        """On a new working folder, restore state and schema from the destination's completed loads;
        on a used one, check that the destination has its loads (see pipeline/destination_state.py).
        A failed restore fails the run (`PipelineStepFailed`, step 'restore state')."""
        if self._is_new:
            restored = destination_state.restore_into_new_folder(self)
        else:
            destination_state.check_recorded_loads(self)
            restored = False
        self._is_new = False
        self._synced = True
        return restored

    def sql_client(self) -> Any:
        """A connected SQL client for the pipeline's dataset; use as a context manager."""
        return self.destination.client(self.pipeline_name, self.dataset_name)

    def dataset(self) -> Dataset:
        """Read loaded tables back as rows or Arrow."""
        return Dataset(self)

    def drop_pending_packages(self) -> None:
        for path in self.storage.extracted_packages():
            remove_tree(path)
        for pkg in self.storage.normalized_packages():
            remove_tree(pkg.path)
        revert_to_loaded_schemas(self)


def pipeline(
    pipeline_name: str | None = None,
    destination: Any = None,
    staging: Any = None,
    dataset_name: str | None = None,
    pipelines_dir: str | os.PathLike[str] | None = None,
    dev_mode: bool = False,
    credentials: Any = None,
    progress: Any = None,
) -> Pipeline:
    """Create (or reopen) a pipeline by name. `progress`: "rich", "log", "off" (default: `[runtime] progress`)."""
    name = pipeline_name or Path(os.path.basename(os.sys.argv[0] or "shipload")).stem or "shipload"
    return Pipeline(name, destination, staging, dataset_name, pipelines_dir, dev_mode, credentials, progress)


def attach(pipeline_name: str, pipelines_dir: str | os.PathLike[str] | None = None) -> Pipeline:
    """Reopen an existing pipeline from its working folder."""
    folder = Path(pipelines_dir or default_pipelines_dir()) / pipeline_name
    stored = read_json(folder / "state.json", None)
    if stored is None:  # only destination and dataset are read here: no typed values needed
        raise PipelineError(f"no pipeline {pipeline_name!r} in {folder.parent}")
    return Pipeline(pipeline_name, stored["destination"], stored.get("staging"), stored.get("dataset_name"), pipelines_dir)
