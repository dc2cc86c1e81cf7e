"""Redshift's follow-up SQL: upsert through MERGE (the source deduplicated into a temporary table,
which is dropped again), everything else as in the generic builder (which already deletes by key
with IN subqueries and USING joins, never with OR)."""

from __future__ import annotations

from shipload.destinations.sql.followup import DEDUP_COL, FollowupSql
from shipload.exceptions import SchemaError
from shipload.schema.schema import ROOT_ID_COL, ROW_ID_COL, Table


class RedshiftFollowupSql(FollowupSql):
    def upsert(self, root: Table) -> list[str]:
        pk = self.keys(root, "primary_key")
        if not pk:
            raise SchemaError(f"table {root.name!r}: merge strategy 'upsert' needs a primary_key")
        target = self.final(root)
        names = self.names(root)
        dedup = self.deduplicated(root, pk)
        source = self.q(f"sl_upsert_{root.name}"[:127])
        out = [
            f"CREATE TEMP TABLE {source} AS SELECT {self.cols(names, 's')} FROM {dedup} "
            f"WHERE s.{DEDUP_COL} = 1 AND {self.not_deleted(root, 's')}"
        ]
        out.extend(
            f"DELETE FROM {self.final(child)} WHERE {self.q(ROOT_ID_COL)} IN "
            f"(SELECT {self.q(ROW_ID_COL)} FROM {target} WHERE {self.key_match(target, pk, self.staged(root))})"
            for child in self.children(root)
        )
        gone = self.deleted(root, "s")
        if gone:
            out.append(self.delete_matching(target, pk, f"(SELECT * FROM {dedup} WHERE s.{DEDUP_COL} = 1 AND {gone})"))
        on = " AND ".join(f"{target}.{self.q(k)} = s.{self.q(k)}" for k in pk)
        sets = ", ".join(f"{self.q(n)} = s.{self.q(n)}" for n in names if n not in pk)
        out.append(
            f"MERGE INTO {target} USING {source} AS s ON {on} "
            f"WHEN MATCHED THEN UPDATE SET {sets} "
            f"WHEN NOT MATCHED THEN INSERT ({self.cols(names)}) VALUES ({self.cols(names, 's')})"
        )
        out.append(f"DROP TABLE {source}")
        return out + self.insert_children(root)
