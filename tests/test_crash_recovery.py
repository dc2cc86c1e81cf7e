"""SIGKILL at every named step, then a rerun: every row is loaded exactly once, on every destination.

Each case runs the crash worker (tests/crash_worker.py) in a subprocess with SHIPLOAD_CRASH_AT set,
which kills it at that point (`shipload.utils.faults.crash_point`), then runs it again without, and
checks the destination with `exactly_once.check_exactly_once`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import shipload
from exactly_once import check_exactly_once

N = 3000
WORKER = Path(__file__).with_name("crash_worker.py")

#: points every scenario passes; `<point>:<n>` is the n-th time execution passes it
COMMON_POINTS = [
    "extract.page:3",            # during extract
    "extract.done",              # between extract and normalize
    "normalize.page:2",          # mid-normalize, main process
    "normalize.renamed",         # normalized package in place, extracted one not yet removed
    "load.job_committed:1",      # a job committed, its file not yet moved
    "load.job_moved:2",          # after some load jobs
    "load.before_complete",      # between the last job and the package commit
    "load.package_committed",    # package committed, local state not yet written
    "pipeline.state_saved",      # local state written, package not yet moved to loaded/
]
#: points passed only where the package commit writes state (append: the incremental cursor moved)
STATE_POINTS = ["load.state_inserted"]
#: points passed only by dispositions with follow-up SQL (merge, scd2)
FOLLOWUP_POINTS = ["load.followup_sql:1", "load.followup_sql:2"]

#: points of the staged path (S3 upload, COPY, cleanup of staged files)
STAGED_POINTS = ["staging.file_uploaded:1", "staging.uploaded", "staging.copied", "staging.cleaned"]

#: where the crash worker loads: a destination, and for redshift how (direct insert_values, or staged)
TARGETS = ["duckdb", "postgres", "redshift", "redshift-parquet", "redshift-jsonl"]


def cases(target: str) -> list[tuple[str, str]]:
    staged = "-" in target
    if not staged:
        return ([("append", p) for p in COMMON_POINTS + STATE_POINTS]
                + [("merge", p) for p in COMMON_POINTS + FOLLOWUP_POINTS]
                + [("scd2", p) for p in COMMON_POINTS + FOLLOWUP_POINTS])
    if target.endswith("jsonl"):  # the format changes the files and the COPY, not the steps
        return [("append", p) for p in ["staging.file_uploaded:1", "staging.copied"]]
    # the steps before load are the direct path's (tried there); staged runs cost ~8 s each
    return ([("append", p) for p in ["load.job_committed:1", "load.package_committed"] + STAGED_POINTS]
            + [("merge", p) for p in ["load.followup_sql:1", "staging.copied", "staging.cleaned"]]
            + [("scd2", "load.followup_sql:1")])


def marks_for(target: str, scenario: str, crash_at: str) -> list[pytest.MarkDecorator]:
    """merge and scd2 at points whose code is the same as append's are the `slow` part."""
    same_as_append = not crash_at.startswith(("load.followup", "load.before", "staging."))
    return [pytest.mark.slow] if scenario != "append" and same_as_append else []


PARAMS = [pytest.param(t, s, p, marks=marks_for(t, s, p), id=f"{t}-{s}-{p}") for t in TARGETS for s, p in cases(t)]


@pytest.fixture
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database for the target; staged targets get a bucket prefix of their own."""
    destination = request.param.split("-", 1)[0]
    if destination == "postgres":
        request.getfixturevalue("postgres_db")
    if destination == "redshift":
        info = request.getfixturevalue("redshift_db")
        prefix = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"]
        monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", f"s3://{info.bucket}/{prefix}")
    return str(request.param)


def staged_files_left(info: Any) -> list[str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=info.s3_endpoint, aws_access_key_id=info.access_key_id,
                      aws_secret_access_key=info.secret_access_key, region_name="us-east-1")
    prefix = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"] + "/"
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=info.bucket, Prefix=prefix).get("Contents", []))


def run_worker(crash_at: str | None, target: str, scenario: str, version: int = 1) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SHIPLOAD_CRASH_AT", None)
    if crash_at:
        env["SHIPLOAD_CRASH_AT"] = crash_at
    env["PYTHONPATH"] = str(WORKER.parent)
    env["NORMALIZE__WORKERS"] = "2"  # the forked normalize worker runs even on a one-core machine
    destination, _, staged = target.partition("-")
    return subprocess.run([sys.executable, str(WORKER), str(N), destination, scenario, str(version), *([staged] if staged else [])],
                          env=env, capture_output=True, text=True, timeout=180)


def crash_and_rerun(target: str, scenario: str, crash_at: str) -> dict[str, int]:
    destination = target.split("-", 1)[0]
    version = 1
    if scenario != "append":  # a first version loads cleanly; the crash hits the changes
        first = run_worker(None, target, scenario, 1)
        assert first.returncode == 0, first.stderr
        version = 2
    killed = run_worker(crash_at, target, scenario, version)
    assert killed.returncode == -signal.SIGKILL, f"not killed at {crash_at}:\n{killed.stderr[-3000:]}"
    rerun = run_worker(None, target, scenario, version)
    assert rerun.returncode == 0, rerun.stderr
    p = shipload.pipeline(f"crashy_{scenario}", destination=destination)
    counts = check_exactly_once(p, scenario, N)
    if scenario == "append":  # one more run finds nothing new and changes nothing
        assert run_worker(None, target, scenario, version).returncode == 0
        assert check_exactly_once(p, scenario, N) == counts
    return counts


@pytest.mark.parametrize(("target", "scenario", "crash_at"), PARAMS, indirect=["target"])
def test_kill_then_rerun_loads_every_row_once(request: pytest.FixtureRequest, target: str, scenario: str,
                                              crash_at: str) -> None:
    crash_and_rerun(target, scenario, crash_at)
    if "-" in target:  # staged: the successful rerun left no staged file behind
        assert staged_files_left(request.getfixturevalue("local_redshift")) == []


@pytest.mark.parametrize("scenario", ["append", "merge"])
def test_normalize_worker_killed_main_process_redoes_its_pages(destination: str, scenario: str) -> None:
    """The forked normalize worker is killed: the run itself finishes (its pages redone by the main
    process), every row once."""
    if scenario == "merge":
        assert run_worker(None, destination, scenario, 1).returncode == 0
    version = 2 if scenario == "merge" else 1
    run = run_worker("normalize.worker_page:1", destination, scenario, version)
    assert run.returncode == 0, run.stderr
    assert "the second process failed; its pages are normalized again here" in run.stderr
    check_exactly_once(shipload.pipeline(f"crashy_{scenario}", destination=destination), scenario, N)
