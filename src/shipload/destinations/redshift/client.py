"""Amazon Redshift destination (psycopg2): insert_values and sql jobs, sized VARCHARs widened in
place, table design hints, MERGE upserts, atomic replace from staging or ALTER TABLE APPEND."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shipload.destinations.base import Capabilities
from shipload.destinations.postgres.errors import POSTGRES_ERRORS
from shipload.destinations.postgres.transport import Psycopg2Transport
from shipload.destinations.redshift.adapter import UNALTERABLE_ENCODINGS, table_design, unapplied_design
from shipload.destinations.redshift.config import RedshiftCredentials, RedshiftSettings
from shipload.destinations.redshift.copy_sql import S3_READ_TRANSIENT_MESSAGES
from shipload.destinations.redshift.dialect import RedshiftDialect
from shipload.destinations.redshift.followup import RedshiftFollowupSql
from shipload.destinations.redshift.schema_check import check_schema
from shipload.destinations.redshift.staged import StagedCopy
from shipload.destinations.redshift.staged_files import COPY_JOB_FORMAT
from shipload.destinations.sql.client import SqlJobClient
from shipload.exceptions import ConfigError, DestinationTerminalError, TerminalError
from shipload.normalize.rotation import FALLBACK_SLICES
from shipload.packages.storage import JobFileName
from shipload.schema.schema import LOAD_JOBS_TABLE, Column, Schema, Table

log = logging.getLogger("shipload.redshift")
#: the design of a table without hints
_NO_DESIGN = {"distkey": None, "sortkey": [], "sortstyle": "compound", "diststyle": None, "encode": {}, "backup": None}

CAPABILITIES = Capabilities(
    preferred_loader_file_format="insert_values",
    supported_loader_file_formats=("insert_values", "sql"),
    preferred_staging_file_format="parquet",
    supported_staging_file_formats=("parquet", "jsonl"),
    max_identifier_length=RedshiftDialect.max_identifier_length,
    sql_dialect=RedshiftDialect,
    schema_check=check_schema,
)

#: Redshift's error 1023 (a conflict between concurrent transactions) and a COPY that could not reach
#: S3 come as XX000: retry them
REDSHIFT_ERRORS = dataclasses.replace(
    POSTGRES_ERRORS, transient_messages=(*POSTGRES_ERRORS.transient_messages, "serializable isolation violation",
                                         *S3_READ_TRANSIENT_MESSAGES))

#: Redshift sends SUPER values as JSON text under type OID 4000 (psycopg2 would hand back a str)
SUPER_OID = 4000


def register_super(conn: Any) -> None:
    """Read SUPER values on `conn` as Python values (the JSON text parsed)."""
    import orjson
    import psycopg2.extensions

    super_type = psycopg2.extensions.new_type((SUPER_OID,), "SUPER", lambda v, _cur: None if v is None else orjson.loads(v))
    psycopg2.extensions.register_type(super_type, conn)


class RedshiftTransport(Psycopg2Transport):
    error_classes = REDSHIFT_ERRORS

    def __init__(self, credentials: RedshiftCredentials, session_sql: list[str]) -> None:
        super().__init__(credentials.connect_kwargs(), credentials.secret_values(), "redshift")
        self.session_sql = session_sql

    def connect(self) -> None:
        super().connect()
        register_super(self.conn)
        for sql in self.session_sql:
            self.execute(sql)


class RedshiftClient(SqlJobClient):
    followup_class = RedshiftFollowupSql

    def __init__(self, credentials: RedshiftCredentials, dataset_name: str, settings: RedshiftSettings | None = None) -> None:
        self.settings = settings or RedshiftSettings()
        super().__init__(RedshiftTransport(credentials, []), RedshiftDialect, dataset_name, CAPABILITIES)
        self.host = credentials.host
        self.staged: StagedCopy | None = None

    def slice_count(self) -> int:
        """`[destination.redshift] slices`, else `SELECT COUNT(*) FROM stv_slices`, else the fallback."""
        if self.settings.slices:
            return int(self.settings.slices)
        try:
            found = int(self.execute("SELECT COUNT(*) FROM stv_slices")[0][0])
        except Exception as exc:
            log.warning("could not read stv_slices (%s); assuming %d slices", exc, FALLBACK_SLICES)
            return FALLBACK_SLICES
        return found if found > 0 else FALLBACK_SLICES

    def attach_staging(self, bucket: Any) -> None:
        """Load parquet/jsonl through this bucket (S3 staging) with one COPY per table per load."""
        self.staged = StagedCopy(self, bucket, self.settings, self.host)

    def initialize_storage(self) -> None:
        if self.staged is not None:
            self.staged.check()  # configuration errors before anything is uploaded
        super().initialize_storage()

    def run_job(self, schema: Schema, load_id: str, job: JobFileName, path: Path) -> None:
        if job.file_format != COPY_JOB_FORMAT:
            return super().run_job(schema, load_id, job, path)
        if self.staged is None:
            raise ConfigError(f"package {load_id} was normalized for S3 staging: run the pipeline with "
                              "staging='filesystem' to load it")
        self.staged.run(schema, load_id, job, path)

    # -- datasets and tables ----------------------------------------------------------------------
    def has_dataset(self, name: str | None = None) -> bool:
        if self._fold(name or self.dataset_name) == "public":  # always there, and never ours to create
            return True
        return super().has_dataset(name)

    def column_attributes(self, table: Table, col: Column) -> str:
        encoding = table_design(table, self.naming)["encode"].get(col.name)
        return f"ENCODE {encoding}" if encoding else ""

    def table_options_sql(self, table: Table) -> str:
        design = table_design(table, self.naming)
        q = self.dialect.quote_identifier
        parts: list[str] = []
        if design["diststyle"]:
            parts.append(f"DISTSTYLE {design['diststyle'].upper()}")
        if design["distkey"]:
            parts.append(f"DISTKEY({q(design['distkey'])})")
        if design["sortkey"]:
            parts.append(f"{design['sortstyle'].upper()} SORTKEY({', '.join(q(c) for c in design['sortkey'])})")
        if design["backup"] is False:
            parts.append("BACKUP NO")
        return (" " + " ".join(parts)) if parts else ""

    def comment_sql(self, table: Table, columns: list[Column]) -> list[str]:
        out = []
        if table.description and columns == table.complete_columns():
            out.append(f"COMMENT ON TABLE {self.table(table.name)} IS {self.lit(table.description)}")
        for col in columns:
            if col.description:
                out.append(f"COMMENT ON COLUMN {self.table(table.name)}.{self.dialect.quote_identifier(col.name)} "
                           f"IS {self.lit(col.description)}")
        return out

    def migration_sql(self, schema: Schema, tables: list[Table]) -> list[str]:
        existing = self.reflect([t.name for t in tables])
        statements = super().migration_sql(schema, tables)
        for table in tables:
            have = existing.get(self._fold(table.name))
            complete = table.complete_columns()
            new = complete if have is None else [c for c in complete if self._fold(c.name) not in have]
            statements.extend(self.comment_sql(table, new))
        return statements

    def prepare_migration(self, schema: Schema, tables: list[Table]) -> list[str]:
        for table in tables:  # invalid design hints fail here, before any DDL runs
            table_design(table, self.naming)
        self.check_existing_designs(schema, tables)
        widen = self.widening_sql(tables)
        for sql in widen:  # ALTER COLUMN TYPE may not run inside a transaction block on Redshift
            self.execute(sql)
        return widen

    def check_existing_designs(self, schema: Schema, tables: list[Table]) -> None:
        """Design hints an existing table does not follow (CREATE TABLE applied the old design):
        logged with the statement that would apply each, or refused (setting
        design_hints_on_existing_tables = "fail") before any DDL."""
        hinted = [t for t in tables if table_design(t, self.naming) != _NO_DESIGN]
        existing = self.reflect([t.name for t in hinted]) if hinted else {}
        if not existing:
            return
        stored = self.get_stored_schema(schema.name)
        problems: list[str] = []
        for table in hinted:
            have = existing.get(self._fold(table.name))
            if have is None:
                continue
            before = stored.tables.get(table.name) if stored is not None else None
            old = table_design(before, self.naming) if before is not None else _NO_DESIGN
            lines = unapplied_design(self.table(table.name), self.dialect.quote_identifier, old,
                                     table_design(table, self.naming), set(have))
            if lines:
                problems.append(f"table {table.name!r} exists, so these design hints cannot be applied to it by "
                                "CREATE TABLE:\n  " + "\n  ".join(lines))
        if not problems:
            return
        message = "redshift: " + "\n".join(problems)
        if self.settings.design_hints_on_existing_tables == "fail":
            raise DestinationTerminalError(
                message + "\nNothing was changed. Run the statements, or remove the hints, or set "
                "destination.redshift.design_hints_on_existing_tables = \"warn\" to load anyway.")
        log.warning("%s\nLoading goes on with the table as it is (run the statements to apply them).", message)

    def widening_sql(self, tables: list[Table]) -> list[str]:
        """ALTER COLUMN ... TYPE VARCHAR(n) for text columns whose data outgrew the table. Checked
        first for every table (dependent views, encodings that cannot be altered): nothing runs
        unless all of it can."""
        sizes = self.varchar_sizes([t.name for t in tables])
        out: list[str] = []
        for table in tables:
            have = sizes.get(self._fold(table.name), {})
            grow = [c for c in table.complete_columns()
                    if c.data_type == "text" and self._fold(c.name) in have
                    and (c.precision or 65535) > have[self._fold(c.name)]]
            if not grow:
                continue
            views = self.dependent_views(table.name)
            if views:
                raise DestinationTerminalError(
                    f"redshift: table {table.name!r} must widen column(s) {[c.name for c in grow]} but views depend on "
                    f"it: {views}. Recreate them as late-binding views (CREATE VIEW ... WITH NO SCHEMA BINDING) or "
                    "drop them, then run the pipeline again; nothing was changed."
                )
            self.check_alterable_encodings(table, grow)
            for col in grow:
                out.append(f"ALTER TABLE {self.table(table.name)} ALTER COLUMN {self.dialect.quote_identifier(col.name)} "
                           f"TYPE {self.dialect.column_type(col)}")
        return out

    def check_alterable_encodings(self, table: Table, grow: list[Column]) -> None:
        """Redshift cannot ALTER COLUMN TYPE a column encoded bytedict, runlength, text255 or text32k."""
        encode = table_design(table, self.naming)["encode"]
        stuck = [(c, encode[c.name]) for c in grow if encode.get(c.name) in UNALTERABLE_ENCODINGS]
        if not stuck:
            return
        cols = ", ".join(f"{c.name!r} ({e}, to {self.dialect.column_type(c)})" for c, e in stuck)
        fixes = "; ".join(f"ALTER TABLE {self.table(table.name)} ALTER COLUMN {self.dialect.quote_identifier(c.name)} "
                          "ENCODE zstd" for c, _ in stuck)
        raise DestinationTerminalError(
            f"redshift: table {table.name!r} must widen column(s) {cols}, but Redshift cannot change the type of "
            f"columns encoded {'/'.join(UNALTERABLE_ENCODINGS)}. Nothing was changed. Change the encoding of the "
            f"column(s) first ({fixes}) and the encode hint to match (e.g. encode={{{stuck[0][0].name!r}: "
            "'zstd'}), or give the column its final size from the start (columns={name: {'precision': 65535}}); "
            "then run the pipeline again (drop_pending_packages() first if the hint changed)."
        )

    def varchar_sizes(self, tables: list[str]) -> dict[str, dict[str, int]]:
        rows = self.column_rows(tables, "character_maximum_length", " AND character_maximum_length IS NOT NULL")
        out: dict[str, dict[str, int]] = {}
        for table, column, size in rows:
            out.setdefault(table, {})[column] = int(size)
        return out

    def dependent_views(self, table: str) -> list[str]:
        """Schema-bound views on `table` (late-binding views do not depend on it)."""
        rows = self.execute(
            "SELECT DISTINCT vn.nspname || '.' || v.relname FROM pg_catalog.pg_depend AS d "
            "JOIN pg_catalog.pg_rewrite AS r ON r.oid = d.objid "
            "JOIN pg_catalog.pg_class AS v ON v.oid = r.ev_class "
            "JOIN pg_catalog.pg_namespace AS vn ON vn.oid = v.relnamespace "
            "JOIN pg_catalog.pg_class AS t ON t.oid = d.refobjid "
            "JOIN pg_catalog.pg_namespace AS tn ON tn.oid = t.relnamespace "
            f"WHERE tn.nspname = {self.lit(self._fold(self.dataset_name))} AND t.relname = {self.lit(self._fold(table))} "
            "AND v.oid <> t.oid ORDER BY 1"
        )
        return [r[0] for r in rows]

    # -- loading ----------------------------------------------------------------------------------
    def truncate_sql(self, table: str) -> str:
        return f"TRUNCATE TABLE {self.table(table)}"

    def before_load_sql(self, target: str) -> list[str]:
        return [f"LOCK {target}"] if self.settings.lock_tables else []

    def load_native_file(self, table: Table, target: str, path: Path, file_format: str) -> None:
        raise TerminalError(f"redshift loads {file_format!r} files through S3 staging (staging='filesystem')")

    def complete_package(self, schema: Schema, load_id: str, tables: list[str], state: dict[str, Any] | None,
                         sql_jobs: Sequence[tuple[JobFileName, Path]] = ()) -> None:
        if not self.package_committed(load_id):
            for root in self._roots(schema, tables):
                if _appended(root):
                    self.append_from_staging(schema, load_id, root)
        super().complete_package(schema, load_id, tables, state, sql_jobs)
        if self.staged is not None:
            chains = {t.name for root in self._roots(schema, tables) for t in schema.table_chain(root.name)}
            self.staged.cleanup(sorted(chains | set(tables)))

    def moved_by_followup(self, root: Table) -> bool:
        # staging-optimized tables were moved by append_from_staging before the commit transaction
        return super().moved_by_followup(root) and not _appended(root)

    def append_from_staging(self, schema: Schema, load_id: str, root: Table) -> None:
        """staging-optimized replace: TRUNCATE the final tables and move the staged blocks in with
        ALTER TABLE APPEND (fast, no copy; each step commits, so readers may briefly see an empty
        table). Safe to repeat after a crash: a table whose staged rows are gone was appended."""
        loaded = {r[0].split(".", 1)[0] for r in self.execute(
            f"SELECT job_id FROM {self.table(LOAD_JOBS_TABLE)} WHERE load_id = {self.lit(load_id)}")}
        for table in [t for t in schema.table_chain(root.name) if t.complete_columns()]:
            staged = self.staging_table(table.name)
            count = self.execute(f"SELECT count(*) FROM {staged}")[0][0]
            if count == 0 and table.name in loaded:
                continue  # appended before a crash
            self.execute(self.truncate_sql(table.name))
            if count:
                self.execute(f"ALTER TABLE {self.table(table.name)} APPEND FROM {staged}")




def _appended(root: Table) -> bool:
    return root.write_disposition == "replace" and root.replace_strategy == "staging-optimized"
