"""Redshift's follow-up SQL: upsert rows through MERGE (from a temporary table holding the
deduplicated staged rows, dropped again); everything else as in the generic builder, which already
deletes by key with IN subqueries and USING joins, never with OR."""

from __future__ import annotations

from shipload.destinations.sql.followup import FollowupSql
from shipload.schema.schema import Table


class RedshiftFollowupSql(FollowupSql):
    def upsert_rows(self, root: Table, pk: list[str], names: list[str], kept: str) -> list[str]:
        target = self.final(root)
        source = self.q(f"sl_upsert_{root.name}"[:127])
        on = " AND ".join(f"{target}.{self.q(k)} = s.{self.q(k)}" for k in pk)
        sets = ", ".join(f"{self.q(n)} = s.{self.q(n)}" for n in names if n not in pk)
        return [
            f"CREATE TEMP TABLE {source} AS SELECT {self.cols(names, 'k')} FROM {kept} AS k",
            f"MERGE INTO {target} USING {source} AS s ON {on} "
            f"WHEN MATCHED THEN UPDATE SET {sets} "
            f"WHEN NOT MATCHED THEN INSERT ({self.cols(names)}) VALUES ({self.cols(names, 's')})",
            f"DROP TABLE {source}",
        ]
