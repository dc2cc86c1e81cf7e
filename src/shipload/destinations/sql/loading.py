"""SQL job client, part 3: loading a package: preparing it, one transaction per job, and the commit
(merge/replace follow-up, SQL jobs, state and the loads row)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from shipload.destinations.sql.client_base import SqlClientBase
from shipload.destinations.sql.followup import FollowupSql, uses_staging
from shipload.exceptions import LoadJobFailed, TerminalError
from shipload.packages.storage import JobFileName
from shipload.schema.schema import (
    LOAD_JOBS_TABLE,
    LOADS_TABLE,
    Schema,
    Table,
)
from shipload.utils.faults import crash_point
from shipload.writers.insert_values import statement_prefix
from shipload.writers.sql_frames import read_frames


class SqlLoading(SqlClientBase):
    def prepare_package(self, schema: Schema, load_id: str, tables: list[str]) -> None:
        """Once per package: empty truncate-and-insert chains; create fresh staging tables."""
        truncate: list[str] = []
        staged: list[Table] = []
        for root in self._roots(schema, tables):
            chain = [t for t in schema.table_chain(root.name) if t.complete_columns()]
            if uses_staging(root):
                staged.extend(chain)
            elif root.write_disposition == "replace":
                truncate.extend(t.name for t in chain)
        if staged:
            self.create_staging_tables(staged)
        if truncate:
            existing = self.reflect(truncate)
            statements = [self.truncate_sql(name) for name in truncate if self._fold(name) in existing]
            if self.dialect.truncate_commits:  # each TRUNCATE commits by itself: no transaction around them
                for sql in statements:
                    self.execute(sql)
            else:
                with self.transport.transaction():
                    for sql in statements:
                        self.execute(sql)

    def create_staging_tables(self, tables: list[Table]) -> None:
        """Drop and create staging tables, so they always have the current columns."""
        if not self.has_dataset(self.staging_dataset_name):
            self.create_dataset(self.staging_dataset_name)
        statements: list[str] = []
        for table in tables:
            target = self.staging_table(table.name)
            statements.append(f"DROP TABLE IF EXISTS {target}")
            statements.append(self.create_table_sql(table, target))
        self._run_ddl(statements)

    @staticmethod
    def _roots(schema: Schema, tables: list[str]) -> list[Table]:
        roots: dict[str, Table] = {}
        for name in tables:
            if name in schema.tables:
                root = schema.root_table(name)
                roots.setdefault(root.name, root)
        return list(roots.values())

    def truncate_sql(self, table: str) -> str:
        return f"DELETE FROM {self.table(table)}"

    def run_job(self, schema: Schema, load_id: str, job: JobFileName, path: Path) -> None:
        with self.transport.transaction():
            self.load_file(schema, job.table, path, job.file_format)
            crash_point("load.job_data")
            self.execute(
                f"INSERT INTO {self.table(LOAD_JOBS_TABLE)} ({self._names(LOAD_JOBS_TABLE)}) "
                f"VALUES ({self._values([load_id, job.job_id, self._now()])})"
            )
            crash_point("load.job_marker")

    def target_of(self, schema: Schema, table_name: str) -> str:
        """The final table, or its staging twin when the chain's disposition needs follow-up SQL."""
        if table_name in schema.tables and uses_staging(schema.root_table(table_name)):
            return self.staging_table(table_name)
        return self.table(table_name)

    def load_file(self, schema: Schema, table_name: str, path: Path, file_format: str) -> None:
        """Load one data file inside the open transaction (SQL jobs: `run_sql_job`)."""
        target = self.target_of(schema, table_name)
        for sql in self.before_load_sql(target):
            self.execute(sql)
        if file_format == "insert_values":
            _, _, statements = read_frames(path, lambda meta: statement_prefix(self.dialect, target, meta["columns"]))
            for statement in statements:  # one frame at a time, built once (no further copy here)
                self.execute(statement)
            return
        self.load_native_file(schema.get_table(table_name), target, path, file_format)

    def before_load_sql(self, target: str) -> list[str]:
        """Statements run first in every load transaction (e.g. LOCK)."""
        return []

    @abstractmethod
    def load_native_file(self, table: Table, target: str, path: Path, file_format: str) -> None:
        """Load a file of a destination-specific format (parquet, csv, ...) into `target`."""

    def complete_package(
        self, schema: Schema, load_id: str, tables: list[str], state: dict[str, Any] | None,
        sql_jobs: Sequence[tuple[JobFileName, Path]] = (),
    ) -> None:
        with self.transport.transaction():
            if self.package_committed(load_id):  # crashed after the commit, before the local move
                return
            for sql in self.followup_sql(schema, load_id, tables):
                self.execute(sql)
                crash_point("load.followup_sql")
            for job, path in sql_jobs:
                self.run_sql_job(load_id, job, path)
            if state is not None:
                for sql in self._state_insert_sql(state, load_id):
                    self.execute(sql)
                crash_point("load.state_inserted")
            values = [load_id, schema.name, 0, self._now(), schema.version_hash]
            self.execute(f"INSERT INTO {self.table(LOADS_TABLE)} ({self._names(LOADS_TABLE)}) VALUES ({self._values(values)})")

    followup_class: ClassVar[type[FollowupSql]] = FollowupSql

    def run_sql_job(self, load_id: str, job: JobFileName, path: Path) -> None:
        """The statements of one SQL job, inside the open commit transaction."""
        try:
            for sql in read_frames(path)[2]:
                self.execute(sql)
        except TerminalError as exc:
            raise LoadJobFailed(load_id, job.name, job.table, str(exc)) from exc

    def followup_sql(self, schema: Schema, load_id: str, tables: list[str]) -> list[str]:
        """SQL run in the commit transaction after all jobs (merge, replace from staging)."""
        builder = self.followup_class(self, schema, load_id)
        out: list[str] = []
        for root in self._roots(schema, tables):
            if self.moved_by_followup(root):
                out.extend(builder.for_root(root))
        return out

    def moved_by_followup(self, root: Table) -> bool:
        """True when follow-up SQL in the commit transaction moves `root`'s chain from staging."""
        return uses_staging(root)
