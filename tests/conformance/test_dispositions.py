"""Write dispositions on every destination: replace strategies, merge delete-insert/upsert, scd2."""

from __future__ import annotations

import datetime as dt

import pytest

import shipload
from conftest import table_rows


def _players(version: int, ids: range) -> list[dict]:
    return [
        {"id": i, "name": f"p{i}-v{version}", "games": [{"g": f"{i}-{version}-{k}"} for k in range(i % 3 + 1)]}
        for i in ids
    ]


def _child_games(p: shipload.Pipeline, parent: str = "players") -> list[tuple[int, str]]:
    """(parent id, game) pairs, joined through the row ids, so orphans would be lost and shown."""
    with p.sql_client() as c:
        return sorted(
            c.query(
                f"SELECT p.id, g.g FROM {c.table(parent + '__games')} AS g "
                f"JOIN {c.table(parent)} AS p ON g._sl_parent_id = p._sl_id"
            )[1]
        )


def _count(p: shipload.Pipeline, table: str) -> int:
    return table_rows(p, table, "count(*)")[0][0]


@pytest.mark.parametrize("strategy", ["truncate-and-insert", "insert-from-staging"])
def test_replace_replaces_the_whole_chain(destination: str, strategy: str) -> None:
    @shipload.resource(write_disposition={"disposition": "replace", "strategy": strategy})
    def players(version: int, ids: range):
        yield from _players(version, ids)

    p = shipload.pipeline("replace", destination=destination)
    p.run(players(1, range(10)))
    p.run(players(2, range(3)))
    assert table_rows(p, "players", "id, name", order_by="id") == [(0, "p0-v2"), (1, "p1-v2"), (2, "p2-v2")]
    assert _child_games(p) == [(0, "0-2-0"), (1, "1-2-0"), (1, "1-2-1"), (2, "2-2-0"), (2, "2-2-1"), (2, "2-2-2")]
    assert _count(p, "players__games") == 6


def test_merge_delete_insert_replaces_exactly_the_changed_parents_and_children(destination: str) -> None:
    @shipload.resource(write_disposition="merge", primary_key="id")
    def players(version: int, ids: range):
        yield from _players(version, ids)

    p = shipload.pipeline("merge", destination=destination)
    p.run(players(1, range(10)))
    before = _child_games(p)
    # a changed version of 3 parents, one of which now has fewer children
    changed = _players(2, range(3, 6))
    changed[0]["games"] = []
    p.run(shipload.resource(changed, name="players", write_disposition="merge", primary_key="id"))
    rows = table_rows(p, "players", "id, name", order_by="id")
    assert rows == [(i, f"p{i}-v2" if i in (3, 4, 5) else f"p{i}-v1") for i in range(10)]
    after = _child_games(p)
    untouched = [g for g in before if g[0] not in (3, 4, 5)]
    expected = sorted(untouched + [(i, f"{i}-2-{k}") for i in (4, 5) for k in range(i % 3 + 1)])
    assert after == expected
    assert _count(p, "players__games") == len(expected)  # no orphans left behind


def test_merge_dedup_keeps_the_row_chosen_by_the_sort_column(destination: str) -> None:
    p = shipload.pipeline("dedup", destination=destination)
    data = [
        {"id": 1, "seen": 3, "v": "newest", "tags": ["x"]},
        {"id": 1, "seen": 1, "v": "oldest", "tags": ["y", "z"]},
        {"id": 1, "seen": 2, "v": "middle", "tags": []},
        {"id": 2, "seen": 1, "v": "only", "tags": ["w"]},
    ]
    p.run(data, table_name="t", write_disposition="merge", primary_key="id",
          columns={"seen": {"dedup_sort": "desc"}})
    assert table_rows(p, "t", "id, v", order_by="id") == [(1, "newest"), (2, "only")]
    assert sorted(r[0] for r in table_rows(p, "t__tags", "value")) == ["w", "x"]
    # ascending keeps the oldest
    p2 = shipload.pipeline("dedup_asc", destination=destination)
    p2.run(data, table_name="t", write_disposition="merge", primary_key="id", columns={"seen": {"dedup_sort": "asc"}})
    assert table_rows(p2, "t", "id, v", order_by="id") == [(1, "oldest"), (2, "only")]


def test_merge_hard_delete_removes_row_and_children(destination: str) -> None:
    p = shipload.pipeline("hard_delete", destination=destination)
    hints = {"write_disposition": "merge", "primary_key": "id", "columns": {"deleted": {"hard_delete": True, "data_type": "bool"}}}
    p.run(_players(1, range(5)), table_name="players", **hints)
    p.run([{"id": 2, "name": "gone", "deleted": True, "games": [{"g": "x"}]}, {"id": 7, "name": "new", "deleted": False}],
          table_name="players", **hints)
    assert [r[0] for r in table_rows(p, "players", "id", order_by="id")] == [0, 1, 3, 4, 7]
    assert all(pid != 2 for pid, _ in _child_games(p))
    assert ("x",) not in table_rows(p, "players__games", "g")


def test_merge_key_replaces_a_whole_partition(destination: str) -> None:
    p = shipload.pipeline("merge_key", destination=destination)
    day1 = [{"day": "d1", "n": i} for i in range(3)] + [{"day": "d2", "n": i} for i in range(2)]
    p.run(day1, table_name="facts", write_disposition="merge", merge_key="day")
    p.run([{"day": "d1", "n": 9}], table_name="facts", write_disposition="merge", merge_key="day")
    assert table_rows(p, "facts", "day, n", order_by="day, n") == [("d1", 9), ("d2", 0), ("d2", 1)]


def test_merge_upsert_updates_in_place_and_inserts(destination: str) -> None:
    hints = {"write_disposition": {"disposition": "merge", "strategy": "upsert"}, "primary_key": "id"}
    p = shipload.pipeline("upsert", destination=destination)
    p.run(_players(1, range(4)), table_name="players", **hints)
    p.run(_players(2, [1, 5]), table_name="players", **hints)
    assert table_rows(p, "players", "id, name", order_by="id") == [
        (0, "p0-v1"), (1, "p1-v2"), (2, "p2-v1"), (3, "p3-v1"), (5, "p5-v2")]
    games = _child_games(p)
    assert [g for g in games if g[0] == 1] == [(1, "1-2-0"), (1, "1-2-1")]
    assert _count(p, "players__games") == len(games)


def test_scd2_closes_changed_rows_opens_new_versions_and_retires_vanished(destination: str) -> None:
    hints = {"write_disposition": {"disposition": "merge", "strategy": "scd2"}}
    p = shipload.pipeline("scd2", destination=destination)
    p.run([{"id": 1, "v": "a"}, {"id": 2, "v": "b", "tags": ["t1"]}, {"id": 3, "v": "c"}], table_name="dim", **hints)
    first = table_rows(p, "dim", "id, v, _sl_valid_from, _sl_valid_to", order_by="id")
    assert all(r[3] is None for r in first)
    t1 = first[0][2]
    # id 1 changes, id 2 unchanged, id 3 vanishes, id 4 appears
    p.run([{"id": 1, "v": "a2"}, {"id": 2, "v": "b", "tags": ["t1"]}, {"id": 4, "v": "d"}], table_name="dim", **hints)
    rows = table_rows(p, "dim", "id, v, _sl_valid_from, _sl_valid_to", order_by="id, _sl_valid_from")
    by = {(r[0], r[1]): r for r in rows}
    assert len(rows) == 5
    t2 = by[(1, "a2")][2]
    assert t2 > t1
    assert by[(1, "a")][3] == t2 and by[(1, "a2")][3] is None  # closed at the new version's start
    assert by[(2, "b")][2] == t1 and by[(2, "b")][3] is None   # unchanged: still the first version
    assert by[(3, "c")][3] == t2                                 # vanished: retired
    assert by[(4, "d")][2] == t2 and by[(4, "d")][3] is None
    assert table_rows(p, "dim__tags", "value") == [("t1",)]       # children not duplicated
    assert isinstance(t1, dt.datetime)


def test_scd2_custom_validity_column_names(destination: str) -> None:
    hints = {"write_disposition": {"disposition": "merge", "strategy": "scd2",
                                   "validity_column_names": ["valid_from", "valid_until"]}}
    p = shipload.pipeline("scd2_names", destination=destination)
    p.run([{"id": 1, "v": "a"}], table_name="dim", **hints)
    p.run([{"id": 1, "v": "b"}], table_name="dim", **hints)
    rows = table_rows(p, "dim", "v, valid_until IS NULL", order_by="valid_from")
    assert rows == [("a", False), ("b", True)]


@pytest.mark.parametrize("strategy", ["delete-insert", "upsert"])
def test_composite_primary_key_with_hard_delete(destination: str, strategy: str) -> None:
    hints = {"write_disposition": {"disposition": "merge", "strategy": strategy}, "primary_key": ["id", "region"],
             "columns": {"deleted": {"hard_delete": True, "data_type": "bool"}}}
    p = shipload.pipeline("composite", destination=destination)
    p.run([{"id": i, "region": r, "v": 1, "kids": [r]} for i in range(3) for r in ("eu", "us")], table_name="t", **hints)
    p.run([{"id": 1, "region": "eu", "v": 2, "kids": ["new"]}, {"id": 2, "region": "us", "deleted": True}],
          table_name="t", **hints)
    rows = table_rows(p, "t", "id, region, v", order_by="id, region")
    assert rows == [(0, "eu", 1), (0, "us", 1), (1, "eu", 2), (1, "us", 1), (2, "eu", 1)]
    assert _count(p, "t__kids") == 5
    assert ("new",) in table_rows(p, "t__kids", "value")


@pytest.mark.never(["duckdb", "redshift"], reason="only Postgres has COPY FROM STDIN (Redshift COPYs from S3)")
def test_csv_is_the_fast_default_and_keeps_empty_strings_apart_from_null(destination: str) -> None:
    p = shipload.pipeline("csv", destination=destination)
    p.extract([{"id": 1, "s": ""}, {"id": 2, "s": None}, {"id": 3, "s": 'a,"b"\nc'}], table_name="t")
    p.normalize()
    package = p.storage.normalized_packages()[0]
    assert any(f.name.endswith(".csv") for f in (package.path / "new_jobs").iterdir())
    p.load()
    assert table_rows(p, "t", "id, s", order_by="id") == [(1, ""), (2, None), (3, 'a,"b"\nc')]


def test_unsupported_file_format_is_refused_with_the_table_name(destination: str) -> None:
    p = shipload.pipeline("badformat", destination=destination)
    wrong = {"duckdb": "csv", "postgres": "parquet", "redshift": "csv"}[destination]
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run([{"id": 1}], table_name="t", loader_file_format=wrong)
    assert "'t'" in str(err.value) and wrong in str(err.value)


def test_skip_extracts_and_normalizes_but_loads_nothing(destination: str) -> None:
    @shipload.resource(name="kept", write_disposition="append")
    def kept():
        yield [{"id": 1}, {"id": 2}]

    @shipload.resource(name="skipped", write_disposition="skip")
    def skipped(cursor=shipload.sources.incremental("id")):
        yield [{"id": i, "kids": [i]} for i in range(3)]

    @shipload.source(name="mixed")
    def mixed():
        return kept, skipped

    p = shipload.pipeline("skip", destination=destination)
    info = p.run(mixed())
    assert info.row_counts == {"kept": 2}
    assert table_rows(p, "kept", "count(*)") == [(2,)]
    with p.sql_client() as c:
        assert c.reflect(["skipped", "skipped__kids", "kept"]).keys() == {"kept"}  # no table created
    assert "skipped" in p.default_schema.tables  # normalized: the schema knows it
    resources = p.state["sources"]["mixed"]["resources"]
    assert resources["skipped"]["incremental"]["id"]["last_value"] == 2  # extracted: the cursor moved
    assert p.run(mixed()).row_counts == {"kept": 2}  # and nothing is left pending
    assert not p.storage.normalized_packages()
