"""State kept in the destination, insert_values statement packing, atomic replace, migrations."""

from __future__ import annotations

import shutil
import threading
import time

import pytest

import shipload
from conftest import table_rows
from shipload.destinations.registry import as_destination
from shipload.writers.insert_values import statement_prefix
from shipload.writers.sql_frames import read_frames

EVENTS = [{"id": i, "updated_at": f"2024-01-{i:02d}", "body": "x" * i} for i in range(1, 21)]


def _events(data: list[dict]):
    @shipload.resource(name="events", primary_key="id")
    def events(updated_at=shipload.sources.incremental("updated_at")):
        yield [e for e in data if e["updated_at"] >= (updated_at.start_value or "")]

    return events


@pytest.mark.parametrize("compress", [False, True])
def test_deleting_the_pipelines_folder_restores_state_and_loads_only_new_items(
    destination: str, compress: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if compress:  # the stored schema exceeds the text limit: it is stored compressed and still restores
        dialect = as_destination(destination).capabilities.sql_dialect
        monkeypatch.setattr(dialect, "max_text_bytes", 200)
    p = shipload.pipeline("restore", destination=destination)
    p.run(_events(EVENTS[:8]))
    shutil.rmtree(p.working_dir)
    p2 = shipload.pipeline("restore", destination=destination)
    info = p2.run(_events(EVENTS))
    assert info.row_counts == {"events": 12}  # 8 is the boundary: seen before, not loaded again
    assert table_rows(p2, "events", "count(*), count(DISTINCT id)")[0] == (20, 20)
    assert "events" in p2.default_schema.tables and p2.default_schema.tables["events"].columns["id"].primary_key


def test_a_state_over_100_kb_commits_and_restores(destination: str) -> None:
    """Redshift's VARCHAR holds 65535 bytes: a larger (compressed) state is stored in parts."""
    import secrets

    blob = secrets.token_hex(80_000)  # 160 KB that compresses to about 110 KB

    @shipload.resource(name="t")
    def big_state():
        shipload.current.resource_state()["blob"] = blob
        yield {"id": 1}

    p = shipload.pipeline("bigstate", destination=destination)
    p.run(big_state())
    shutil.rmtree(p.working_dir)
    p2 = shipload.pipeline("bigstate", destination=destination)
    p2.sync_destination()
    assert p2.state["sources"]["bigstate"]["resources"]["t"]["blob"] == blob


def test_state_is_restored_only_from_completed_loads(destination: str) -> None:
    p = shipload.pipeline("partial", destination=destination)
    p.run(_events(EVENTS[:5]))  # cursor at 5, completed
    p.run(_events(EVENTS[:9]))  # cursor at 9
    with p.sql_client() as c:  # ... a load that never completed: its state row must be ignored
        c.execute(f"DELETE FROM {c.table('_sl_loads')} WHERE load_id = (SELECT max(load_id) FROM {c.table('_sl_loads')})")
    shutil.rmtree(p.working_dir)
    p2 = shipload.pipeline("partial", destination=destination)
    # restored from the first load: 6..10 (not 1..10 as with no restore, not 10 as from the incomplete load)
    assert p2.run(_events(EVENTS[:10])).row_counts == {"events": 5}


def test_a_failed_restore_fails_the_run_and_the_rerun_restores(destination: str) -> None:
    p = shipload.pipeline("badrestore", destination=destination)
    p.run(_events(EVENTS[:8]))
    with p.sql_client() as c:
        good = c.query(f"SELECT state FROM {c.table('_sl_pipeline_state')}")[1][0][0]
        c.execute(f"UPDATE {c.table('_sl_pipeline_state')} SET state = 'not a state'")
    shutil.rmtree(p.working_dir)
    p2 = shipload.pipeline("badrestore", destination=destination)
    with pytest.raises(shipload.PipelineStepFailed, match="restore") as err:
        p2.run(_events(EVENTS))
    assert "_sl_pipeline_state" in str(err.value)
    assert table_rows(p2, "events", "count(*)") == [(8,)]  # nothing extracted or loaded
    with p2.sql_client() as c:  # the cause is fixed
        c.execute(f"UPDATE {c.table('_sl_pipeline_state')} SET state = {c.lit(good)}")
    assert p2.run(_events(EVENTS)).row_counts == {"events": 12}
    assert table_rows(p2, "events", "count(*), count(DISTINCT id)") == [(20, 20)]


def test_a_destination_without_the_recorded_loads_gets_everything_again(
    destination: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A working folder reused against a new (or emptied) database: warn, take the destination's
    state (none), and load everything instead of nothing."""
    p = shipload.pipeline("reused", destination=destination)
    p.run(_events(EVENTS[:8]))
    with p.sql_client() as c:
        c.execute(f"DROP SCHEMA {c.schema_name(p.dataset_name)} CASCADE")
    p2 = shipload.pipeline("reused", destination=destination)
    with caplog.at_level("WARNING", logger="shipload.pipeline"):
        info = p2.run(_events(EVENTS))
    assert "holds none of the loads" in caplog.text
    assert info.row_counts == {"events": 20}
    assert table_rows(p2, "events", "count(*), count(DISTINCT id)") == [(20, 20)]
    caplog.clear()
    assert p2.run(_events(EVENTS)).row_counts == {}  # state taken over: the next run is incremental again
    assert "holds none" not in caplog.text


def test_insert_values_packs_statements_to_the_limit_and_loads_each_file_in_one_transaction(
    destination: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 64 * 1024
    dialect = as_destination(destination).capabilities.sql_dialect
    monkeypatch.setattr(dialect, "max_statement_bytes", limit)
    p = shipload.pipeline("packing", destination=destination)
    rows = [{"id": i, "text": ("héllo '😀' " * (i % 50)), "n": i * 0.5} for i in range(3000)]
    p.extract(rows, table_name="t")
    p.normalize(loader_file_format="insert_values")
    package = p.storage.normalized_packages()[0]
    files = [f for f in (package.path / "new_jobs").iterdir() if f.name.startswith("t.")]
    assert len(files) == 1
    _, meta, frames = read_frames(files[0])
    frames = list(frames)
    assert len(frames) > 5
    prefix = statement_prefix(dialect, dialect.qualified(p.dataset_name, "t"), meta["columns"])
    sizes = [len((prefix + f).encode("utf-8")) for f in frames]
    assert max(sizes) <= limit and min(sizes[:-1]) > limit * 0.8  # packed close to the limit, never over
    assert sum(f.count("\n(") + 1 for f in frames) == 3000  # no row cut or lost between statements
    p.load()
    assert table_rows(p, "t", "count(*), sum(id)")[0] == (3000, sum(range(3000)))

    # a row failing late in a file rolls back every statement of that file
    with p.sql_client() as c:
        c.execute(f"CREATE UNIQUE INDEX t_id_unique ON {c.table('t')} (id)")
    more = [{"id": 10_000 + i, "text": "y" * 100, "n": 0.0} for i in range(2000)] + [{"id": 5, "text": "dup", "n": 0.0}]
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run(more, table_name="t", loader_file_format="insert_values")
    assert "'t'" in str(err.value) and ".insert_values" in str(err.value)
    assert table_rows(p, "t", "count(*)")[0] == (3000,)


def test_replace_from_staging_is_atomic_for_readers(destination: str) -> None:
    hints = {"write_disposition": {"disposition": "replace", "strategy": "insert-from-staging"}}
    p = shipload.pipeline("atomic", destination=destination)
    p.run([{"id": i, "kids": [1, 2]} for i in range(1000)], table_name="t", **hints)
    seen: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        with p.sql_client() as c:
            while not stop.is_set():
                seen.append(c.query(f"SELECT count(*) FROM {c.table('t')}")[1][0][0])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        time.sleep(0.05)
        p.run([{"id": i, "kids": [1, 2, 3]} for i in range(20_000)], table_name="t", **hints)
        time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert seen and set(seen) <= {1000, 20_000}, sorted(set(seen))[:10]
    assert seen[0] == 1000 and seen[-1] == 20_000
    assert table_rows(p, "t__kids", "count(*)")[0] == (60_000,)


def test_new_columns_are_added_to_final_and_staging_tables(destination: str) -> None:
    p = shipload.pipeline("migrate", destination=destination)
    p.run([{"id": 1, "a": "x"}], table_name="t", write_disposition="merge", primary_key="id")
    p.run([{"id": 1, "a": "y", "b": 2.5}, {"id": 2, "b": 1.0}], table_name="t", write_disposition="merge", primary_key="id")
    assert table_rows(p, "t", "id, a, b", order_by="id") == [(1, "y", 2.5), (2, None, 1.0)]
    with p.sql_client() as c:
        assert set(c.reflect(["t"])["t"]) >= {"id", "a", "b", "_sl_id", "_sl_load_id"}


def test_user_sql_job_runs_after_the_data_in_one_transaction(destination: str) -> None:
    p = shipload.pipeline("sqljob", destination=destination)
    p.run([{"id": i} for i in range(5)], table_name="t")
    target = f'"{p.dataset_name}"."t"'

    @shipload.resource(file_format="sql")
    def cleanup():
        yield f"DELETE FROM {target} WHERE id < 2"
        yield f"UPDATE {target} SET id = id * 10 WHERE id = 4"

    info = p.run(cleanup())
    assert info.row_counts == {}
    assert table_rows(p, "t", "id", order_by="id") == [(2,), (3,), (40,)]

    @shipload.resource(file_format="sql", name="broken")
    def broken():
        yield f"DELETE FROM {target}"
        yield "SELECT * FROM no_such_table"

    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run(broken())
    assert "no_such_table" in str(err.value)
    assert len(table_rows(p, "t")) == 3  # the DELETE was rolled back with the failing statement


def test_several_new_columns_and_variants_in_one_load(destination: str) -> None:
    """Issue 13 B: a load that adds two or more ordinary columns, and two or more variant columns,
    to an existing table migrates it (DuckDB allows one ALTER command per statement)."""
    p = shipload.pipeline("evolve2", destination=destination)
    p.run([{"id": 1, "n": 5}], table_name="t")
    p.run([{"id": 2, "n": 6, "a": "x", "b": 2.5, "c": True}], table_name="t")
    p.run([{"id": 3, "n": "seven", "a": 7, "b": "half", "c": False}], table_name="t")
    with p.sql_client() as c:
        cols = c.reflect(["t"])["t"]
    assert {"a", "b", "c", "n__v_text", "b__v_text"} <= set(cols)
    assert table_rows(p, "t", "id, n, n__v_text, a, b, b__v_text, c", order_by="id") == [
        (1, 5, None, None, None, None, None),
        (2, 6, None, "x", 2.5, None, True),
        (3, None, "seven", "7", None, "half", False),
    ]


@pytest.mark.parametrize("disposition", [{"disposition": "merge"}, {"disposition": "replace", "strategy": "insert-from-staging"},
                                         {"disposition": "replace", "strategy": "staging-optimized"}],
                         ids=["merge", "replace-from-staging", "staging-optimized"])
def test_sql_jobs_see_the_tables_after_merge_and_replace(destination: str, disposition: dict) -> None:
    p = shipload.pipeline("sqlorder", destination=destination)
    target = f'"{p.dataset_name}"."players"'

    @shipload.resource(name="players", primary_key="id", write_disposition=disposition)
    def players(ids: range):
        yield [{"id": i, "name": f"p{i}"} for i in ids]

    @shipload.resource(file_format="sql", name="shout")
    def shout():
        yield f"UPDATE {target} SET name = upper(name)"

    @shipload.source(name="league")
    def league(ids: range):
        return players(ids), shout()

    p.run(players(range(3)))
    p.run(league(range(2, 6)))
    expected = [f"P{i}" for i in (range(6) if disposition["disposition"] == "merge" else range(2, 6))]
    assert [r[0] for r in table_rows(p, "players", "name", order_by="id")] == expected


def test_sql_jobs_that_cannot_be_all_or_nothing_are_refused_before_loading(
    destination: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = shipload.pipeline("sqlcheck", destination=destination)
    p.run([{"id": 1}], table_name="t")
    target = f'"{p.dataset_name}"."t"'
    dialect = as_destination(destination).capabilities.sql_dialect

    @shipload.resource(file_format="sql", name="wipe")
    def wipe():
        yield f"  truncate TABLE {target}"

    if dialect.truncate_commits:  # Redshift: TRUNCATE commits whatever ran before it in the transaction
        with pytest.raises(shipload.PipelineStepFailed, match="TRUNCATE") as err:
            p.run(wipe())
        assert err.value.step == "normalize" and "wipe" in str(err.value)
        assert table_rows(p, "t", "count(*)") == [(1,)]
    else:
        p.run(wipe())
        assert table_rows(p, "t", "count(*)") == [(0,)]
    monkeypatch.setattr(dialect, "max_statement_bytes", 4096)

    @shipload.resource(file_format="sql", name="huge")
    def huge():
        yield f"INSERT INTO {target} (id) VALUES " + ", ".join(f"({i})" for i in range(2000))

    with pytest.raises(shipload.PipelineStepFailed, match="4096") as err:
        p.run(huge())
    assert err.value.step == "normalize" and "huge" in str(err.value)
    assert not p.storage.normalized_packages()
    assert p.run([{"id": 5}], table_name="t").row_counts == {"t": 1}  # nothing left blocking
