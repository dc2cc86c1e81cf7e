"""What `shipload pipeline` shows and does: pipelines on disk, packages, failed jobs, drop, sync."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipload.exceptions import PipelineError
from shipload.packages.storage import JOB_STATES, LoadPackage
from shipload.pipeline.pipeline import Pipeline, default_pipelines_dir
from shipload.pipeline.trace import TRACE_FILE
from shipload.utils.files import read_json, remove_tree
from shipload.utils.typed import from_tagged


class NotFound(PipelineError):
    """A pipeline, package or resource that does not exist (the CLI exits with 3)."""


def pipelines_dir(given: str | os.PathLike[str] | None = None) -> Path:
    return Path(given) if given else default_pipelines_dir()


def list_pipelines(folder: Path) -> list[dict[str, Any]]:
    out = []
    if not folder.exists():
        return out
    for path in sorted(p for p in folder.iterdir() if (p / "state.json").exists()):
        state = read_json(path / "state.json", {}) or {}
        last = path / TRACE_FILE
        out.append({"name": path.name, "destination": state.get("destination"), "dataset": state.get("dataset_name"),
                    "last_run": (last if last.exists() else path / "state.json").stat().st_mtime})
    return out


def open_pipeline(name: str, folder: Path) -> Pipeline:
    stored = read_json(folder / name / "state.json", None)
    if stored is None:
        known = [p["name"] for p in list_pipelines(folder)]
        raise NotFound(f"no pipeline {name!r} in {folder}" + (f"; there are: {', '.join(known)}" if known else ""))
    return Pipeline(name, stored["destination"], None, stored.get("dataset_name"), folder, progress="off")


@dataclass
class PackageInfo:
    load_id: str
    status: str  # extracted | normalized | loaded | aborted | failed (normalize refused it)
    path: Path
    schema_name: str | None = None
    row_counts: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    error: str | None = None
    created_at: float | None = None


def packages(p: Pipeline) -> list[PackageInfo]:
    """Every package in the working folder, oldest first."""
    out: list[PackageInfo] = []
    for path in p.storage.extracted_packages():
        st = read_json(path / "package_state.json", {}) or {}
        out.append(PackageInfo(path.name, "extracted", path, st.get("schema_name"), st.get("item_counts") or {},
                               created_at=st.get("created_at")))
    for path in p.storage.list_packages("extract", "failed"):
        st = read_json(path / "package_state.json", {}) or {}
        err = (path / "error.txt").read_text("utf-8") if (path / "error.txt").exists() else None
        out.append(PackageInfo(path.name, "failed", path, st.get("schema_name"), st.get("item_counts") or {}, error=err,
                               created_at=st.get("created_at")))
    for status, pkgs in (("normalized", p.storage.normalized_packages()), ("loaded", p.storage.loaded_packages())):
        for pkg in pkgs:
            st = pkg.state
            done = read_json(pkg.path / "package_completed.json", {}) or {}
            info = PackageInfo(pkg.load_id, done.get("status", status), pkg.path, st.get("schema_name"),
                               st.get("row_counts") or {}, created_at=st.get("created_at"))
            for state in JOB_STATES:
                info.jobs[state] = [_job(pkg, state, job) for job in pkg.jobs(state)]
            out.append(info)
    return sorted(out, key=lambda i: float(i.load_id))


def _job(pkg: LoadPackage, state: str, job: Any) -> dict[str, Any]:
    path = pkg.job_path(state, job)
    entry: dict[str, Any] = {"job": job.name, "table": job.table, "format": job.file_format, "retry": job.retry,
                             "bytes": path.stat().st_size if path.exists() else None}
    if state == "failed_jobs":
        entry["error"] = pkg.failure_message(job)
    return entry


def find_package(p: Pipeline, load_id: str | None) -> PackageInfo:
    pkgs = packages(p)
    if not pkgs:
        raise NotFound(f"pipeline {p.pipeline_name!r} has no load packages")
    if load_id is None:
        pending = [i for i in pkgs if i.status in ("extracted", "normalized", "failed")]
        return (pending or pkgs)[-1]
    for info in pkgs:
        if info.load_id == load_id:
            return info
    raise NotFound(f"pipeline {p.pipeline_name!r} has no package {load_id!r}; "
                   f"it has: {', '.join(i.load_id for i in pkgs[-10:])}")


def failed_jobs(p: Pipeline) -> list[dict[str, Any]]:
    """Failed load jobs (with the destination's error) and packages normalize refused."""
    out = []
    for info in packages(p):
        if info.status == "failed":
            out.append({"load_id": info.load_id, "job": None, "table": None, "error": info.error})
        for job in info.jobs.get("failed_jobs", []):
            out.append({"load_id": info.load_id, "job": job["job"], "table": job["table"], "error": job["error"]})
    return out


def resources(p: Pipeline) -> dict[str, dict[str, Any]]:
    """resource -> {"schema", "tables" (root tables, then their children), "state"}."""
    out: dict[str, dict[str, Any]] = {}
    state = from_tagged(p.state)
    for path in sorted((p.working_dir / "schemas").glob("*.schema.yaml")):
        schema = p.schema(path.name.removesuffix(".schema.yaml"))
        for table in schema.data_tables():
            if table.parent is not None or not table.resource:
                continue
            entry = out.setdefault(table.resource, {"schema": schema.name, "tables": [], "state": None})
            entry["tables"].extend(t.name for t in schema.table_chain(table.name))
        for name, entry in out.items():
            if entry["schema"] == schema.name:
                entry["state"] = (state.get("sources", {}).get(schema.name, {}).get("resources", {}).get(name))
    return out


@dataclass
class DropPlan:
    schema_name: str
    resources: list[str]
    tables: list[str]
    state_reset: list[str]


def plan_drop(p: Pipeline, names: list[str]) -> DropPlan:
    if p.storage.has_pending():
        raise PipelineError(f"pipeline {p.pipeline_name!r} has packages not loaded yet: run it (or drop them) first")
    known = resources(p)
    missing = [n for n in names if n not in known]
    if missing:
        raise NotFound(f"pipeline {p.pipeline_name!r} has no resource {', '.join(map(repr, missing))}; "
                       f"it has: {', '.join(sorted(known)) or 'none'}")
    schemas = {known[n]["schema"] for n in names}
    if len(schemas) > 1:
        raise PipelineError("drop resources of one schema at a time")
    tables = [t for n in names for t in known[n]["tables"]]
    return DropPlan(schemas.pop(), list(names), tables, [n for n in names if known[n]["state"] is not None])


def drop(p: Pipeline, plan: DropPlan) -> list[str]:
    """Drop the tables in the destination, remove them from the schema, reset the resources' state,
    and store the new schema and state in the destination (as a load package without data)."""
    from shipload.extract.resource import Source

    with p.sql_client() as client:
        if not hasattr(client, "drop_tables"):
            raise PipelineError(f"drop is not available for destination {p.destination.name!r}")
        client.drop_tables(plan.tables)
    schema = p.schema(plan.schema_name).clone()
    for table in plan.tables:
        schema.tables.pop(table, None)
    # the destination skips migrations for schema hashes it has stored: without this marker, loading
    # the resource again would give the hash of the schema before the drop, and no CREATE TABLE
    schema.settings["last_drop"] = {"tables": list(plan.tables), "at": time.time()}
    schema.bump_version()
    p._save_schema(schema)
    source_state = p._state.setdefault("sources", {}).setdefault(plan.schema_name, {}).setdefault("resources", {})
    for name in plan.resources:
        source_state.pop(name, None)
    p._save_state()
    p.extract(Source(plan.schema_name, []))
    p.normalize()
    return p.load().load_ids


def sync(p: Pipeline) -> dict[str, Any]:
    """Replace the working folder with the state and schemas stored in the destination."""
    with p.sql_client() as client:  # fails loudly (credentials, network) before anything is removed
        stored = client.get_stored_state(p.pipeline_name)
    if stored is None:
        raise NotFound(f"the destination {p.destination.name} has no state of pipeline {p.pipeline_name!r} in "
                       f"dataset {p.dataset_name!r}")
    folder, name = p.working_dir.parent, p.pipeline_name
    destination, dataset = p.destination.name, p.dataset_name
    remove_tree(p.working_dir)
    fresh = Pipeline(name, destination, None, dataset, folder, progress="off")
    fresh.sync_destination()
    schemas = sorted(path.name.removesuffix(".schema.yaml") for path in (fresh.working_dir / "schemas").glob("*.yaml"))
    return {"pipeline": fresh, "schemas": schemas, "state_version": fresh._state.get("_state_version"),
            "synced_at": time.time()}
