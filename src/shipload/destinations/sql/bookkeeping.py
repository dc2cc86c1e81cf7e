"""SQL job client, part 2: what the destination knows of loads: job markers, committed loads, the
stored pipeline state and schema."""

from __future__ import annotations

from typing import Any

import orjson

from shipload.destinations.sql.client_base import STATE_ENGINE_VERSION, SqlClientBase
from shipload.destinations.sql.stored_text import PART_MARK, from_parts, to_parts
from shipload.exceptions import TerminalError
from shipload.packages.storage import JobFileName
from shipload.schema.schema import (
    LOAD_JOBS_TABLE,
    LOADS_TABLE,
    STATE_TABLE,
    VERSION_TABLE,
    Schema,
)
from shipload.utils.typed import from_tagged, to_tagged


class SqlBookkeeping(SqlClientBase):
    def job_done(self, load_id: str, job: JobFileName) -> bool:
        rows = self.execute(
            f"SELECT 1 FROM {self.table(LOAD_JOBS_TABLE)} WHERE load_id = {self.lit(load_id)} "
            f"AND job_id = {self.lit(job.job_id)}"
        )
        return bool(rows)

    def completed_loads(self, load_ids: list[str]) -> set[str]:
        if not load_ids or not self.has_dataset() or LOADS_TABLE not in self.reflect([LOADS_TABLE]):
            return set()
        ids = ", ".join(self.lit(i) for i in load_ids)
        return {r[0] for r in self.execute(f"SELECT load_id FROM {self.table(LOADS_TABLE)} WHERE load_id IN ({ids})")}

    def package_committed(self, load_id: str) -> bool:
        return bool(self.execute(f"SELECT 1 FROM {self.table(LOADS_TABLE)} WHERE load_id = {self.lit(load_id)}"))

    def _state_insert_sql(self, state: dict[str, Any], load_id: str) -> list[str]:
        """The state's `_sl_pipeline_state` rows: compressed, in parts over the column limit."""
        body = orjson.dumps(to_tagged(state), default=str, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        head = [int(state.get("_state_version", 1)), STATE_ENGINE_VERSION, state.get("pipeline_name", "")]
        tail = [self._now(), str(state.get("_version_hash", "")), load_id]
        return [
            f"INSERT INTO {self.table(STATE_TABLE)} ({self._names(STATE_TABLE)}) VALUES ({self._values(head + [part] + tail)})"
            for part in to_parts(body, self.dialect.max_text_bytes)
        ]

    def get_stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        if not self.has_dataset() or STATE_TABLE not in self.reflect([STATE_TABLE, LOADS_TABLE]):
            return None
        state, loads = self.table(STATE_TABLE), self.table(LOADS_TABLE)
        newest = self.execute(
            f"SELECT max(l.load_id) FROM {state} AS s JOIN {loads} AS l ON l.load_id = s._sl_load_id "
            f"WHERE s.pipeline_name = {self.lit(pipeline_name)} AND l.status = 0"
        )
        if not newest or newest[0][0] is None:
            return None
        load_id = newest[0][0]
        rows = self.execute(f"SELECT s.state FROM {state} AS s WHERE s.pipeline_name = {self.lit(pipeline_name)} "
                            f"AND s._sl_load_id = {self.lit(load_id)}")
        where = f"{STATE_TABLE} of pipeline {pipeline_name!r}, load {load_id}"
        try:
            return from_tagged(orjson.loads(from_parts([r[0] for r in rows], where)))
        except orjson.JSONDecodeError as exc:
            raise TerminalError(f"{where}: the stored state is not readable: {exc}") from None

    def get_stored_schema(self, schema_name: str) -> Schema | None:
        if not self.has_dataset() or VERSION_TABLE not in self.reflect([VERSION_TABLE]):
            return None
        versions = self.table(VERSION_TABLE)
        newest = self.execute(
            f"SELECT v.version_hash FROM {versions} AS v WHERE v.schema_name = {self.lit(schema_name)} "
            "ORDER BY v.inserted_at DESC LIMIT 1"
        )
        if not newest:
            return None
        rows = self.execute(f"SELECT v.schema FROM {versions} AS v WHERE v.schema_name = {self.lit(schema_name)} "
                            f"AND v.version_hash = {self.lit(newest[0][0])}")
        where = f"{VERSION_TABLE} of schema {schema_name!r}, version {newest[0][0]}"
        values = [r[0] for r in rows]
        if len(values) > 1 and not any(v.startswith(PART_MARK) for v in values):
            values = values[:1]  # the same version stored twice whole
        return Schema.from_json(from_parts(values, where), self.capabilities.max_identifier_length)
