"""Regenerate the results table of docs/reliability.md by running the reliability suites:

    .venv/bin/python tests/reliability_report.py

Runs the crash, fault, bad-input, property, secret-scan and concurrency tests (slow ones included)
with this file as a pytest plugin, which records each case's outcome; then writes the table between
the markers in docs/reliability.md: first issue 15's list item by item (which cases cover each
crash point, fault, bad input, secret place and concurrency case, and how many of them passed; an
item no case matched shows NOT RUN), then every case. A case that passed lost and duplicated no row
(the suites check exact contents) and leaked nothing (the secret scan fails on any hit)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUITES = ["test_crash_recovery.py", "test_faults.py", "test_s3_faults.py", "test_bad_input.py", "test_properties.py",
          "test_secret_scan.py", "test_concurrency.py"]
RESULTS = ROOT / "tests" / ".reliability-results.tsv"
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"

# -- the plugin side ----------------------------------------------------------------------------------
_rows: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = "skipped" if report.skipped else report.outcome
        _rows.append((report.nodeid, outcome))


def pytest_sessionfinish(session: Any) -> None:
    RESULTS.write_text("".join(f"{n}\t{o}\n" for n, o in _rows), encoding="utf-8")


# -- the table ------------------------------------------------------------------------------------------
def describe(nodeid: str) -> tuple[str, str, str, str]:
    """(suite, case, destination, what passing means) for a test id."""
    module, _, rest = nodeid.partition("::")
    name, _, params = rest.partition("[")
    params = params.rstrip("]")
    suite = Path(module).stem.removeprefix("test_").replace("_", " ")
    if name == "test_kill_then_rerun_loads_every_row_once":
        dest, scenario, point = re.match(r"(\w+(?:-\w+)?)-(append|merge|scd2)-(.*)", params).groups()  # type: ignore[union-attr]
        return "crash", f"SIGKILL at `{point}` ({scenario})", dest, "rerun: every row once, state and loads table consistent"
    if name == "test_normalize_worker_killed_main_process_redoes_its_pages":
        dest, scenario = params.split("-")
        return "crash", f"SIGKILL of the normalize worker ({scenario})", dest, "the run itself finishes, every row once"
    if suite == "bad input":
        from test_bad_input import outcome

        dest, case = params.split("-", 1)
        expected = outcome(case, dest)
        text = f"refused, error names {', '.join(expected)}" if isinstance(expected, tuple) else \
            f"stored ({expected.__name__.removeprefix('check_').replace('_', ' ')} checked)"
        return "bad input", case, dest, text
    pretty = name.removeprefix("test_").replace("_", " ")
    parts = params.split("-") if params else []
    dests = [p for p in parts if p in ("duckdb", "postgres", "redshift")]
    extra = " ".join(p for p in parts if p not in dests)
    return suite, pretty + (f" ({extra})" if extra else ""), dests[0] if dests else "redshift", "passed as specified"


CRASH = r"test_kill_then_rerun_loads_every_row_once\[[\w-]*-(append|merge|scd2)-"
SCAN = r"test_secret_scan\.py::"
#: issue 15's lists, item by item: (group, the item as the issue names it, test ids that try it)
ISSUE_ITEMS: list[tuple[str, str, str]] = [
    ("crash", "during extract", CRASH + r"extract\.page"),
    ("crash", "between extract and normalize", CRASH + r"extract\.done"),
    ("crash", "mid-normalize, main process", CRASH + r"normalize\.(page|renamed)"),
    ("crash", "mid-normalize, worker process", r"test_normalize_worker_killed|" + CRASH + r"normalize\.worker"),
    ("crash", "after some load jobs", CRASH + r"load\.job_(committed|moved)"),
    ("crash", "mid-upload", CRASH + r"staging\.file_uploaded"),
    ("crash", "between upload and COPY", CRASH + r"staging\.uploaded\]"),
    ("crash", "between a COPY and its job marker", CRASH + r"staging\.copied"),
    ("crash", "between the last job and the package commit", CRASH + r"load\.before_complete"),
    ("crash", "during merge/scd2 follow-up SQL", CRASH + r"load\.followup_sql"),
    ("crash", "during staged-file cleanup", CRASH + r"staging\.(before_cleanup|cleaned)"),
    ("crash", "during state write", CRASH + r"(load\.state_inserted|load\.package_committed|pipeline\.state_saved)"),
    ("fault", "connection drops mid-statement (backend killed, proxy drops)",
     r"test_backend_terminated_mid_transaction_is_retried\[[\w-]*load\.(job_data|followup_sql)|"
     r"test_connection_dropped_before_a_statement"),
    ("fault", "connection drops at COMMIT (before it; after it, reply lost)",
     r"test_backend_terminated_mid_transaction_is_retried\[[\w-]*load\.job_marker|test_commit_ran_but_its_reply_was_lost"),
    ("fault", "a statement times out (recovers; outlasts the retries)", r"test_statement_timeout"),
    ("fault", "the S3 server stops during upload", r"test_s3_faults\.py::\w+\[upload"),
    ("fault", "the S3 server stops during COPY", r"test_s3_faults\.py::(\w+\[copy|\w*redshift_like)"),
    ("fault", "1023 serializable-isolation error at a random statement", r"test_serializable_isolation"),
    ("fault", "terminal error: job fails clearly, package resumable, nothing half-applied",
     r"test_terminal_error|outlasts_the_retries|test_s3_stays_down"),
    *[("bad input", text, rf"test_bad_input_has_its_documented_outcome\[\w+-{case}\]") for case, text in [
        ("none_only", "None-only columns"), ("mixed", "mixed types in one field"), ("nan_inf", "NaN and infinities"),
        ("bad_utf8", "invalid UTF-8 in bytes"), ("surrogate", "lone surrogates"), ("nul", "NUL characters"),
        ("long", "strings over 65535 bytes"), ("deep", "depth 100+ nesting"), ("wide", "2,000 columns"),
        ("case_keys", "keys that differ only by case or punctuation"), ("empty_key", "empty-string keys"),
        ("keywords", "SQL keywords and quotes in names"), ("bigint", "integers beyond 64 bits"),
        ("dates", "dates at year 1 and 9999"), ("tz_mixed", "naive and aware datetimes mixed"),
        ("non_dict", "non-dict items")]],
    ("bad input", "random nested records round-trip (hypothesis)", r"test_random_nested_records_round_trip"),
    ("secrets", "logs at any level, exception messages, tracebacks", SCAN),
    ("secrets", "repr of config objects", SCAN + r"test_(direct|staged)"),
    ("secrets", "trace files, load packages", SCAN + r"test_(direct|staged|s3_outage|dbt)"),
    ("secrets", "dbt files (profiles, logs, target)", SCAN + r"test_dbt_files"),
    ("secrets", "the endpoint's statement log (and proxy log)", SCAN + r"test_(direct_loads\w*\[redshift|staged|s3_outage|dbt)"),
    ("secrets", "the S3 outage gates' logs", SCAN + r"test_s3_outage"),
    ("secrets", "direct and staged loads, forwarded keys, STS token", SCAN + r"test_(direct|staged)"),
    ("concurrency", "two pipelines, one dataset, different tables", r"test_two_pipelines_load_one_dataset_at_once\[\w+-different-tables\]"),
    ("concurrency", "two pipelines, the same table (lock_tables)", r"test_two_pipelines_load_one_dataset_at_once\[\w+-same-table\]"),
    ("concurrency", "the same pipeline started twice", r"test_the_same_pipeline_started_twice"),
]


def coverage(rows: list[tuple[str, str]]) -> str:
    """Issue 15's lists item by item, from the recorded outcomes."""
    lines = ["| group | item (as issue 15 names it) | cases passed | destinations | rows lost / duplicated | leaks |",
             "| --- | --- | --- | --- | --- | --- |"]
    for group, item, pattern in ISSUE_ITEMS:
        hits = [(n, r) for n, r in rows if r != "skipped" and re.search(pattern, n)]
        passed = sum(1 for _, r in hits if r == "passed")
        dests = sorted({describe(n)[2] for n, _ in hits})
        ok = bool(hits) and passed == len(hits)
        result = f"{passed} of {len(hits)}" if hits else "**NOT RUN**"
        if hits and not ok:
            result = f"**{len(hits) - passed} FAILED**, {result}"
        good = "0" if ok else "?"
        lines.append(f"| {group} | {item} | {result} | {', '.join(dests) or '-'} | "
                     f"{'-' if group == 'secrets' else good} | {good if group == 'secrets' else '-'} |")
    return "\n".join(lines)


def table(rows: list[tuple[str, str]]) -> str:
    lines = ["| suite | case | destination | outcome | rows lost / duplicated | leaks |", "| --- | --- | --- | --- | --- | --- |"]
    for nodeid, result in rows:
        suite, case, dest, meaning = describe(nodeid)
        if result == "skipped":
            continue
        ok = result == "passed"
        lines.append(f"| {suite} | {case} | {dest} | {meaning if ok else '**FAILED**'} | "
                     f"{'0' if ok else '?'} | {('0' if ok else '?') if suite == 'secret scan' else '-'} |")
    return "\n".join(lines)


def main() -> int:
    started = time.time()
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "reliability_report", "--durations=25",
           *[f"tests/{s}" for s in SUITES]]
    proc = subprocess.run(cmd, cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "tests")})
    sys.path.insert(0, str(ROOT / "tests"))
    rows = [tuple(line.split("\t")) for line in RESULTS.read_text("utf-8").splitlines()]
    RESULTS.unlink()
    passed = sum(1 for _, r in rows if r == "passed")
    failed = sum(1 for _, r in rows if r == "failed")
    head = (f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in {time.time() - started:.0f} s: "
            f"{passed} cases passed, {failed} failed.\n\n")
    doc = DOC.read_text("utf-8")
    before, _, after = doc.partition(START)
    _, _, after = after.partition(END)
    body = f"{head}### Issue 15, item by item\n\n{coverage(rows)}\n\n### Every case\n\n{table(rows)}"
    DOC.write_text(f"{before}{START}\n{body}\n{END}{after}", encoding="utf-8")
    print(f"wrote {DOC}: {passed} passed, {failed} failed")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
