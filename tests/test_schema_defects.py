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
