"""run() normalizes pages as they are extracted (pipeline/streaming.py): same tables as the on-disk
path, both processes used, errors on the right step, nothing pending after a failure."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import shipload
from conftest import duck_columns, duck_rows
from shipload.extract import extractor

PAGES_PER_GROUP = 2
N = extractor.PAGE_SIZE * PAGES_PER_GROUP * 5  # five page groups: the worker gets two


@pytest.fixture(autouse=True)
def small_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extractor, "PAGES_PER_FILE", PAGES_PER_GROUP)
    monkeypatch.setenv("NORMALIZE__WORKERS", "2")


def records(n: int = N) -> list[dict[str, Any]]:
    return [{"id": i, "v": f"x{i}", "kids": [{"k": j} for j in range(i % 4)], **({"late": 1.5} if i > n - 100 else {})}
            for i in range(n)]


def content(p: shipload.Pipeline) -> tuple[Any, ...]:
    ds = p.dataset_name
    return (
        duck_rows(p, f"SELECT id, v, late FROM {ds}.t ORDER BY id"),
        duck_rows(p, f"SELECT p.id, k.k, k._sl_list_idx FROM {ds}.t__kids k JOIN {ds}.t p ON k._sl_parent_id = p._sl_id "
                     "ORDER BY 1, 3"),
        duck_columns(p, "t"),
    )


def test_streamed_run_loads_what_the_on_disk_path_loads(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "shipload.normalize")
    streamed = shipload.pipeline("streamed", destination="duckdb")
    info = streamed.run(records(), table_name="t")
    assert "a second process normalized 2 of 5 page groups" in caplog.text
    assert list(info.steps) == ["extract", "normalize", "load"]
    monkeypatch.setenv("NORMALIZE__STREAM", "false")
    on_disk = shipload.pipeline("on_disk", destination="duckdb")
    on_disk.run(records(), table_name="t")
    got, want = content(streamed), content(on_disk)
    assert len(got[0]) == N and got[0][-1] == (N - 1, f"x{N - 1}", 1.5)
    assert got == want
    for p in (streamed, on_disk):  # nothing left behind: no extracted package, no spool
        assert not p.storage.has_pending()
        assert not any((p.working_dir / "extract" / "new").iterdir())
        assert not any((p.working_dir / "normalize" / "new").iterdir())


def test_worker_disagreeing_on_types_falls_back_to_one_process(caplog: pytest.LogCaptureFixture) -> None:
    # "late" first appears in the worker's pages as a number and in this process's later pages as
    # text: the schemas disagree, so this process normalizes the worker's pages itself after its own
    # (as the two-process normalize of an extracted package does): text, the numbers coerced
    caplog.set_level(logging.INFO, "shipload.normalize")
    group = extractor.PAGE_SIZE * PAGES_PER_GROUP
    data = [{"id": i, **({"late": i} if group <= i < 2 * group else {}), **({"late": f"s{i}"} if i >= 2 * group else {})}
            for i in range(N)]
    p = shipload.pipeline("disagree", destination="duckdb")
    p.run(data, table_name="t")
    assert "disagreed on column types" in caplog.text
    cols = duck_columns(p, "t")
    assert cols["late"] == "VARCHAR" and not any(c.startswith("late__v_") for c in cols)
    ds = p.dataset_name
    assert duck_rows(p, f"SELECT count(*), count(DISTINCT id), count(late) FROM {ds}.t")[0] == (N, N, N - group)
    assert duck_rows(p, f"SELECT late FROM {ds}.t WHERE id IN ({group}, {2 * group}) ORDER BY id") == [
        (str(group),), (f"s{2 * group}",)]


def test_resource_error_mid_stream_fails_extract_and_leaves_nothing_pending() -> None:
    def games() -> Any:
        for start in range(0, N, 500):
            if start >= N // 2:
                raise RuntimeError("the API went away")
            yield [{"id": i} for i in range(start, start + 500)]

    p = shipload.pipeline("broken_source", destination="duckdb")
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run(games(), table_name="t")
    assert err.value.step == "extract" and "the API went away" in str(err.value)
    assert not p.storage.has_pending()
    assert not (p.working_dir / "extract" / "failed").exists() or not any((p.working_dir / "extract" / "failed").iterdir())
    assert not any((p.working_dir / "normalize" / "new").iterdir())
    # fixed, the rerun loads every row once
    p.run(({"id": i} for i in range(N)), table_name="t")
    assert duck_rows(p, f"SELECT count(*), count(DISTINCT id) FROM {p.dataset_name}.t")[0] == (N, N)


def test_refused_data_is_recorded_with_its_error_and_the_fixed_rerun_loads() -> None:
    p = shipload.pipeline("refused", destination="duckdb")
    p.run([{"id": 1, "name": "a"}], table_name="t", schema_contract={"columns": "freeze"})
    bad = [{"id": i, "name": "b", **({"extra": 1} if i == N - 3 else {})} for i in range(2, N)]
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run(bad, table_name="t", schema_contract={"columns": "freeze"})
    assert err.value.step == "normalize" and "extra" in str(err.value)
    failed = list((p.working_dir / "extract" / "failed").iterdir())
    assert len(failed) == 1 and "extra" in (failed[0] / "error.txt").read_text()
    assert not p.storage.has_pending()
    p.run([{"id": i, "name": "b"} for i in range(2, N)], table_name="t", schema_contract={"columns": "freeze"})
    assert duck_rows(p, f"SELECT count(*), count(DISTINCT id) FROM {p.dataset_name}.t")[0] == (N - 1, N - 1)


def test_arrow_and_sql_tables_in_a_streamed_run() -> None:
    import pyarrow as pa

    p = shipload.pipeline("mixed_inputs", destination="duckdb")
    p.run([{"id": 1}], table_name="t")

    @shipload.resource(name="arrowed")
    def arrowed() -> Any:
        yield pa.table({"a": list(range(3000)), "b": [f"s{i}" for i in range(3000)]})

    @shipload.resource(name="stmts", file_format="sql")
    def stmts() -> Any:
        yield f"CREATE TABLE {p.dataset_name}.plain AS SELECT 2 AS x"

    @shipload.source(name="mixed_inputs")
    def both() -> Any:
        return arrowed(), stmts()

    p.run(both())
    ds = p.dataset_name
    assert duck_rows(p, f"SELECT count(*), sum(a) FROM {ds}.arrowed")[0] == (3000, sum(range(3000)))
    assert duck_rows(p, f"SELECT x FROM {ds}.plain") == [(2,)]
