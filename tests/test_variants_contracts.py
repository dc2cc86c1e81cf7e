"""Type conflicts go to variant columns; schema contracts refuse or discard as configured."""

from __future__ import annotations

import pytest

import shipload
from conftest import duck_columns, duck_rows
from shipload.exceptions import DataValidationError, PipelineStepFailed


def test_type_conflict_creates_variant_and_loses_nothing() -> None:
    p = shipload.pipeline("variants", destination="duckdb")
    p.run([{"id": 1, "zip": 50667}, {"id": 2, "zip": 10115}], table_name="addr")
    p.run([{"id": 3, "zip": "SW1A 1AA"}, {"id": 4, "zip": 80331}, {"id": 5, "zip": 2**70}], table_name="addr")
    cols = duck_columns(p, "addr")
    assert cols["zip"] == "BIGINT"
    assert cols["zip__v_text"] == "VARCHAR"
    got = duck_rows(p, f"SELECT id, zip, zip__v_text FROM {p.dataset_name}.addr ORDER BY id")
    assert got == [
        (1, 50667, None), (2, 10115, None), (3, None, "SW1A 1AA"), (4, 80331, None), (5, None, str(2**70)),
    ]


def test_documented_coercions() -> None:
    p = shipload.pipeline("coerce", destination="duckdb")
    p.run([{"id": 1, "n": 1.5, "t": "a", "ts": "2024-01-01T00:00:00+00:00"}], table_name="c",
          columns={"ts": {"data_type": "timestamp"}})
    # int into double is widened, numbers into text become their string, ISO text into timestamp is parsed
    p.run([{"id": 2, "n": 2, "t": 7, "ts": "2024-01-02T03:04:05Z"}], table_name="c")
    got = duck_rows(p, f"SELECT id, n, t, strftime(ts, '%Y-%m-%d %H:%M:%S') FROM {p.dataset_name}.c ORDER BY id")
    assert got == [(1, 1.5, "a", "2024-01-01 00:00:00"), (2, 2.0, "7", "2024-01-02 03:04:05")]
    assert "n__v_bigint" not in duck_columns(p, "c")


def test_freeze_names_table_and_column_and_loads_nothing() -> None:
    p = shipload.pipeline("frozen", destination="duckdb")
    p.run([{"id": 1, "name": "a"}], table_name="users")
    with pytest.raises(PipelineStepFailed) as err:
        p.run([{"id": 2, "name": "b"}, {"id": 3, "name": "c", "email": "c@x"}], table_name="users",
              schema_contract="freeze")
    cause = err.value.cause
    assert isinstance(cause, DataValidationError)
    assert cause.table == "users" and cause.column == "email"
    assert "users" in str(err.value) and "email" in str(err.value)
    assert duck_rows(p, f"SELECT id FROM {p.dataset_name}.users ORDER BY id") == [(1,)]
    # the refused package is set aside: the next run loads new data normally
    p.run([{"id": 4, "name": "d"}], table_name="users", schema_contract="freeze")
    assert duck_rows(p, f"SELECT id FROM {p.dataset_name}.users ORDER BY id") == [(1,), (4,)]


def test_freeze_data_type_refuses_variant() -> None:
    p = shipload.pipeline("frozen_types", destination="duckdb")
    p.run([{"id": 1}], table_name="t")
    with pytest.raises(PipelineStepFailed, match="'t'.*'id'"):
        p.run([{"id": "one"}], table_name="t", schema_contract={"data_type": "freeze"})


def test_discard_row_and_discard_value() -> None:
    p = shipload.pipeline("discard", destination="duckdb")
    p.run([{"id": 1, "name": "a"}], table_name="t")
    p.run([{"id": 2, "name": "b"}, {"id": 3, "name": "c", "extra": 1, "kids": [{"k": 1}]}], table_name="t",
          schema_contract={"columns": "discard_row"})
    assert duck_rows(p, f"SELECT id FROM {p.dataset_name}.t ORDER BY id") == [(1,), (2,)]
    assert "extra" not in duck_columns(p, "t")
    p.run([{"id": 4, "name": "d", "extra": 1}], table_name="t", schema_contract={"columns": "discard_value"})
    assert duck_rows(p, f"SELECT id FROM {p.dataset_name}.t ORDER BY id") == [(1,), (2,), (4,)]
    assert "extra" not in duck_columns(p, "t")


def test_new_table_frozen_by_source_contract() -> None:
    @shipload.source(schema_contract={"tables": "freeze"})
    def src(names):
        return [shipload.resource([{"a": 1}], name=n) for n in names]

    p = shipload.pipeline("tables_frozen", destination="duckdb")
    p.run(src(["one"]))
    with pytest.raises(PipelineStepFailed, match="new table 'two'"):
        p.run(src(["two"]))
