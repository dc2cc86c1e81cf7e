"""Checks on a normalized package before it is published, so before anything reaches the
destination: a refused package is set aside in extract/failed and blocks no later run.

* the destination's `schema_check` (Redshift: table design hints);
* SQL jobs: each statement within the destination's statement size limit (Redshift: 16 MB), and
  no statement that commits by itself where that would break the job's all-or-nothing promise
  (Redshift: TRUNCATE commits the open transaction)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipload.exceptions import TerminalError
from shipload.packages.storage import JobFileName
from shipload.schema.schema import Schema
from shipload.writers.sql_frames import read_frames


def checked_before(check: Callable[[Schema], None] | None, dialect: Any, hook: Any) -> Any:
    """A package hook that runs the checks first, then `hook` (may be None)."""

    def run(work: Path, schema: Schema) -> None:
        if check is not None:
            check(schema)
        if dialect is not None:
            check_sql_jobs(work / "new_jobs", dialect)
        if hook is not None:
            hook(work, schema)

    return run


def check_sql_jobs(folder: Path, dialect: Any) -> None:
    for path in sorted(folder.glob("*.sql")):
        if not JobFileName.is_job_file(path.name):
            continue
        job = JobFileName.parse(path.name)
        for n, sql in enumerate(read_frames(path)[2], start=1):
            where = f"SQL job {job.table!r}, statement {n}"
            limit = dialect.max_statement_bytes
            size = len(sql.encode("utf-8"))
            if limit is not None and size > limit:
                raise TerminalError(f"{where} is {size:,} bytes; {dialect.name} runs statements of at most "
                                    f"{limit} bytes. Split it into several statements")
            if dialect.truncate_commits and "TRUNCATE" in _leading_words(sql):
                raise TerminalError(
                    f"{where}: TRUNCATE commits the open transaction on {dialect.name}, so the job (and the "
                    f"load it belongs to) would no longer be all or nothing; use DELETE FROM instead")


def _leading_words(sql: str) -> set[str]:
    """The first word of every statement in `sql` (upper case), comments and strings skipped."""
    from shipload.local.proxy.sqltokens import split_statements, tokenize  # the one SQL tokenizer

    words = set()
    for statement in split_statements(tokenize(sql)):
        first = next((t for t in statement if t.significant), None)
        if first is not None and first.kind == "word":
            words.add(first.text.upper())
    return words
