"""Arrow input beyond the conformance suite: json text built column-wise, struct flattening, row ids,
the filesystem formats, and Redshift text sizes from Arrow's byte lengths on the staged path."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import shipload
from conftest import table_rows
from shipload.normalize.arrow_input import arrow_row_ids
from shipload.normalize.arrow_json import json_text


@pytest.mark.parametrize("values,arrow_type", [
    ([[1, None, 3], None, [], [-(2**62)]], pa.list_(pa.int64())),
    ([[0.1, 1e300, float("inf")], [None]], pa.list_(pa.float64())),
    ([["a\"b", "é\\", "line\nnew", None], ["ctrl \x02"]], pa.list_(pa.string())),
    ([[{"a": 1, "b": [True, None]}], None, [None], [{"a": None, "b": []}]],
     pa.list_(pa.struct([("a", pa.int64()), ("b", pa.list_(pa.bool_()))]))),
    ([[("k", 1), ('q"', None)], None, []], pa.map_(pa.string(), pa.int64())),
    ([[Decimal("1.250"), None]], pa.list_(pa.decimal128(10, 3))),
])
def test_json_text_is_the_json_of_each_value(values: list[Any], arrow_type: pa.DataType) -> None:
    array = pa.array(values, arrow_type)
    texts = json_text(array).to_pylist()
    for value, text in zip(array.to_pylist(), texts, strict=True):
        if value is None:
            assert text is None  # SQL NULL, not the json literal
            continue
        inner = getattr(arrow_type, "value_type", None)
        expect = dict(value) if pa.types.is_map(arrow_type) else value
        decimal = inner is not None and pa.types.is_decimal(inner)
        got = json.loads(text, parse_float=Decimal) if decimal else json.loads(text)
        if inner is not None and pa.types.is_floating(inner):  # no json literal for NaN/inf: null
            expect = [None if v is not None and (v != v or v == float("inf")) else v for v in value]
        assert got == expect


def test_json_text_of_a_sliced_and_chunked_column() -> None:
    chunked = pa.chunked_array([pa.array([[1], [2, 3]]).slice(1), pa.array([None, [4]])])
    assert json_text(chunked).to_pylist() == ["[2,3]", None, "[4]"]
    stamps = pa.array([[dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)]], pa.list_(pa.timestamp("us", tz="UTC")))
    assert json.loads(json_text(stamps)[0].as_py()) == ["2024-01-02T03:04:05.000006Z"]


def test_row_ids_are_unique_and_sixteen_characters() -> None:
    ids = arrow_row_ids(300_000).to_pylist() + arrow_row_ids(300_000).to_pylist()
    assert len(set(ids)) == len(ids) and {len(i) for i in ids} == {16}
    assert arrow_row_ids(0).to_pylist() == []


def test_structs_flatten_into_parent_columns_and_collisions_are_refused() -> None:
    data = pa.table({"Player": pa.array([{"Name": "a", "Rating": {"Elo": 1}}, None]),
                     "clocks": pa.array([[1, 2], None])})
    p = shipload.pipeline("flat", destination="duckdb", dataset_name="flat")
    p.run(data, table_name="games")
    assert table_rows(p, "games", "player__name, player__rating__elo, clocks", order_by="player__name") == [
        ("a", 1, "[1,2]"), (None, None, None)]
    clash = pa.table({"a": pa.array([{"b": 1, "B": 2}])})
    with pytest.raises(shipload.PipelineStepFailed, match=r"table 'clash'.*collide.*a__b"):
        p.run(clash, table_name="clash")


def test_arrow_to_jsonl_and_parquet_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", str(tmp_path / "bucket"))
    data = pa.table({"id": [1, 2], "doc": pa.array([{"k": "é"}, None]), "tags": pa.array([["x", None], []]),
                     "amount": pa.array([Decimal("1.50"), None], pa.decimal128(8, 2))})
    for fmt in ("jsonl", "parquet"):
        p = shipload.pipeline(f"fs_{fmt}", destination="filesystem", dataset_name=fmt)
        p.run(data, table_name="t", loader_file_format=fmt)
        [path] = [f for f in (tmp_path / "bucket" / fmt / "t").iterdir()]
        if fmt == "jsonl":
            with gzip.open(path) as fh:
                rows = [json.loads(line) for line in fh]
            assert [(r["id"], r["doc__k"], r["tags"], r["amount"]) for r in rows] == [
                (1, "é", ["x", None], "1.50"), (2, None, [], None)]
        else:
            rows = pq.read_table(path).to_pylist()
            assert [(r["id"], r["doc__k"], json.loads(r["tags"]), r["amount"]) for r in rows] == [
                (1, "é", ["x", None], Decimal("1.50")), (2, None, [], None)]


def _varchar_sizes(p: Any, table: str) -> dict[str, int | None]:
    rows = p.dataset().query(
        "SELECT column_name, character_maximum_length FROM information_schema.columns "
        f"WHERE table_schema = '{p.dataset_name}' AND table_name = '{table}'")
    return dict(rows)


def test_staged_parquet_sizes_text_from_arrow_byte_lengths(redshift_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL",
                       f"s3://{redshift_db.bucket}/{os.environ['DESTINATION__REDSHIFT__CREDENTIALS__DATABASE']}")
    # 300 characters of 2 bytes (600 bytes) and 100 of 4 bytes (400 bytes): sized by bytes, not characters
    data = pa.table({"id": [1, 2], "name": ["a", "é" * 300], "who": pa.array([{"nick": "😀" * 100}, {"nick": "b"}])})
    p = shipload.pipeline("sized", destination="redshift", staging="filesystem", dataset_name="sized")
    p.run(data, table_name="t", loader_file_format="parquet")
    sizes = _varchar_sizes(p, "t")
    assert sizes["name"] == 1024 and sizes["who__nick"] == 512  # 600 * 1.25 -> 1024, 400 * 1.25 -> 512
    assert table_rows(p, "t", "id, name, who__nick", order_by="id") == [(1, "a", "😀" * 100), (2, "é" * 300, "b")]
    p.run(pa.table({"id": [3], "name": ["ü" * 1000], "who": pa.array([{"nick": "c"}])}), table_name="t",
          loader_file_format="parquet")  # 2000 bytes: the column widens in place
    assert _varchar_sizes(p, "t")["name"] == 4096
    assert table_rows(p, "t", "length(name)", where="id = 3") == [(1000,)]


def test_fixed_size_lists_are_json_and_bad_dataframes_are_refused_naming_the_column() -> None:
    pd = pytest.importorskip("pandas")
    p = shipload.pipeline("odd", destination="duckdb", dataset_name="odd")
    p.run(pa.table({"id": [1], "xy": pa.array([[1.5, 2.0]], pa.list_(pa.float64(), 2))}), table_name="points")
    assert [json.loads(v) for (v,) in table_rows(p, "points", "xy::VARCHAR")] == [[1.5, 2.0]]
    bad = pd.DataFrame({"id": [1, 2], "mixed": [1, "two"]})
    with pytest.raises(shipload.PipelineStepFailed, match=r"resource 'mixed_frame'.*mixed"):
        p.run(shipload.resource(iter([bad]), name="mixed_frame"))


def test_arrow_values_that_cannot_be_stored_are_refused_naming_table_and_column_then_fixed_data_loads() -> None:
    p = shipload.pipeline("refused", destination="duckdb", dataset_name="refused")
    nanos = pa.table({"id": [1], "at": pa.array([1_700_000_000_123_456_789], pa.timestamp("ns", tz="UTC"))})
    with pytest.raises(shipload.PipelineStepFailed, match=r"table 'events', column 'at'.*timestamp.*lose data"):
        p.run(nanos, table_name="events")
    with p.sql_client() as client:
        assert "events" not in client.reflect(["events"])
    p.drop_pending_packages()
    fixed = pa.table({"id": [1], "at": pa.array([1_700_000_000_123_456], pa.timestamp("us", tz="UTC"))})
    p.run(fixed, table_name="events")
    assert table_rows(p, "events", "id, \"at\"") == [(1, dt.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=dt.UTC))]
