"""Hand-written flattening for the physical-limit references (no schema inference, no checks)."""

from __future__ import annotations

from typing import Any


def flatten(pages: list[list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(root rows with players__* columns, clocks child rows with a parent id)."""
    roots: list[dict[str, Any]] = []
    children: list[dict[str, Any]] = []
    for page in pages:
        for rec in page:
            row = {k: v for k, v in rec.items() if k not in ("players", "clocks")}
            players = rec.get("players")
            if players:
                for side, leaves in players.items():
                    for key, value in leaves.items():
                        row[f"players__{side}__{key}"] = value
            roots.append(row)
            for idx, clock in enumerate(rec.get("clocks") or ()):
                children.append({**clock, "parent_id": rec["id"], "list_idx": idx})
    return roots, children
