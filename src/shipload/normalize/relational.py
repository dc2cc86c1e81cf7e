"""Relational flattening, column by column: nested dicts become ``a__b`` columns, lists become
child tables.

A page of items is turned into columns directly (one pass per key, not per value): for each key,
the values of all items are gathered in one list; a list holding only scalars is a column as is,
dicts in it are flattened into ``key__*`` columns the same way, lists become child rows. Child rows
carry ``_sl_parent_id`` (the parent's ``_sl_id``), ``_sl_list_idx`` (position in the list) and, for
merge tables, ``_sl_root_id`` (the root row's ``_sl_id``). Lists of scalars give a ``value``
column; a list inside a list gives a child table named ``<child>__list``. A root item that is not a
dict is stored the same way, as the ``value`` column of its row."""

from __future__ import annotations

from itertools import chain
from typing import Any

from shipload.exceptions import IdentifierCollisionError
from shipload.schema.naming import SnakeCaseNaming
from shipload.schema.schema import LIST_IDX_COL, PARENT_ID_COL, ROOT_ID_COL, ROW_ID_COL
from shipload.utils.ids import RowIdPool, content_row_ids, new_row_ids

Columns = dict[str, list[Any]]
#: table -> (columns, row count), root table first, parents before children
Tables = dict[str, tuple[Columns, int]]
_NESTED = (dict, list, tuple)
#: the column that holds items which are not dicts, in root and child tables alike
VALUE_COL = "value"


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
        self._by_prefix: dict[str, dict[Any, str]] = {}  # prefix -> raw key -> column name
        self._child_names: dict[tuple[str, str], str] = {}
        self._ids = RowIdPool()
        self.parent_of: dict[str, str] = {}
        self._origin: dict[tuple[str, str], str] = {}

    # -- names ----------------------------------------------------------------------------------
    def _col(self, prefix: str, key: Any) -> str:
        raw = key if isinstance(key, str) else str(key)
        ident = self.naming.normalize_identifier(raw)
        name = self.naming.normalize_path(prefix, ident) if prefix else ident
        other = self._origin.setdefault((prefix, name), raw)
        if other != raw:
            where = f"{self.root_table!r}" + (f" under {prefix!r}" if prefix else "")
            raise IdentifierCollisionError(
                f"table {where}: keys {other!r} and {raw!r} both become column {name!r}; rename one of them"
            )
        return name

    def _child(self, table: str, column: str) -> str:
        name = self._child_names.get((table, column))
        if name is None:
            name = self._child_names[(table, column)] = self.naming.normalize_path(table, column)
        self.parent_of[name] = table
        return name

    # -- pages ------------------------------------------------------------------------------------
    def normalize_page(self, items: list[Any]) -> tuple[Tables, list[str]]:
        """Flatten a page; returns columns per table (root first) and the root row ids."""
        table = self.root_table
        if set(map(type, items)) != {dict}:
            items = [self._as_dict(item, table) for item in items]
        n = len(items)
        ids = content_row_ids(items) if self.content_ids else new_row_ids(n)
        cols: Columns = {}
        lists: list[tuple[str, list[Any]]] = []
        self._columns(items, "", cols, self.max_nesting > 0, self.json_columns.get(table, ()), lists, True)
        out: Tables = {table: (cols, n)}
        if lists:
            self._children(table, lists, ids, ids, 1, out)
        return out, ids

    @staticmethod
    def _as_dict(item: Any, table: str) -> dict[str, Any]:
        """A dict as is; any other item (``1``, ``"a"``, ``[1, 2]``) becomes ``{"value": item}``."""
        if isinstance(item, dict):
            return item
        return {VALUE_COL: item}

    def _columns(
        self, items: list[Any], prefix: str, cols: Columns, nest: bool, json_cols: Any,
        lists: list[tuple[str, list[Any]]], dense: bool,
    ) -> None:
        """Columns of `items` (dicts, or None where a row has no dict here when not `dense`)."""
        names = self._by_prefix.get(prefix)
        if names is None:
            names = self._by_prefix[prefix] = {}
        present = items if dense else [d for d in items if d is not None]
        uniform = _transpose(items) if dense else None
        keys = uniform.keys() if uniform is not None else dict.fromkeys(chain.from_iterable(present))
        for key in keys:
            name = names.get(key)
            if name is None:
                name = names[key] = self._col(prefix, key)
            if uniform is not None:
                values = uniform[key]
            elif dense:
                values = [d.get(key) for d in items]
            else:
                values = [None if d is None else d.get(key) for d in items]
            kinds = set(map(type, values))
            if (dict not in kinds and list not in kinds and tuple not in kinds) or not nest or name in json_cols:
                cols[name] = values
                continue
            if kinds - {dict, list, tuple, type(None)}:  # scalars beside nested values keep the column
                cols[name] = [None if type(v) in _NESTED else v for v in values]
            if dict in kinds:
                self._columns([v if type(v) is dict else None for v in values], name, cols, nest, json_cols, lists, False)
            if list in kinds or tuple in kinds:
                lists.append((name, [v if type(v) is list or type(v) is tuple else None for v in values]))

    def _children(
        self,
        table: str, lists: list[tuple[str, list[Any]]], ids: list[str], root_ids: list[str], depth: int,
        out: Tables,
    ) -> None:
        nest = depth < self.max_nesting
        with_root = self.with_root_id
        for column, values in lists:
            items: list[Any] = []
            parents: list[str] = []
            positions: list[int] = []
            roots: list[str] = []
            for i, value in enumerate(values):
                if value:
                    k = len(value)
                    items.extend(value)
                    parents.extend([ids[i]] * k)
                    positions.extend(range(k))
                    if with_root:
                        roots.extend([root_ids[i]] * k)
            if not items:
                continue
            child = self._child(table, column)
            m = len(items)
            cids = self._ids.take(m)
            cols: Columns = {}
            grand: list[tuple[str, list[Any]]] = []
            kinds = set(map(type, items))
            json_cols = self.json_columns.get(child, ())
            if kinds == {dict}:
                self._columns(items, "", cols, nest, json_cols, grand, True)
            else:
                if dict in kinds:
                    self._columns([it if type(it) is dict else None for it in items], "", cols, nest, json_cols, grand, False)
                nested_lists = nest and (list in kinds or tuple in kinds)
                if kinds - {dict} - ({list, tuple} if nested_lists else set()):
                    cols[VALUE_COL] = [None if type(it) is dict or (nested_lists and type(it) in (list, tuple)) else it
                                     for it in items]
                if nested_lists:
                    grand.append(("list", [it if type(it) is list or type(it) is tuple else None for it in items]))
            cols[PARENT_ID_COL] = parents
            cols[LIST_IDX_COL] = positions
            cols[ROW_ID_COL] = cids
            if with_root:
                cols[ROOT_ID_COL] = roots
            if child in out:  # the same child table reached twice in one page: append
                have, count = out[child]
                for name in set(have) | set(cols):
                    have.setdefault(name, [None] * count).extend(cols.get(name) or [None] * m)
                out[child] = (have, count + m)
            else:
                out[child] = (cols, m)
            if grand:
                self._children(child, grand, cids, roots if with_root else cids, depth + 1, out)


def _transpose(items: list[dict[str, Any]]) -> dict[Any, list[Any]] | None:
    """Columns of dicts that all have the same keys in the same order (the usual case for records
    made by one piece of code): one C-level transpose instead of a lookup per key and item."""
    first = items[0] if items else None
    if first is None:
        return None
    keys = list(first)
    width = len(keys)
    for d in items:
        if len(d) != width:
            return None
    if any(list(d) != keys for d in items):
        return None
    columns = zip(*[d.values() for d in items], strict=True)
    return {key: list(col) for key, col in zip(keys, columns, strict=True)}
