"""Shipload's own tables in every SQL dataset. Column order never changes; new columns go last.

- ``_sl_loads``: one row per completed package; the row is the commit point of a load.
- ``_sl_version``: every schema version stored, the whole schema as JSON (compressed when large).
- ``_sl_pipeline_state``: pipeline state after a run that changed it, tied to its load id.
- ``_sl_load_jobs``: one row per load job, written in the job's own transaction, so a job that
  committed just before a crash is never run twice.
"""

from __future__ import annotations

from shipload.schema.schema import LOAD_JOBS_TABLE, LOADS_TABLE, STATE_TABLE, VERSION_TABLE, Column

SYSTEM_TABLES: dict[str, list[Column]] = {
    LOADS_TABLE: [
        Column("load_id", "text", nullable=False),
        Column("schema_name", "text"),
        Column("status", "bigint", nullable=False),
        Column("inserted_at", "timestamp", nullable=False),
        Column("schema_version_hash", "text"),
    ],
    VERSION_TABLE: [
        Column("version", "bigint", nullable=False),
        Column("engine_version", "bigint", nullable=False),
        Column("inserted_at", "timestamp", nullable=False),
        Column("schema_name", "text", nullable=False),
        Column("version_hash", "text", nullable=False),
        Column("schema", "text", nullable=False),
    ],
    STATE_TABLE: [
        Column("version", "bigint", nullable=False),
        Column("engine_version", "bigint", nullable=False),
        Column("pipeline_name", "text", nullable=False),
        Column("state", "text", nullable=False),
        Column("created_at", "timestamp", nullable=False),
        Column("version_hash", "text"),
        Column("_sl_load_id", "text", nullable=False),
    ],
    LOAD_JOBS_TABLE: [
        Column("load_id", "text", nullable=False),
        Column("job_id", "text", nullable=False),
        Column("inserted_at", "timestamp", nullable=False),
    ],
}
