"""Add keys to a TOML document without touching what is there (values, comments, order)."""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.items import Table

#: (table path, key, value, comment or None)
Entry = tuple[tuple[str, ...], str, Any, "str | None"]


def merge_missing(text: str, entries: list[Entry]) -> tuple[str, list[str], list[str]]:
    """(new text, keys added as ``a.b.key``, keys skipped because the path holds a non-table value)."""
    doc = tomlkit.parse(text)
    added: list[str] = []
    skipped: list[str] = []
    for path, key, value, comment in entries:
        dotted = ".".join((*path, key))
        node: Any = doc
        blocked = False
        for i, part in enumerate(path):
            if part not in node:
                node.add(part, tomlkit.table(is_super_table=i < len(path) - 1))
            node = node[part]
            if not isinstance(node, (Table, dict)):  # e.g. credentials = "redshift://..." given as one string
                blocked = True
                break
        if blocked:
            skipped.append(dotted)
            continue
        if key in node:
            continue
        item = tomlkit.item(value)
        if comment:
            item.comment(comment)
        node.add(key, item)
        added.append(dotted)
    return (tomlkit.dumps(doc) if added else text), added, skipped
