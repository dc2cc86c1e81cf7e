"""Follow-up SQL for write dispositions that load through the staging dataset.

Run in the transaction that also writes the loads-table row, after every job of the package
committed, so readers see the old or the new contents and never a half-merged table.

* replace, insert-from-staging: ``DELETE`` the final tables, ``INSERT ... SELECT`` from staging.
* merge, delete-insert: delete final rows whose primary key or merge key appears in staging (and
  their children, found through ``_sl_root_id``), insert the staging rows, deduplicated on the
  primary key (kept row chosen by the ``dedup_sort`` column), minus rows flagged by the
  ``hard_delete`` column.
* merge, upsert: update rows matched on the primary key in place, insert the others; children of
  matched rows are replaced; hard-deleted keys are removed.
* merge, scd2: the root row id is a hash of the row's content; active rows whose hash is absent
  from staging are retired (valid-to set to the load time), new hashes are inserted as active
  rows (valid-from = load time, valid-to NULL); children are inserted with their new parents.

Dialects change individual statements by subclassing (Redshift uses ``MERGE`` for upsert)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from shipload.exceptions import SchemaError
from shipload.schema.hints import scd2_column_names, upsert_keys
from shipload.schema.schema import LOAD_ID_COL, ROOT_ID_COL, ROW_ID_COL, Schema, Table

if TYPE_CHECKING:
    from shipload.destinations.sql.client import SqlJobClient

DEDUP_COL = "_sl_dedup_rn"


def load_time(load_id: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(load_id), dt.UTC)


class FollowupSql:
    def __init__(self, client: SqlJobClient, schema: Schema, load_id: str) -> None:
        self.client = client
        self.dialect = client.dialect
        self.schema = schema
        self.load_id = load_id

    # -- small pieces -------------------------------------------------------------------------
    def q(self, name: str) -> str:
        return self.dialect.quote_identifier(name)

    def final(self, table: Table) -> str:
        return self.client.table(table.name)

    def staged(self, table: Table) -> str:
        return self.client.staging_table(table.name)

    @staticmethod
    def names(table: Table) -> list[str]:
        return [c.name for c in table.complete_columns()]

    def cols(self, names: list[str], alias: str | None = None) -> str:
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + self.q(n) for n in names)

    def children(self, root: Table) -> list[Table]:
        return [t for t in self.schema.child_tables(root.name) if t.complete_columns()]

    def keys(self, root: Table, hint: str) -> list[str]:
        return [c.name for c in root.columns_with(hint) if c.is_complete]

    def key_match(self, target: str, keys: list[str], source: str) -> str:
        """A condition on `target` rows: their `keys` appear in `source` (a table or a parenthesized query).
        One key: ``k IN (SELECT k ...)``; several: an uncorrelated row-set join, never an OR."""
        if len(keys) == 1:
            k = self.q(keys[0])
            return f"{target}.{k} IN (SELECT s.{k} FROM {source} AS s)"
        on = " AND ".join(f"t.{self.q(k)} = s.{self.q(k)}" for k in keys)
        return (f"{target}.{self.q(ROW_ID_COL)} IN (SELECT t.{self.q(ROW_ID_COL)} FROM {target} AS t "
                f"JOIN {source} AS s ON {on})")

    def delete_matching(self, target: str, keys: list[str], source: str) -> str:
        """DELETE the `target` rows whose `keys` appear in `source`."""
        if len(keys) == 1:
            return f"DELETE FROM {target} WHERE {self.key_match(target, keys, source)}"
        on = " AND ".join(f"{target}.{self.q(k)} = s.{self.q(k)}" for k in keys)
        return f"DELETE FROM {target} USING {source} AS s WHERE {on}"

    def not_deleted(self, root: Table, alias: str) -> str:
        flagged = [c for c in root.columns.values() if c.hard_delete and c.is_complete]
        if not flagged:
            return "1 = 1"
        parts = []
        for c in flagged:
            ref = f"{alias}.{self.q(c.name)}"
            parts.append(f"({ref} IS NULL OR {ref} = FALSE)" if c.data_type == "bool" else f"{ref} IS NULL")
        return " AND ".join(parts)

    def deleted(self, root: Table, alias: str) -> str | None:
        nd = self.not_deleted(root, alias)
        return None if nd == "1 = 1" else f"NOT ({nd})"

    def dedup_order(self, root: Table, keys: list[str]) -> str:
        sort = [c for c in root.columns.values() if c.dedup_sort and c.is_complete]
        if sort:
            return ", ".join(f"{self.q(c.name)} {'ASC' if c.dedup_sort == 'asc' else 'DESC'}" for c in sort)
        return self.cols(keys)  # no sort column: any row of the key may win

    def deduplicated(self, root: Table, keys: list[str]) -> str:
        """Staging rows of `root`, one per key; a subquery aliased ``s`` with column ``_sl_dedup_rn``."""
        names = self.names(root)
        return (
            f"(SELECT {self.cols(names)}, ROW_NUMBER() OVER (PARTITION BY {self.cols(keys)} "
            f"ORDER BY {self.dedup_order(root, keys)}) AS {DEDUP_COL} FROM {self.staged(root)}) AS s"
        )

    def insert_children(self, root: Table, extra: str = "") -> list[str]:
        """Children from staging whose root row was written by this load."""
        out = []
        new_roots = f"SELECT {self.q(ROW_ID_COL)} FROM {self.final(root)} WHERE {self.q(LOAD_ID_COL)} = {self.client.lit(self.load_id)}"
        for child in self.children(root):
            names = self.names(child)
            cond = f"s.{self.q(ROOT_ID_COL)} IN ({new_roots})"
            if extra:
                cond += " AND " + extra.format(final=self.final(child), root_id=self.q(ROOT_ID_COL))
            out.append(
                f"INSERT INTO {self.final(child)} ({self.cols(names)}) SELECT {self.cols(names, 's')} "
                f"FROM {self.staged(child)} AS s WHERE {cond}"
            )
        return out

    # -- dispositions -------------------------------------------------------------------------
    def replace_from_staging(self, root: Table) -> list[str]:
        out = []
        for table in [root, *self.children(root)]:
            names = self.cols(self.names(table))
            out.append(f"DELETE FROM {self.final(table)}")
            out.append(f"INSERT INTO {self.final(table)} ({names}) SELECT {names} FROM {self.staged(table)}")
        return out

    def delete_insert(self, root: Table) -> list[str]:
        pk, mk = self.keys(root, "primary_key"), self.keys(root, "merge_key")
        target = self.final(root)
        out: list[str] = []
        # one DELETE per key set (primary key, then merge key): no OR between them, which is slow
        for keys in (pk, mk):
            if not keys:
                continue
            match = self.key_match(target, keys, self.staged(root))
            out.extend(
                f"DELETE FROM {self.final(child)} WHERE {self.q(ROOT_ID_COL)} IN "
                f"(SELECT {self.q(ROW_ID_COL)} FROM {target} WHERE {match})"
                for child in self.children(root)
            )
            out.append(self.delete_matching(target, keys, self.staged(root)))
        names = self.names(root)
        if pk:
            source = f"{self.deduplicated(root, pk)} WHERE s.{DEDUP_COL} = 1 AND {self.not_deleted(root, 's')}"
        else:
            source = f"{self.staged(root)} AS s WHERE {self.not_deleted(root, 's')}"
        out.append(f"INSERT INTO {target} ({self.cols(names)}) SELECT {self.cols(names, 's')} FROM {source}")
        return out + self.insert_children(root)

    def upsert(self, root: Table) -> list[str]:
        upsert_keys(root)
        pk = self.keys(root, "primary_key")
        target = self.final(root)
        names = self.names(root)
        dedup = self.deduplicated(root, pk)
        kept = f"(SELECT * FROM {dedup} WHERE s.{DEDUP_COL} = 1 AND {self.not_deleted(root, 's')})"
        out = [
            f"DELETE FROM {self.final(child)} WHERE {self.q(ROOT_ID_COL)} IN "
            f"(SELECT {self.q(ROW_ID_COL)} FROM {target} WHERE {self.key_match(target, pk, self.staged(root))})"
            for child in self.children(root)
        ]
        gone = self.deleted(root, "s")
        if gone:
            out.append(self.delete_matching(target, pk, f"(SELECT * FROM {dedup} WHERE s.{DEDUP_COL} = 1 AND {gone})"))
        out.extend(self.upsert_rows(root, pk, names, kept))
        return out + self.insert_children(root)

    def upsert_rows(self, root: Table, pk: list[str], names: list[str], kept: str) -> list[str]:
        """UPDATE matched rows, INSERT the rest (dialects with MERGE override this)."""
        target = self.final(root)
        sets = ", ".join(f"{self.q(n)} = u.{self.q(n)}" for n in names if n not in pk)
        on = " AND ".join(f"{target}.{self.q(k)} = u.{self.q(k)}" for k in pk)
        missing = " AND ".join(f"t.{self.q(k)} = s.{self.q(k)}" for k in pk)
        return [
            f"UPDATE {target} SET {sets} FROM {kept} AS u WHERE {on}",
            f"INSERT INTO {target} ({self.cols(names)}) SELECT {self.cols(names, 's')} FROM {kept} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {missing})",
        ]

    def scd2(self, root: Table) -> list[str]:
        valid_from, valid_to = scd2_column_names(root)
        target = self.final(root)
        staged = self.staged(root)
        cols = {c.name: c for c in root.complete_columns()}
        for name in (valid_from, valid_to):
            if name not in cols:
                raise SchemaError(f"table {root.name!r}: scd2 validity column {name!r} is missing from the schema")
        data = [n for n in cols if n not in (valid_from, valid_to)]
        ts = f"CAST({self.client.lit(load_time(self.load_id))} AS {self.dialect.column_type(cols[valid_from])})"
        ts_to = f"CAST({self.client.lit(load_time(self.load_id))} AS {self.dialect.column_type(cols[valid_to])})"
        null_to = f"CAST(NULL AS {self.dialect.column_type(cols[valid_to])})"
        rid, vt = self.q(ROW_ID_COL), self.q(valid_to)
        retire = f"UPDATE {target} SET {vt} = {ts_to} WHERE {vt} IS NULL AND {rid} NOT IN (SELECT {rid} FROM {staged})"
        mk = self.keys(root, "merge_key")
        if mk:  # incremental scd2: only keys present in this load can be retired
            retire += " AND " + self.key_match(target, mk, staged)
        insert = (
            f"INSERT INTO {target} ({self.cols(data)}, {self.q(valid_from)}, {vt}) "
            f"SELECT {self.cols(data, 's')}, {ts}, {null_to} FROM "
            f"(SELECT {self.cols(data)}, ROW_NUMBER() OVER (PARTITION BY {rid} ORDER BY {rid}) AS {DEDUP_COL} "
            f"FROM {staged}) AS s WHERE s.{DEDUP_COL} = 1 AND s.{rid} NOT IN "
            f"(SELECT {rid} FROM {target} WHERE {vt} IS NULL)"
        )
        # a version identical to a retired one reuses its row id, and its children are already there
        children = self.insert_children(root, extra="s.{root_id} NOT IN (SELECT {root_id} FROM {final})")
        return [retire, insert, *children]

    def for_root(self, root: Table) -> list[str]:
        disposition = root.write_disposition or "append"
        if disposition == "replace":
            return self.replace_from_staging(root)
        if disposition == "merge":
            strategy = root.merge_strategy or "delete-insert"
            return {"delete-insert": self.delete_insert, "upsert": self.upsert, "scd2": self.scd2}[strategy](root)
        return []


def uses_staging(root: Table) -> bool:
    """True when `root`'s chain loads into the staging dataset and is moved by follow-up SQL."""
    if root.write_disposition == "replace":
        return root.replace_strategy in ("insert-from-staging", "staging-optimized")
    if root.write_disposition == "merge":
        if root.merge_strategy == "scd2":
            return True
        return any(c.primary_key or c.merge_key for c in root.columns.values())
    return False
