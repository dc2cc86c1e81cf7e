"""Regenerate the results table of docs/reliability.md by running the reliability suites:

    .venv/bin/python tests/reliability_report.py

Runs the crash, fault, bad-input, property, secret-scan and concurrency tests (slow ones included)
with this file as a pytest plugin, which records each case's outcome; then writes the table between
the markers in docs/reliability.md. A case that passed lost and duplicated no row (the suites check
exact contents) and leaked nothing (the secret scan fails on any hit)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUITES = ["test_crash_recovery.py", "test_faults.py", "test_bad_input.py", "test_properties.py",
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
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "reliability_report",
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
    DOC.write_text(f"{before}{START}\n{head}{table(rows)}\n{END}{after}", encoding="utf-8")
    print(f"wrote {DOC}: {passed} passed, {failed} failed")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
