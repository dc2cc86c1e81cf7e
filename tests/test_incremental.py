"""Incremental cursors: a second run loads only items past the stored cursor."""

from __future__ import annotations

import shipload
from conftest import duck_rows

EVENTS = [{"id": i, "updated_at": f"2024-01-{i:02d}"} for i in range(1, 11)]


def events_resource(data):
    @shipload.resource(name="events", primary_key="id")
    def events(updated_at=shipload.sources.incremental("updated_at", initial_value="2024-01-03")):
        seen_start.append(updated_at.start_value)
        yield [e for e in data if e["updated_at"] >= (updated_at.start_value or "")]

    return events


seen_start: list = []


def test_second_run_loads_only_new_items() -> None:
    seen_start.clear()
    p = shipload.pipeline("inc", destination="duckdb")
    p.run(events_resource(EVENTS[:6]))
    assert duck_rows(p, f"SELECT min(id), max(id), count(*) FROM {p.dataset_name}.events")[0] == (3, 6, 4)
    # the source returns the boundary item again; it must not be loaded twice
    info = p.run(events_resource(EVENTS))
    assert info.row_counts == {"events": 4}
    rows = duck_rows(p, f"SELECT id, count(*) FROM {p.dataset_name}.events GROUP BY id ORDER BY id")
    assert rows == [(i, 1) for i in range(3, 11)]
    assert seen_start == ["2024-01-03", "2024-01-06"]
    # nothing new: nothing loaded
    assert p.run(events_resource(EVENTS)).row_counts == {}


def test_boundary_ties_are_kept_when_new() -> None:
    p = shipload.pipeline("ties", destination="duckdb")
    first = [{"id": 1, "ts": 5}, {"id": 2, "ts": 5}]
    p.run(shipload.resource(lambda cur=shipload.sources.incremental("ts"): iter([first]), name="t"))
    second = first + [{"id": 3, "ts": 5}, {"id": 4, "ts": 6}]
    p.run(shipload.resource(lambda cur=shipload.sources.incremental("ts"): iter([second]), name="t"))
    assert duck_rows(p, f"SELECT id FROM {p.dataset_name}.t ORDER BY id") == [(1,), (2,), (3,), (4,)]


def test_state_is_restored_from_destination_when_local_folder_is_lost(tmp_path) -> None:
    import shutil

    p = shipload.pipeline("restore", destination="duckdb")
    p.run(events_resource(EVENTS[:5]))
    shutil.rmtree(p.working_dir)
    p2 = shipload.pipeline("restore", destination="duckdb")
    info = p2.run(events_resource(EVENTS))
    assert info.row_counts == {"events": 5}
    assert duck_rows(p2, f"SELECT count(*), count(DISTINCT id) FROM {p2.dataset_name}.events")[0] == (8, 8)


def test_datetime_cursor_keeps_its_type_across_runs_and_restores() -> None:
    import datetime as dt
    import shutil

    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows = [{"id": i, "at": base + dt.timedelta(days=i)} for i in range(6)]

    def res(data):
        return shipload.resource(lambda at=shipload.sources.incremental("at", initial_value=base): iter([data]), name="t")

    p = shipload.pipeline("dt_cursor", destination="duckdb")
    p.run(res(rows[:3]))
    assert p.state["sources"]["dt_cursor"]["resources"]["t"]["incremental"]["at"]["last_value"] == rows[2]["at"]
    assert shipload.pipeline("dt_cursor", destination="duckdb").run(res(rows[:4])).row_counts == {"t": 1}
    shutil.rmtree(p.working_dir)
    assert shipload.pipeline("dt_cursor", destination="duckdb").run(res(rows)).row_counts == {"t": 2}
    assert duck_rows(p, f"SELECT count(*), count(DISTINCT id) FROM {p.dataset_name}.t")[0] == (6, 6)
