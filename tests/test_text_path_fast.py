"""The row-wise text path's shortcuts give exactly what the per-value rules give: a page of
Decimals checked at once is stored as a value-by-value check would store it, and jsonl files are
ordinary gzip whatever the level (ISA-L or zlib underneath)."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipload.normalize.coerce import NoFit, coerce_column, fit_decimal
from shipload.schema.schema import Column, Table
from shipload.writers.jsonl import JsonlWriter

DECIMALS = st.one_of(
    st.none(),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.integers(0, 12).flatmap(lambda places: st.decimals(min_value=-(10**30), max_value=10**30, places=places)),
    st.sampled_from([Decimal("0E+40"), Decimal("0E-12"), Decimal("1.0000000000"), Decimal("1E+28"), Decimal("1E+29"),
                     Decimal("-0.000000001"), Decimal("1E-10"), Decimal("9" * 29), Decimal("sNaN"), Decimal("-Infinity")]),
)


def per_value(values: list[Decimal | None], precision: int, scale: int) -> tuple[list[object], dict[int, object]]:
    """What coerce_column must return: fit_decimal applied to each value, misfits set aside."""
    out: list[object] = []
    misfits: dict[int, object] = {}
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        try:
            out.append(fit_decimal(v, precision, scale))
        except NoFit:
            misfits[i] = v
            out.append(None)
    return out, misfits


@settings(max_examples=300, deadline=None)
@given(st.lists(DECIMALS, max_size=30), st.sampled_from([(38, 9), (10, 2), (38, 0), (5, 5), (18, 3)]))
def test_decimal_page_is_stored_as_value_by_value(values: list[Decimal | None], ps: tuple[int, int]) -> None:
    precision, scale = ps
    want, want_misfits = per_value(list(values), precision, scale)
    got, misfits = coerce_column(list(values), Column("amount", "decimal", precision=precision, scale=scale))
    assert [str(v) for v in got] == [str(v) for v in want]  # same digits, same exponent
    assert {i: str(v) for i, v in misfits.items()} == {i: str(v) for i, v in want_misfits.items()}


def test_decimal_page_with_extra_zero_digits_is_rounded_and_nan_set_aside() -> None:
    values = [Decimal("1.50"), None, Decimal("2.0000000000000"), Decimal("NaN"), Decimal("1E+40")]
    got, misfits = coerce_column(values, Column("amount", "decimal"))
    assert [str(v) for v in got] == ["1.50", "None", "2.000000000", "None", "None"]
    assert sorted(misfits) == [3, 4]


COLUMNS = [Column("id", "bigint"), Column("amount", "decimal"), Column("name", "text")]
TABLE = Table("t", {c.name: c for c in COLUMNS})
PAGE = {"id": list(range(500)), "amount": [Decimal(i) / 7 for i in range(500)], "name": [f"row \"{i}\"\n" * 3 for i in range(500)]}


@pytest.mark.parametrize("level", [0, 1, 2, 3, 6, 9])
def test_jsonl_files_read_back_with_plain_gzip_at_every_level(tmp_path: Path, level: int) -> None:
    path = tmp_path / "t.x.0.jsonl"
    w = JsonlWriter(path, TABLE, COLUMNS, {"jsonl_compression_level": level})
    w.write(PAGE, 500)
    w.write(PAGE, 500)
    w.close()
    data = path.read_bytes()
    text = gzip.decompress(data) if level else data
    assert (data[:2] == b"\x1f\x8b") == bool(level)
    rows = [json.loads(line) for line in text.decode().splitlines()]
    assert len(rows) == 1000
    assert rows[501] == {"id": 1, "amount": str(Decimal(1) / 7), "name": 'row "1"\n' * 3}


def test_jsonl_compression_level_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jsonl_compression_level"):
        JsonlWriter(tmp_path / "t.x.0.jsonl", TABLE, COLUMNS, {"jsonl_compression_level": 12})
