"""Relational flattening: nested dicts become ``a__b`` columns, lists become child tables.

Child rows carry ``_sl_parent_id`` (the parent's ``_sl_id``), ``_sl_list_idx`` (position in the
list) and, for merge tables, ``_sl_root_id`` (the root row's ``_sl_id``). Lists of scalars give a
``value`` column; a list inside a list gives a child table named ``<child>__list``.
"""

from __future__ import annotations

from typing import Any

from shipload.exceptions import IdentifierCollisionError, TerminalError
from shipload.schema.naming import SnakeCaseNaming
from shipload.schema.schema import LIST_IDX_COL, PARENT_ID_COL, ROOT_ID_COL, ROW_ID_COL
from shipload.utils.ids import RowIdPool, content_row_ids, new_row_ids

Rows = dict[str, list[dict[str, Any]]]


class RelationalNormalizer:
    """Flattens pages of one root table. Names are computed once per distinct key path and cached."""

    def __init__(
        self,
        naming: SnakeCaseNaming,
        root_table: str,
        max_nesting: int,
        json_columns: dict[str, set[str]],
        with_root_id: bool,
        content_ids: bool = False,
    ) -> None:
        self.naming = naming
        self.root_table = root_table
        self.max_nesting = max_nesting
        self.json_columns = json_columns
        self.with_root_id = with_root_id
        self.content_ids = content_ids  # scd2: a root row's id is a hash of its content
        self._by_prefix: dict[str, dict[str, str]] = {}  # prefix -> raw key -> column name
        self._child_names: dict[tuple[str, str], str] = {}
        self._ids = RowIdPool()
        self.parent_of: dict[str, str] = {}
        self._origin: dict[tuple[str, str], str] = {}

    def _col(self, prefix: str, key: str) -> str:
        if not isinstance(key, str):
            key = str(key)
        ident = self.naming.normalize_identifier(key)
        name = self.naming.normalize_path(prefix, ident) if prefix else ident
        other = self._origin.setdefault((prefix, name), key)
        if other != key:
            where = f"{self.root_table!r}" + (f" under {prefix!r}" if prefix else "")
            raise IdentifierCollisionError(
                f"table {where}: keys {other!r} and {key!r} both become column {name!r}; rename one of them"
            )
        return name

    def _child(self, table: str, column: str) -> str:
        name = self.naming.normalize_path(table, column)
        self._child_names[(table, column)] = name
        self.parent_of[name] = table
        return name

    def normalize_page(self, items: list[Any]) -> tuple[Rows, list[str]]:
        """Flatten a page; returns rows per table (root first) and the root row ids."""
        out: Rows = {self.root_table: []}
        root_rows = out[self.root_table]
        ids = content_row_ids(items) if self.content_ids else new_row_ids(len(items))
        table = self.root_table
        flatten = self._flatten
        json_cols = self.json_columns.get(table, ())
        nest = self.max_nesting > 0
        for item, rid in zip(items, ids, strict=False):
            if type(item) is not dict:
                if isinstance(item, dict):
                    item = dict(item)
                else:
                    raise TerminalError(
                        f"table {table!r}: items must be dicts, got {type(item).__name__}: {item!r:.200}"
                    )
            row: dict[str, Any] = {}
            children: list[tuple[str, Any]] = []
            flatten(item, "", row, children, nest, json_cols)
            root_rows.append(row)
            if children:
                self._emit_children(table, rid, rid, children, 1, out)
        return out, ids

    def _flatten(
        self, d: dict[str, Any], prefix: str, row: dict[str, Any], children: list[tuple[str, Any]],
        nest: bool, json_cols: Any,
    ) -> None:
        names = self._by_prefix.get(prefix)
        if names is None:
            names = self._by_prefix[prefix] = {}
        for k, v in d.items():
            name = names.get(k)
            if name is None:
                name = names[k] = self._col(prefix, k)
            tv = type(v)
            if tv is dict:
                if nest and name not in json_cols:
                    self._flatten(v, name, row, children, nest, json_cols)
                else:
                    row[name] = v
            elif tv is list or tv is tuple:
                if nest and name not in json_cols:
                    children.append((name, v))
                else:
                    row[name] = v
            else:
                row[name] = v

    def _emit_children(
        self, table: str, parent_id: str, root_id: str, children: list[tuple[str, Any]], depth: int, out: Rows,
    ) -> None:
        nest = depth < self.max_nesting
        with_root = self.with_root_id
        for column, items in children:
            child = self._child_names.get((table, column)) or self._child(table, column)
            rows = out.get(child)
            if rows is None:
                rows = out[child] = []
            json_cols = self.json_columns.get(child, ())
            ids = self._ids.take(len(items))
            for idx, (item, cid) in enumerate(zip(items, ids, strict=False)):
                row: dict[str, Any] = {}
                grand: list[tuple[str, Any]] = []
                ti = type(item)
                if ti is dict:
                    self._flatten(item, "", row, grand, nest, json_cols)
                elif (ti is list or ti is tuple) and nest:
                    grand.append(("list", item))
                else:
                    row["value"] = item
                row[PARENT_ID_COL] = parent_id
                row[LIST_IDX_COL] = idx
                row[ROW_ID_COL] = cid
                if with_root:
                    row[ROOT_ID_COL] = root_id
                rows.append(row)
                if grand:
                    self._emit_children(child, cid, root_id, grand, depth + 1, out)
