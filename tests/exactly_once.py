"""The data of the crash and fault suites, and what "every row loaded exactly once" means for it,
checked in the destination.

Scenarios (pipeline `crashy_<scenario>`, table `games` with child table `games__moves`):
  append: an incremental append of ids 0..N-1 (a rerun extracts only what is not yet loaded)
  merge:  version 1 loads ids [0, N/2), version 2 ids [N/4, N) with changed values (delete-insert)
  scd2:   the same two versions as full snapshots into an scd2 table"""

from __future__ import annotations

from typing import Any

import shipload

DISPOSITIONS: dict[str, Any] = {
    "append": "append",
    "merge": "merge",
    "scd2": {"disposition": "merge", "strategy": "scd2"},
}


def moves(i: int, version: int) -> list[dict[str, Any]]:
    return [{"san": f"v{version}-{i}-{j}", "n": j} for j in range(i % 5)]


def appended(n: int) -> Any:
    @shipload.resource(name="games", write_disposition="append")
    def games(cursor: Any = shipload.sources.incremental("id")) -> Any:
        for start in range(0, n, 500):
            yield [
                {"id": i, "white": f"p{i}", "moves": moves(i, 1)}
                for i in range(start, min(start + 500, n))
                if cursor.start_value is None or i > cursor.start_value
            ]

    return games()


def versioned(n: int, version: int) -> list[dict[str, Any]]:
    ids = range(n // 2) if version == 1 else range(n // 4, n)
    return [{"id": i, "white": f"p{i}-v{version}", "moves": moves(i, version)} for i in ids]


def run_scenario(p: shipload.Pipeline, scenario: str, n: int, version: int = 1, staged: str | None = None) -> Any:
    """One run of `scenario` (version 1 or 2 of the data for merge and scd2)."""
    if scenario == "append":
        return p.run(appended(n), loader_file_format=staged)
    return p.run(versioned(n, version), table_name="games", write_disposition=DISPOSITIONS[scenario],
                 primary_key="id" if scenario == "merge" else None, loader_file_format=staged)


def rows(client: Any, sql: str) -> list[tuple[Any, ...]]:
    return client.query(sql)[1]


def check_exactly_once(p: shipload.Pipeline, scenario: str, n: int) -> dict[str, int]:
    """Assert the destination holds each input row once (parents and children), no row outside a
    committed package, state stored and local in agreement; returns row counts for the report."""
    with p.sql_client() as c:
        games, moves, loads, jobs = (c.table(t) for t in ("games", "games__moves", "_sl_loads", "_sl_load_jobs"))
        got = rows(c, f"SELECT id, white, _sl_valid_to IS NULL FROM {games}" if scenario == "scd2"
                   else f"SELECT id, white, TRUE FROM {games}")
        if scenario == "append":
            want = {(i, f"p{i}", True) for i in range(n)}
        elif scenario == "merge":
            want = {(i, f"p{i}-v{1 if i < n // 4 else 2}", True) for i in range(n)}
        else:  # scd2: version 1 of [0, n/2) retired where version 2 of [n/4, n) replaced or dropped it
            want = {(i, f"p{i}-v1", False) for i in range(n // 2)} | {(i, f"p{i}-v2", True) for i in range(n // 4, n)}
        assert len(got) == len(set(got)), f"duplicated parent rows: {len(got) - len(set(got))}"
        assert set(got) == want, f"parents: {len(want - set(got))} missing, {len(set(got) - want)} unexpected"
        # children: each once, attached to the parent version they came with
        kids = rows(c, f"SELECT g.id, g.white, m.san FROM {moves} AS m JOIN {games} AS g ON m._sl_parent_id = g._sl_id")
        n_kids = rows(c, f"SELECT count(*) FROM {moves}")[0][0]
        want_kids = {(i, white, f"v{white.rsplit('-v', 1)[-1] if '-v' in white else 1}-{i}-{j}")
                     for i, white, _ in want for j in range(i % 5)}
        assert n_kids == len(kids), f"{n_kids - len(kids)} child rows without a parent"
        assert len(kids) == len(set(kids)), f"duplicated child rows: {len(kids) - len(set(kids))}"
        assert set(kids) == want_kids, f"children: {len(want_kids - set(kids))} missing, {len(set(kids) - want_kids)} unexpected"
        # nothing visible outside a committed package; one loads row per package
        orphans = rows(c, f"SELECT count(*) FROM {games} WHERE _sl_load_id NOT IN (SELECT load_id FROM {loads})")[0][0]
        assert orphans == 0, f"{orphans} rows of packages not in _sl_loads"
        stray_jobs = rows(c, f"SELECT count(*) FROM {jobs} WHERE load_id NOT IN (SELECT load_id FROM {loads})")[0][0]
        assert stray_jobs == 0, f"{stray_jobs} job markers of packages not in _sl_loads"
        per_load = rows(c, f"SELECT load_id, count(*) FROM {loads} GROUP BY load_id")
        assert per_load and all(k == 1 for _, k in per_load), per_load
        stored = c.get_stored_state(p.pipeline_name)
    # state: the destination's newest stored state is the local one; the cursor covers every row
    local = shipload.attach(p.pipeline_name).state
    assert stored is not None
    assert stored["sources"] == local["sources"]
    if scenario == "append":
        assert local["sources"]["crashy_append"]["resources"]["games"]["incremental"]["id"]["last_value"] == n - 1
    assert not p.storage.has_pending()
    return {"parents": len(got), "children": len(kids)}


def assert_holds_version(p: shipload.Pipeline, n: int, version: int) -> None:
    """The final tables hold `version` of the n records exactly: a failed load after it changed nothing."""
    with p.sql_client() as c:
        got = set(c.query(f"SELECT id, white FROM {c.table('games')}")[1])
        kids = c.query(f"SELECT count(*) FROM {c.table('games__moves')}")[1][0][0]
    assert got == {(r["id"], r["white"]) for r in versioned(n, version)}
    assert kids == sum(len(r["moves"]) for r in versioned(n, version))
