"""The filesystem destination: load files in a bucket (`s3://bucket/prefix` or a local folder),
in the layout of `layout.py`, with the loads and pipeline state recorded next to the data so that
incremental loading and restoring a pipeline work as on the SQL destinations.

A job is its file uploaded to a key made of the load id and the job's file id: uploading it again
(after a crash) replaces the same object, and a job is done when its object exists. Uploads of a
package run in parallel (at most `max_parallel_uploads`). `replace` removes a table's files of
earlier loads once the new load is committed; `append` adds files."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from shipload.destinations.base import Capabilities, JobClient
from shipload.destinations.filesystem import layout
from shipload.destinations.filesystem.bucket import Bucket, open_bucket
from shipload.destinations.filesystem.config import AwsCredentials, FilesystemSettings
from shipload.exceptions import TerminalError
from shipload.packages.storage import JobFileName
from shipload.schema.schema import Schema
from shipload.utils.typed import from_tagged, to_tagged

log = logging.getLogger("shipload.load")

CAPABILITIES = Capabilities(
    preferred_loader_file_format="parquet",
    supported_loader_file_formats=("parquet", "jsonl", "csv"),
    supported_write_dispositions=("append", "replace", "skip"),
    supported_merge_strategies=(),
    max_identifier_length=255,
    writer_options={"parquet_json_logical_type": True},
)
DATA_FORMATS = tuple(layout.EXTENSIONS)


def settings_bucket(credentials: AwsCredentials, settings: FilesystemSettings) -> Bucket:
    assert settings.bucket_url is not None
    return open_bucket(settings.bucket_url, credentials, settings.max_parallel_uploads)


class FilesystemClient(JobClient):
    capabilities = CAPABILITIES

    def __init__(self, credentials: AwsCredentials, dataset_name: str, settings: FilesystemSettings) -> None:
        self.bucket = settings_bucket(credentials, settings)
        self.dataset_name = dataset_name
        self._uploaded: set[str] = set()  # keys this client uploaded (the package's parallel batch)

    def __repr__(self) -> str:
        return f"FilesystemClient({self.bucket.url!r}, dataset={self.dataset_name!r})"

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def initialize_storage(self) -> None:
        self.bucket.check()

    def update_stored_schema(self, schema: Schema, load_id: str) -> list[str]:
        key = layout.version_key(self.dataset_name, schema.name, schema.version, schema.version_hash)
        if not self.bucket.list(key):
            self.bucket.put_bytes(schema.to_json(), key)
        return []

    def prepare_package(self, schema: Schema, load_id: str, tables: list[str]) -> None:
        for name in tables:
            if name in schema.tables:
                disposition = schema.write_disposition(name)
                if disposition not in CAPABILITIES.supported_write_dispositions:
                    raise TerminalError(f"table {name!r}: the filesystem destination supports write dispositions "
                                        f"{list(CAPABILITIES.supported_write_dispositions)}, not {disposition!r}")

    # -- jobs -------------------------------------------------------------------------------------
    def _key(self, load_id: str, job: JobFileName) -> str:
        return layout.data_key(self.dataset_name, job.table, load_id, job.file_id, job.file_format)

    def job_done(self, load_id: str, job: JobFileName) -> bool:
        if job.file_format not in DATA_FORMATS:
            return False
        key = self._key(load_id, job)
        return key in self.bucket.list(key)

    def run_job(self, schema: Schema, load_id: str, job: JobFileName, path: Path) -> None:
        if job.file_format not in DATA_FORMATS:
            raise TerminalError(f"table {job.table!r}: the filesystem destination stores {list(DATA_FORMATS)} files, "
                                f"not {job.file_format!r}")
        if not self._uploaded:
            self._upload_package(load_id, path.parent.parent)
        key = self._key(load_id, job)
        if key not in self._uploaded:
            self.bucket.put_file(path, key)
            self._uploaded.add(key)

    def _upload_package(self, load_id: str, package: Path) -> None:
        """Upload every waiting file of the package at once, in parallel; each job then finds its file there."""
        pairs = []
        for state in ("started_jobs", "new_jobs"):
            folder = package / state
            for name in sorted(p.name for p in folder.iterdir()) if folder.exists() else []:
                job = JobFileName.parse(name)
                if job.file_format in DATA_FORMATS:
                    pairs.append((folder / name, self._key(load_id, job)))
        try:
            self.bucket.put_files(pairs)
        except FileNotFoundError:  # a file moved on meanwhile: the jobs upload one by one
            return
        self._uploaded.update(k for _, k in pairs)

    # -- the commit -------------------------------------------------------------------------------
    def package_committed(self, load_id: str) -> bool:
        key = layout.loads_key(self.dataset_name, load_id)
        return key in self.bucket.list(key)

    def complete_package(self, schema: Schema, load_id: str, tables: list[str], state: dict[str, Any] | None,
                         sql_jobs: Sequence[tuple[JobFileName, Path]] = ()) -> None:
        if sql_jobs:
            raise TerminalError(f"the filesystem destination cannot run SQL jobs ({sql_jobs[0][0].table!r})")
        if self.package_committed(load_id):
            return
        if state is not None:
            body = orjson.dumps(to_tagged(state), default=str, option=orjson.OPT_SORT_KEYS)
            self.bucket.put_bytes(body, layout.state_key(self.dataset_name, str(state.get("pipeline_name", "")), load_id))
        record = {"load_id": load_id, "schema_name": schema.name, "status": 0,
                  "inserted_at": dt.datetime.now(dt.UTC).isoformat(), "schema_version_hash": schema.version_hash}
        self.bucket.put_bytes(orjson.dumps(record), layout.loads_key(self.dataset_name, load_id))
        self._uploaded.clear()
        self._replace_earlier_files(schema, load_id, tables)

    def _replace_earlier_files(self, schema: Schema, load_id: str, tables: list[str]) -> None:
        """After the commit: replaced tables keep only this load's files."""
        roots = {schema.root_table(t).name for t in tables if t in schema.tables}
        for root in sorted(roots):
            if schema.write_disposition(root) != "replace":
                continue
            for table in schema.table_chain(root):
                self.bucket.delete_prefix(layout.table_prefix(self.dataset_name, table.name),
                                          keep=lambda key: layout.load_id_of(key) == load_id)

    # -- restoring a pipeline ---------------------------------------------------------------------
    def committed_loads(self) -> set[str]:
        keys = self.bucket.list(f"{self.dataset_name}/{layout.LOADS_TABLE}/")
        return {k.rsplit("/", 1)[-1][: -len(".json")] for k in keys}

    def get_stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        prefix = f"{self.dataset_name}/{layout.STATE_TABLE}/{pipeline_name}."
        loads = self.committed_loads()
        found = [(k[len(prefix) : -len(".json")], k) for k in self.bucket.list(prefix)]
        found = [(load_id, k) for load_id, k in found if load_id in loads]
        if not found:
            return None
        _, key = max(found, key=lambda f: float(f[0]))
        return from_tagged(orjson.loads(self.bucket.get_bytes(key)))

    def get_stored_schema(self, schema_name: str) -> Schema | None:
        keys = sorted(self.bucket.list(f"{self.dataset_name}/{layout.VERSION_TABLE}/{schema_name}."))
        if not keys:
            return None
        return Schema.from_json(self.bucket.get_bytes(keys[-1]).decode("utf-8"), CAPABILITIES.max_identifier_length)

    # -- reading back -----------------------------------------------------------------------------
    def table_files(self, table: str) -> list[str]:
        """Keys of a table's data files, oldest load first."""
        return sorted(self.bucket.list(layout.table_prefix(self.dataset_name, table)))
