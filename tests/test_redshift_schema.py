"""Issue 13, Redshift schema defects (text sizing, encodings, table design, identifiers), against
the local Redshift endpoint; every statement sent is also parsed by sqlglot (redshift_db fixture)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import shipload
from conftest import table_rows
from shipload.exceptions import PipelineStepFailed, UnstorableValueError


def _columns(p: shipload.Pipeline, table: str) -> dict[str, tuple[str, int | None]]:
    rows = p.dataset().query(
        "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
        f"WHERE table_schema = '{p.dataset_name}' AND table_name = '{table}'"
    )
    return {name: (dtype, size) for name, dtype, size in rows}


def test_arrow_text_overflow_truncate_cuts_the_values_it_writes(redshift_db: Any, monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """Item 4: Arrow input honours text_overflow="truncate" (the cut values are the ones loaded)."""
    import pyarrow as pa

    monkeypatch.setenv("DESTINATION__REDSHIFT__TEXT_OVERFLOW", "truncate")
    p = shipload.pipeline("arrow_cut", destination="redshift", dataset_name="d")
    with caplog.at_level(logging.WARNING):
        p.run(pa.table({"id": [1, 2], "body": ["é" * 40_000, "short"]}), table_name="t")
    assert table_rows(p, "t", "id, octet_length(body), length(body)", order_by="id") == [(1, 65534, 32767), (2, 5, 5)]
    assert "cut to 65535 bytes" in caplog.text and "row 1 of the Arrow table" in caplog.text


def test_arrow_text_overflow_fail_names_table_column_and_row(redshift_db: Any) -> None:
    import pyarrow as pa

    p = shipload.pipeline("arrow_fail", destination="redshift", dataset_name="d")
    with pytest.raises(PipelineStepFailed) as err:
        p.run(pa.table({"id": [1, 2], "body": ["ok", "x" * 70_000]}), table_name="t")
    assert err.value.step == "normalize" and isinstance(err.value.cause, UnstorableValueError)
    assert "'t'" in str(err.value) and "'body'" in str(err.value) and "row 2 of the Arrow table" in str(err.value)


def test_text_variant_columns_are_sized_and_checked(redshift_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 5 (normalize): a text variant column gets a size from its data, and an oversized value
    is refused at normalize naming the variant column, not at load by the database."""
    p = shipload.pipeline("variant_size", destination="redshift", dataset_name="d")
    p.run([{"id": 1, "n": 5}], table_name="t")
    p.run([{"id": 2, "n": "é" * 150}], table_name="t")  # 300 bytes * 1.25 -> 512
    assert _columns(p, "t")["n__v_text"] == ("character varying", 512)
    p.run([{"id": 3, "n": "x" * 1000}], table_name="t")  # widened in place
    assert _columns(p, "t")["n__v_text"] == ("character varying", 2048)
    with pytest.raises(PipelineStepFailed) as err:
        p.run([{"id": 4, "n": "x" * 70_000}], table_name="t")
    assert err.value.step == "normalize"
    assert "'n__v_text'" in str(err.value) and "70000 bytes" in str(err.value)
    monkeypatch.setenv("DESTINATION__REDSHIFT__TEXT_OVERFLOW", "truncate")
    p.run([{"id": 4, "n": "x" * 70_000}], table_name="t")
    assert table_rows(p, "t", "id, length(n__v_text)", order_by="id") == [(1, None), (2, 150), (3, 1000), (4, 65535)]
