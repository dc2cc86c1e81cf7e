"""Run a staged table load: upload its files (in parallel, idempotent: one key per job file), write
a manifest, then one COPY into the target inside a transaction that also checks the loaded row
count and records the job. A failed COPY is explained from `stl_load_errors` (file, line, column,
type, reason). Files are removed after the package commits, unless `keep_staged_files`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson

from shipload.destinations.filesystem.layout import data_key, table_prefix
from shipload.destinations.redshift.copy_sql import (
    CROSS_REGION_FORMATS,
    authorization,
    check_authorization,
    cluster_region,
    copy_statement,
)
from shipload.destinations.redshift.staged_files import STAGED_FOLDER
from shipload.exceptions import ConfigError, DestinationError, DestinationTerminalError
from shipload.packages.storage import JobFileName
from shipload.schema.schema import LOAD_JOBS_TABLE, Schema
from shipload.utils.faults import crash_armed, crash_point
from shipload.utils.files import read_json

log = logging.getLogger("shipload.load")

LOAD_ERROR_ROWS = 5


def manifest_key(dataset: str, table: str, load_id: str, file_id: str) -> str:
    return f"{table_prefix(dataset, table)}{load_id}.{file_id}.manifest"


class StagedCopy:
    """The staging side of a Redshift client: a bucket and the settings that say how COPY reads it."""

    def __init__(self, client: Any, bucket: Any, settings: Any, host: str | None) -> None:
        self.client = client
        self.bucket = bucket
        self.settings = settings
        self.host = host
        self._region: tuple[str | None, str | None] | None = None

    def check(self) -> None:
        """Configuration and bucket checks that must fail before anything is uploaded."""
        check_authorization(self.settings)
        self.bucket.check()

    def regions(self) -> tuple[str | None, str | None]:
        """(bucket region, cluster region); either may be unknown."""
        if self._region is None:
            bucket_region = getattr(getattr(self.bucket, "credentials", None), "region_name", None) or self.bucket.region()
            self._region = (bucket_region, getattr(self.settings, "region", None) or cluster_region(self.host))
        return self._region

    def copy_region(self, table: str, file_format: str) -> str | None:
        bucket_region, cluster = self.regions()
        if file_format in CROSS_REGION_FORMATS:
            return bucket_region
        if bucket_region and cluster and bucket_region != cluster:
            raise ConfigError(
                f"table {table!r}: the staging bucket {self.bucket.url} is in {bucket_region} and the cluster in "
                f"{cluster}; Redshift cannot COPY parquet across regions: use a bucket in {cluster}, or "
                "loader_file_format='jsonl' (COPY reads JSON across regions with REGION)"
            )
        return None

    # -- one table --------------------------------------------------------------------------------------
    def run(self, schema: Schema, load_id: str, job: JobFileName, path: Path) -> None:
        client = self.client
        spec = read_json(path)
        table = schema.get_table(spec["table"])
        file_format = spec["format"]
        dataset = client.dataset_name
        folder = path.parent.parent / STAGED_FOLDER
        region = self.copy_region(table.name, file_format)
        pairs = []
        for entry in spec["files"]:
            name = JobFileName.parse(entry["name"])
            pairs.append((folder / entry["name"], data_key(dataset, table.name, load_id, name.file_id, file_format)))
        target = client.target_of(schema, table.name)
        if file_format == "parquet" and target == client.table(table.name):
            self._match_table_order(table, [p for p, _ in pairs])
        sizes = self._upload(pairs)
        entries = []
        for _, key in pairs:
            entry: dict[str, Any] = {"url": self.bucket.full_url(key), "mandatory": True}
            if file_format == "parquet":
                entry["meta"] = {"content_length": sizes[key]}
            entries.append(entry)
        manifest = manifest_key(dataset, table.name, load_id, job.file_id)
        self.bucket.put_bytes(orjson.dumps({"entries": entries}), manifest)
        crash_point("staging.uploaded")
        expected = sum(int(e["rows"]) for e in spec["files"])
        has_json = any(c.data_type == "json" for c in table.complete_columns())
        auth = authorization(self.settings, self.bucket, client.lit)  # frozen right before the COPY
        sql = copy_statement(target, self.bucket.full_url(manifest), file_format, auth.clause, client.lit,
                             has_json, region)
        masked = copy_statement(target, self.bucket.full_url(manifest), file_format, auth.masked, client.lit,
                                has_json, region)
        transport = client.transport
        with transport.redacting(auth.secrets), transport.transaction():
            for stmt in client.before_load_sql(target):
                client.execute(stmt)
            client.statements.append(masked)
            try:
                client.run_driver(lambda: transport.execute(sql))
            except DestinationError as exc:
                raise self._explain(exc, table.name, [u["url"] for u in entries]) from None
            loaded = client.execute("SELECT pg_last_copy_count()")[0][0]
            crash_point("staging.copied")
            if int(loaded) != expected:
                raise DestinationTerminalError(
                    f"redshift: COPY into {target} loaded {loaded} rows but the {len(pairs)} staged file(s) of "
                    f"package {load_id} hold {expected}; rolled back, nothing of this table was loaded"
                )
            client.execute(
                f"INSERT INTO {client.table(LOAD_JOBS_TABLE)} ({client._names(LOAD_JOBS_TABLE)}) "
                f"VALUES ({client._values([load_id, job.job_id, client._now()])})"
            )
            crash_point("load.job_marker")

    def _match_table_order(self, table: Any, files: list[Path]) -> None:
        """COPY maps parquet columns by position: files follow the existing table's column order, with
        NULLs for columns the table has and the schema does not (added by someone else)."""
        client = self.client
        have = client.reflect([table.name]).get(client._fold(table.name), {})
        names = [client._fold(c.name) for c in table.complete_columns()]
        if not have or list(have) == names:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        from shipload.schema.arrow import arrow_type
        from shipload.schema.schema import Column

        unknown = [c for c, t in have.items() if c not in names and t is None]
        if unknown:
            raise DestinationTerminalError(
                f"table {table.name!r} has column(s) {unknown} of a type shipload does not map; parquet COPY maps "
                "columns by position and cannot skip them: drop them, or load with loader_file_format='jsonl'")
        for path in files:
            data = pq.read_table(path)
            by_name = {client._fold(n): data.column(n) for n in data.column_names}
            arrays, fields = [], []
            for col, data_type in have.items():
                arr = by_name.get(col)
                if arr is None:
                    arr = pa.nulls(data.num_rows, arrow_type(Column(name=col, data_type=data_type)))
                arrays.append(arr)
                fields.append(pa.field(col, arr.type))
            tmp = path.with_name(path.name + ".ordered")
            pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), tmp, compression="snappy")
            tmp.replace(path)

    def _upload(self, pairs: list[tuple[Path, str]]) -> dict[str, int]:
        """Upload the files (in parallel; with a crash point armed, one by one so it can hit mid-upload)."""
        if not crash_armed("staging.file_uploaded"):
            return self.bucket.put_files(pairs)
        sizes = {}
        for path, key in pairs:
            sizes[key] = self.bucket.put_file(path, key)
            crash_point("staging.file_uploaded")
        return sizes

    def _explain(self, exc: DestinationError, table: str, urls: list[str]) -> DestinationError:
        """The COPY error with the matching `stl_load_errors` rows (file, line, column, type, reason)."""
        if "stl_load_errors" not in str(exc).lower():
            return exc
        client = self.client
        try:
            client.transport.rollback()
            names = ", ".join(client.lit(u) for u in urls)
            rows = client.execute(
                "SELECT TRIM(filename), line_number, TRIM(colname), TRIM(type), TRIM(raw_field_value), err_code, "
                f"TRIM(err_reason) FROM stl_load_errors WHERE TRIM(filename) IN ({names}) "
                f"ORDER BY starttime DESC LIMIT {LOAD_ERROR_ROWS}"
            )
        except Exception as lookup:  # the original error is what matters
            log.warning("could not read stl_load_errors: %s", lookup)
            return exc
        if not rows:
            return exc
        details = "; ".join(
            f"file {f}, line {line}, column {col!r} ({typ}): {reason} (error {code}, value {str(value)[:80]!r})"
            for f, line, col, typ, value, code, reason in rows
        )
        err = type(exc)(f"{exc}\nstl_load_errors for table {table!r}: {details}")
        err.sqlstate = getattr(exc, "sqlstate", None)  # type: ignore[attr-defined]
        return err

    # -- after the package committed ------------------------------------------------------------------
    def cleanup(self, tables: list[str]) -> None:
        """Delete the staged files and manifests of `tables` (this load's and earlier failed ones')."""
        if getattr(self.settings, "keep_staged_files", False):
            return
        crash_point("staging.before_cleanup")
        for table in tables:
            try:
                self.bucket.delete_prefix(table_prefix(self.client.dataset_name, table))
                crash_point("staging.cleaned")
            except Exception as exc:  # the load is committed; leftovers go with the next load
                log.warning("could not delete staged files of table %r: %s", table, exc)
