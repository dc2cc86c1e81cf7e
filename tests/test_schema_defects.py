"""Issue 13, schema and normalize defects: each test failed before its fix."""

from __future__ import annotations

import pytest

import shipload
from conftest import duck_columns, duck_rows
from shipload.exceptions import PipelineStepFailed, UnstorableValueError


@pytest.mark.parametrize("fmt", ["parquet", "insert_values"])
def test_lone_surrogate_is_refused_naming_table_column_and_row(fmt: str) -> None:
    """Item 14: not a bare codec error; the table, column, row and the fix are named."""
    p = shipload.pipeline("surrogate", destination="duckdb")
    with pytest.raises(PipelineStepFailed) as err:
        p.run([{"id": 1, "t": "ok"}, {"id": 2, "t": "bad \ud800 half"}], table_name="notes", loader_file_format=fmt)
    cause = err.value.cause
    assert isinstance(cause, UnstorableValueError)
    assert (cause.table, cause.column) == ("notes", "t")
    message = str(err.value)
    assert "row 2" in message and "surrogate" in message and "U+D800" in message
    # fix the data, run again: loads
    p.drop_pending_packages()
    p.run([{"id": 2, "t": "bad \ud800 half".encode("utf-8", "surrogatepass").decode("utf-8", "replace")}],
          table_name="notes", loader_file_format=fmt)
    assert duck_rows(p, f"SELECT id FROM {p.dataset_name}.notes") == [(2,)]


def test_items_that_are_not_dicts_load_as_a_value_column() -> None:
    """Item 13: `[1, 2, 3]` loads as a table with one `value` column."""
    p = shipload.pipeline("scalars", destination="duckdb")
    p.run([1, 2, 3], table_name="numbers")
    p.run(["a", {"value": "b"}], table_name="mixed")
    assert duck_rows(p, f"SELECT value FROM {p.dataset_name}.numbers ORDER BY value") == [(1,), (2,), (3,)]
    assert duck_columns(p, "numbers")["value"] == "BIGINT"
    assert duck_rows(p, f"SELECT value FROM {p.dataset_name}.mixed ORDER BY value") == [("a",), ("b",)]


def test_iso_timestamp_strings_become_timestamp_columns_by_default() -> None:
    """Item 12: iso_timestamp detection is on by default; a string that does not parse later goes
    to a variant column, nothing is lost."""
    import datetime as dt

    p = shipload.pipeline("iso", destination="duckdb")
    p.run([{"id": 1, "ts": "2024-01-02T03:04:05Z", "local": "2024-01-02 03:04:05", "day": "2024-01-02",
            "word": "hello"}], table_name="t")
    p.run([{"id": 2, "ts": "2024-06-01T00:00:00+02:00", "local": "not a time", "day": "2024-01-03"}], table_name="t")
    cols = duck_columns(p, "t")
    assert cols["ts"] == "TIMESTAMP WITH TIME ZONE" and cols["local"] == "TIMESTAMP"
    assert cols["day"] == "VARCHAR" and cols["word"] == "VARCHAR"  # iso_date is off by default
    rows = duck_rows(p, f"SELECT id, ts, local, local__v_text FROM {p.dataset_name}.t ORDER BY id")
    assert rows == [
        (1, dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), dt.datetime(2024, 1, 2, 3, 4, 5), None),
        (2, dt.datetime(2024, 5, 31, 22, 0, tzinfo=dt.UTC), None, "not a time"),
    ]


def test_detections_are_configured_per_schema() -> None:
    """iso_date and timestamp (unix epoch numbers) on, iso_timestamp off, for one schema only."""
    import datetime as dt

    @shipload.source(detections=["iso_date", "timestamp"])
    def api() -> list:
        return [shipload.resource([{"day": "2024-02-29", "ts": "2024-01-02T03:04:05Z", "seen": 1_700_000_000,
                                    "count": 12}], name="events")]

    p = shipload.pipeline("detect", destination="duckdb")
    p.run(api())
    cols = duck_columns(p, "events")
    assert cols["day"] == "DATE" and cols["seen"] == "TIMESTAMP WITH TIME ZONE"
    assert cols["ts"] == "VARCHAR"  # the source's list replaces the default
    assert cols["count"] == "BIGINT"  # not a plausible epoch: stays a number
    assert duck_rows(p, f"SELECT day, seen FROM {p.dataset_name}.events") == [
        (dt.date(2024, 2, 29), dt.datetime.fromtimestamp(1_700_000_000, dt.UTC))]
    assert p.schema("api").settings["detections"] == ["iso_date", "timestamp"]
    # the default schema of another pipeline is untouched
    q = shipload.pipeline("plain", destination="duckdb")
    q.run([{"day": "2024-02-29", "ts": "2024-01-02T03:04:05Z"}], table_name="e")
    assert duck_columns(q, "e") == {**duck_columns(q, "e"), "day": "VARCHAR", "ts": "TIMESTAMP WITH TIME ZONE"}


def test_epoch_numbers_load_into_a_hinted_timestamp_column() -> None:
    import datetime as dt

    p = shipload.pipeline("epoch", destination="duckdb")
    p.run([{"id": 1, "ts": 1_700_000_000}, {"id": 2, "ts": 1_700_000_000.5}], table_name="t",
          columns={"ts": {"data_type": "timestamp"}})
    assert duck_rows(p, f"SELECT id, ts FROM {p.dataset_name}.t ORDER BY id") == [
        (1, dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)),
        (2, dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=dt.UTC)),
    ]
    assert "ts__v_bigint" not in duck_columns(p, "t")


def test_unknown_detection_is_refused() -> None:
    p = shipload.pipeline("baddetect", destination="duckdb")
    p.schema().settings["detections"] = ["iso_timestmap"]
    with pytest.raises(PipelineStepFailed, match="iso_timestmap.*iso_timestamp"):
        p.run([{"a": 1}], table_name="t")
