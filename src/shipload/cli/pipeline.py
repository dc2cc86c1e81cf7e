"""`shipload pipeline`: inspect and repair pipelines (info, trace, failed-jobs, load-package, schema,
drop, sync). Exit codes: 0 done, 1 failed (destination, config or data error), 2 usage error,
3 not found (pipeline, package, resource, stored state), 4 declined at the confirmation prompt,
5 `failed-jobs` found failed jobs."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_DECLINED, EXIT_FAILED_JOBS = 0, 1, 2, 3, 4, 5


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("pipeline", help="inspect and repair pipelines (info, trace, failed-jobs, drop, sync)")
    parser.add_argument("name", nargs="?", help="the pipeline name")
    parser.add_argument("--list", "-l", action="store_true", help="list the pipelines in the pipelines folder")
    parser.add_argument("--pipelines-dir", help="where pipelines keep their working folders "
                                                "(default: SHIPLOAD_PIPELINES_DIR or ~/.shipload/pipelines)")
    sub = parser.add_subparsers(dest="action")
    sub.add_parser("info", help="dataset, destination, schemas, resources and their state, pending packages")
    trace = sub.add_parser("trace", help="the last run: steps, timings, rows per table, errors")
    trace.add_argument("--format", choices=("text", "json"), default="text")
    sub.add_parser("failed-jobs", help="failed load jobs with the destination's error text (exit 5 if any)")
    pkg = sub.add_parser("load-package", help="one load package: state, jobs, sizes, errors (default: the newest)")
    pkg.add_argument("load_id", nargs="?")
    schema = sub.add_parser("schema", help="print the default schema")
    schema.add_argument("--format", choices=("yaml", "json"), default="yaml")
    schema.add_argument("--schema-name", help="another schema of the pipeline")
    drop = sub.add_parser("drop", help="drop resources' tables in the destination and reset their state")
    drop.add_argument("resources", nargs="+")
    drop.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    sync = sub.add_parser("sync", help="rebuild the local working folder from the destination")
    sync.add_argument("--destination", help="when the working folder is gone: the destination name")
    sync.add_argument("--dataset-name", help="when the working folder is gone: the dataset")
    sync.add_argument("--yes", "-y", action="store_true", help="discard pending packages without asking")
    parser.set_defaults(run=cmd_pipeline, parser=parser)


def cmd_pipeline(args: argparse.Namespace) -> int:
    from shipload.exceptions import ShiploadError
    from shipload.pipeline import maintenance as m

    folder = m.pipelines_dir(args.pipelines_dir)
    if args.list:
        return _list(folder)
    if not args.name or not args.action:
        args.parser.error("give --list, or a pipeline name and a command (info, trace, failed-jobs, load-package, "
                          "schema, drop, sync)")
    try:
        if args.action == "sync":
            return _sync(args, folder)
        p = m.open_pipeline(args.name, folder)
        return ACTIONS[args.action](p, args)
    except m.NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except ShiploadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"


def _list(folder: Any) -> int:
    from shipload.pipeline.maintenance import list_pipelines

    found = list_pipelines(folder)
    if not found:
        print(f"no pipelines in {folder}")
        return EXIT_OK
    print(f"{len(found)} pipeline(s) in {folder}:")
    for p in found:
        print(f"  {p['name']:<30} {p['destination'] or '-':<10} dataset {p['dataset'] or '-':<30} "
              f"last run {_when(p['last_run'])}")
    return EXIT_OK


def _info(p: Any, args: argparse.Namespace) -> int:
    from shipload.pipeline import maintenance as m

    print(f"pipeline    {p.pipeline_name}")
    print(f"working dir {p.working_dir}")
    print(f"destination {p.destination.name}")
    print(f"dataset     {p.dataset_name}")
    schemas = sorted(path.name.removesuffix(".schema.yaml") for path in (p.working_dir / "schemas").glob("*.yaml"))
    print(f"schemas     {', '.join(schemas) or '-'} (default: {p.default_schema_name})")
    print(f"state       version {p.state.get('_state_version', 0)}")
    res = m.resources(p)
    print(f"resources   {len(res)}")
    for name, entry in sorted(res.items()):
        print(f"  {name} ({entry['schema']}): tables {', '.join(entry['tables'])}")
        if entry["state"]:
            print(f"    state: {json.dumps(entry['state'], default=str)[:300]}")
    pkgs = m.packages(p)
    pending = [i for i in pkgs if i.status in ("extracted", "normalized")]
    failed = [i for i in pkgs if i.status == "failed"]
    loaded = [i for i in pkgs if i.status in ("loaded", "aborted")]
    print(f"packages    {len(loaded)} loaded, {len(pending)} pending, {len(failed)} refused by normalize")
    for info in pending:
        jobs = {k: len(v) for k, v in info.jobs.items() if v}
        print(f"  pending {info.load_id} ({info.status}) jobs {jobs or '-'} rows {sum(info.row_counts.values()):,}")
    for info in failed:
        print(f"  refused {info.load_id}: {(info.error or '').splitlines()[0] if info.error else '-'}")
    return EXIT_OK


def _trace(p: Any, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from shipload.pipeline.maintenance import NotFound
    from shipload.pipeline.trace import RunTrace

    trace = RunTrace.load(p.working_dir)
    if trace is None:
        raise NotFound(f"pipeline {p.pipeline_name!r} has no trace: it has not run `run()` yet")
    if args.format == "json":
        print(json.dumps(asdict(trace), indent=2, default=str))
        return EXIT_OK
    took = max(0.0, trace.finished_at - trace.started_at)
    outcome = f"FAILED: {trace.error}" if trace.error else "completed"
    print(f"last run of {p.pipeline_name}: started {_when(trace.started_at)}, {took:.2f} s, {outcome}")
    for s in trace.steps:
        ids = f" packages {', '.join(s.load_ids)}" if s.load_ids else ""
        print(f"  {s.step:<9} {s.elapsed:>8.2f} s{ids}" + (f"  ERROR: {s.error}" if s.error else ""))
        for table, n in sorted(s.row_counts.items()):
            print(f"      {table:<40} {n:>12,} rows")
    return EXIT_OK


def _failed_jobs(p: Any, args: argparse.Namespace) -> int:
    from shipload.pipeline.maintenance import failed_jobs

    failed = failed_jobs(p)
    if not failed:
        print(f"no failed jobs in pipeline {p.pipeline_name}")
        return EXIT_OK
    for f in failed:
        what = f"job {f['job']} (table {f['table']})" if f["job"] else "package refused by normalize"
        print(f"package {f['load_id']}: {what}")
        for line in (f["error"] or "").splitlines():
            print(f"    {line}")
    return EXIT_FAILED_JOBS


def _load_package(p: Any, args: argparse.Namespace) -> int:
    from shipload.pipeline.maintenance import find_package

    info = find_package(p, args.load_id)
    print(f"package {info.load_id} of {p.pipeline_name}: {info.status} (schema {info.schema_name or '-'}, "
          f"created {_when(info.created_at)})")
    print(f"  folder {info.path}")
    for table, n in sorted(info.row_counts.items()):
        print(f"  {table:<40} {n:>12,} rows")
    for state, jobs in info.jobs.items():
        for job in jobs:
            size = f"{job['bytes']:,} bytes" if job["bytes"] is not None else ""
            print(f"  {state:<15} {job['job']:<60} {size}")
            if job.get("error"):
                print(f"      error: {job['error']}")
    if info.error:
        print(f"  refused by normalize: {info.error}")
    return EXIT_OK


def _schema(p: Any, args: argparse.Namespace) -> int:
    from shipload.pipeline.maintenance import NotFound

    name = args.schema_name or p.default_schema_name
    if not (p.working_dir / "schemas" / f"{name}.schema.yaml").exists():
        raise NotFound(f"pipeline {p.pipeline_name!r} has no schema {name!r}")
    schema = p.schema(name)
    if args.format == "json":
        print(json.dumps(schema.to_dict(), indent=2))
    else:
        print(schema.to_yaml(), end="")
    return EXIT_OK


def _confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    print(f"{question} [y/N] ", end="", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _drop(p: Any, args: argparse.Namespace) -> int:
    from shipload.pipeline import maintenance as m

    plan = m.plan_drop(p, args.resources)
    print(f"pipeline {p.pipeline_name}: drop resources {', '.join(plan.resources)} (schema {plan.schema_name})")
    print(f"  tables dropped in {p.destination.name} dataset {p.dataset_name}: {', '.join(plan.tables)}")
    print(f"  state reset: {', '.join(plan.state_reset) or 'none'}")
    if not _confirm("Proceed?", args.yes):
        print("nothing dropped")
        return EXIT_DECLINED
    load_ids = m.drop(p, plan)
    print(f"dropped {len(plan.tables)} table(s); new schema and state stored in the destination "
          f"(package {', '.join(load_ids) or '-'})")
    return EXIT_OK


def _sync(args: argparse.Namespace, folder: Any) -> int:
    from shipload.pipeline import maintenance as m
    from shipload.pipeline.pipeline import Pipeline

    if (folder / args.name / "state.json").exists():
        p = m.open_pipeline(args.name, folder)
        if args.destination or args.dataset_name:
            p = Pipeline(args.name, args.destination or p.destination.name, None,
                         args.dataset_name or p.dataset_name, folder, progress="off")
    elif args.destination:
        p = Pipeline(args.name, args.destination, None, args.dataset_name, folder, progress="off")
    else:
        raise m.NotFound(f"no pipeline {args.name!r} in {folder}: give --destination (and --dataset-name) to "
                         "restore it from the destination")
    if p.storage.has_pending() and not _confirm(
            f"pipeline {args.name} has packages not loaded yet; sync discards them. Proceed?", args.yes):
        print("nothing changed")
        return EXIT_DECLINED
    result = m.sync(p)
    fresh = result["pipeline"]
    print(f"restored pipeline {args.name} from {fresh.destination.name} dataset {fresh.dataset_name}: "
          f"schemas {', '.join(result['schemas']) or '-'}, state version {result['state_version']}")
    return EXIT_OK


ACTIONS = {"info": _info, "trace": _trace, "failed-jobs": _failed_jobs, "load-package": _load_package,
           "schema": _schema, "drop": _drop}
