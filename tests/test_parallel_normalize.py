"""Two-process normalize gives what one process gives: rows, types, variants, errors."""

from __future__ import annotations

import logging

import pytest

import shipload
from conftest import duck_columns, duck_rows
from shipload.extract import extractor

N = 4 * extractor.PAGE_SIZE * 3  # several page files


@pytest.fixture(autouse=True)
def small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extractor, "PAGES_PER_FILE", 3)
    monkeypatch.setenv("NORMALIZE__WORKERS", "2")


def _run(data: list[dict], name: str) -> shipload.Pipeline:
    p = shipload.pipeline(name, destination="duckdb")
    p.extract(data, table_name="t")
    assert len(list((p.storage.extracted_packages()[0] / "pages").iterdir())) >= 4
    p.normalize()
    p.load()
    return p


def test_parallel_result_has_every_row_child_and_column(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "shipload.normalize")
    data = [{"id": i, "v": f"x{i}", "kids": [{"k": j} for j in range(i % 4)], **({"late": 1.5} if i > N - 100 else {})}
            for i in range(N)]
    p = _run(data, "par")
    ds = p.dataset_name
    assert duck_rows(p, f"SELECT count(*), count(DISTINCT id), sum(id) FROM {ds}.t")[0] == (N, N, sum(range(N)))
    assert duck_rows(p, f"SELECT count(*) FROM {ds}.t__kids")[0][0] == sum(i % 4 for i in range(N))
    assert duck_rows(p, f"SELECT count(late) FROM {ds}.t")[0][0] == 99  # a column only the worker's pages had
    orphans = duck_rows(p, f"SELECT count(*) FROM {ds}.t__kids k LEFT JOIN {ds}.t p ON k._sl_parent_id = p._sl_id "
                           "WHERE p._sl_id IS NULL")
    assert orphans == [(0,)]
    assert "a second process normalized" in caplog.text


def test_disagreeing_types_fall_back_to_one_process(caplog: pytest.LogCaptureFixture) -> None:
    # "odd" is text in the first page file and a number after: one process types it text from the
    # first value and coerces the numbers; the worker (starting at the second file) would say bigint
    caplog.set_level(logging.INFO, "shipload.normalize")
    first_file = 3 * extractor.PAGE_SIZE
    data = [{"id": i, "odd": f"s{i}" if i < first_file else i} for i in range(N)]
    p = _run(data, "conflict")
    cols = duck_columns(p, "t")
    assert cols["odd"] == "VARCHAR" and not any(c.startswith("odd__v_") for c in cols)
    ds = p.dataset_name
    assert duck_rows(p, f"SELECT count(odd), max(CASE WHEN id = {N - 1} THEN odd END) FROM {ds}.t")[0] == (N, str(N - 1))
    assert "disagreed on column types" in caplog.text


class Unstorable:
    def __repr__(self) -> str:
        return "<unstorable thing>"


def _failure(name: str, workers: str, monkeypatch: pytest.MonkeyPatch) -> tuple[shipload.Pipeline, Exception]:
    monkeypatch.setenv("NORMALIZE__WORKERS", workers)
    # the second page group: the worker's in run()'s streamed split (pipeline/streaming.py)
    bad = (extractor.PAGES_PER_FILE + 1) * extractor.PAGE_SIZE + 5
    data = [{"id": i, "v": Unstorable() if i == bad else i} for i in range(N)]
    p = shipload.pipeline(name, destination="duckdb")
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run(data, table_name="t")
    return p, err.value


def test_bad_data_in_the_workers_pages_fails_like_one_process(monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    from shipload.exceptions import TerminalError

    caplog.set_level(logging.INFO, "shipload.normalize")
    p2, two = _failure("bad2", "2", monkeypatch)
    assert "the second process failed" in caplog.text  # the bad page was the worker's
    p1, one = _failure("bad1", "1", monkeypatch)
    assert two.step == one.step == "normalize"
    assert isinstance(two.cause, TerminalError) and type(two.cause) is type(one.cause)
    assert str(two.cause) == str(one.cause)
    assert "'t'" in str(two) and "'v'" in str(two) and "unstorable thing" in str(two)
    for p in (p1, p2):  # set aside the same way: nothing pending, nothing loaded
        assert not p.storage.has_pending()
        assert len(list((p.working_dir / "extract" / "failed").iterdir())) == 1


def test_a_killed_worker_is_replaced_by_the_main_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal

    from shipload.normalize import normalizer

    def die(*args: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(normalizer.Normalizer, "_worker", die)
    data = [{"id": i, "v": i} for i in range(N)]
    p = _run(data, "killed")
    assert duck_rows(p, f"SELECT count(*), count(DISTINCT id) FROM {p.dataset_name}.t")[0] == (N, N)
