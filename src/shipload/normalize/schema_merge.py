"""Merge the schema a normalize worker evolved into the main process's schema, if they agree."""

from __future__ import annotations

import copy

from shipload.schema.schema import Schema

#: column properties that normalize infers from data: both processes must agree on them
_INFERRED = ("data_type", "timezone", "scale", "variant")


def merge_schema(into: Schema, other: Schema) -> bool:
    """Add `other`'s tables and columns to `into`; False (and `into` untouched) on any disagreement.
    Text precision (byte size) takes the larger of the two."""
    updates: list[tuple[str, str | None, object]] = []
    for name, table in other.tables.items():
        mine = into.tables.get(name)
        if mine is None:
            updates.append((name, None, copy.deepcopy(table)))
            continue
        if mine.parent != table.parent:
            return False
        for cname, col in table.columns.items():
            have = mine.columns.get(cname)
            if have is None or have.data_type is None:
                if col.data_type is not None or have is None:
                    updates.append((name, cname, copy.deepcopy(col)))
                continue
            if col.data_type is None:
                continue
            if any(getattr(have, key) != getattr(col, key) for key in _INFERRED):
                return False
            if have.precision != col.precision:
                if have.data_type != "text":
                    return False
                updates.append((name, cname, max(have.precision or 0, col.precision or 0)))
    for name, cname, value in updates:
        if cname is None:
            into.tables[name] = value  # type: ignore[assignment]
        elif isinstance(value, int):
            into.tables[name].columns[cname].precision = value
        else:
            into.tables[name].columns[cname] = value  # type: ignore[assignment]
    return True
