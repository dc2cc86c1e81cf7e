"""Append, types, file formats and literals, on every destination."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import shipload
from conftest import table_rows

FORMATS = {"duckdb": ["parquet", "insert_values"], "postgres": ["csv", "insert_values"], "redshift": ["insert_values"]}

HOSTILE = [
    "plain",
    "it's",
    "''",
    "back\\slash\\",
    "\\x41 not hex",
    "line\nbreak\r\nand\ttab",
    "'); DROP TABLE games; --",
    "emoji 😀 and 𝄞 (non-BMP)",
    "quote \" double",
    "",
    "$$ dollar $tag$",
    "/* comment */ -- dash",
    "%s %(name)s {0}",
]


def _record(i: int) -> dict:
    return {
        "id": i,
        "name": HOSTILE[i % len(HOSTILE)],
        "score": i * 1.5,
        "flag": i % 2 == 0,
        "amount": Decimal("12345.678900001") + i,
        "played_at": dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC) + dt.timedelta(hours=i),
        "day": dt.date(2024, 2, 29),
        "blob": bytes([0, 1, 2, 255, i % 256]),
        "meta": {"tags": ["a", "b'"], "n": i},
        "moves": [{"san": "e4", "ply": 1}, {"san": "e5\\'", "ply": 2}],
    }


@pytest.mark.parametrize("fmt_index", [0, 1])
def test_types_and_hostile_strings_round_trip(destination: str, fmt_index: int) -> None:
    if fmt_index >= len(FORMATS[destination]):
        pytest.skip(f"{destination} has one loader file format without staging")
    fmt = FORMATS[destination][fmt_index]
    p = shipload.pipeline("types", destination=destination)
    data = [_record(i) for i in range(len(HOSTILE))]
    info = p.run(data, table_name="games", columns={"meta": {"data_type": "json"}}, loader_file_format=fmt)
    assert info.row_counts["games"] == len(HOSTILE)
    rows = table_rows(p, "games", "id, name, score, flag, amount, played_at, day, blob, meta", order_by="id")
    assert [r[1] for r in rows] == HOSTILE
    first = rows[1]
    assert first[2] == 1.5 and first[3] is False
    assert Decimal(first[4]) == Decimal("12346.678900001")
    assert first[5] == dt.datetime(2024, 1, 2, 4, 4, 5, 123456, tzinfo=dt.UTC)
    assert first[6] == dt.date(2024, 2, 29)
    assert bytes(first[7]) == bytes([0, 1, 2, 255, 1])
    meta = first[8] if isinstance(first[8], dict) else __import__("json").loads(first[8])
    assert meta == {"tags": ["a", "b'"], "n": 1}
    moves = table_rows(p, "games__moves", "san", order_by="_sl_list_idx", where="_sl_list_idx >= 0")
    assert sorted({m[0] for m in moves}) == ["e4", "e5\\'"]
    # the tables still exist after the hostile text went through
    assert len(table_rows(p, "games")) == len(HOSTILE)


def test_nul_character_is_refused_with_table_and_column(destination: str) -> None:
    fmt = FORMATS[destination][-1]  # insert_values renders literals; NUL cannot be written
    p = shipload.pipeline("nul", destination=destination)
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run([{"id": 1, "txt": "a\x00b"}], table_name="t", loader_file_format=fmt)
    assert "'t'" in str(err.value) and "'txt'" in str(err.value)


def test_append_twice_and_read_back_as_rows_and_arrow(destination: str) -> None:
    p = shipload.pipeline("append", destination=destination)
    p.run([{"id": 1, "v": "a"}, {"id": 2, "v": None}], table_name="items")
    p.run([{"id": 3, "v": "c", "extra": 7}], table_name="items")
    rows = p.dataset().rows("items", ["id", "v", "extra"], order_by=["id"])
    assert rows == [{"id": 1, "v": "a", "extra": None}, {"id": 2, "v": None, "extra": None}, {"id": 3, "v": "c", "extra": 7}]
    arrow = p.dataset().arrow("items", ["id"])
    assert sorted(arrow.column("id").to_pylist()) == [1, 2, 3]


def test_sql_client_runs_user_queries(destination: str) -> None:
    p = shipload.pipeline("client", destination=destination)
    p.run([{"id": 1}], table_name="items")
    with p.sql_client() as client:
        assert client.execute_sql(f"SELECT count(*) FROM {client.table('items')}") == [(1,)]


def test_dataset_named_like_the_database(destination: str, monkeypatch: pytest.MonkeyPatch, isolated: object) -> None:
    if destination == "duckdb":  # the file's catalog is "bench", and so is the schema
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", "bench.duckdb")
    p = shipload.pipeline("samename", destination=destination, dataset_name="bench")
    p.run([{"id": 1, "kids": [1]}], table_name="t", write_disposition="merge", primary_key="id")
    p.run([{"id": 1, "kids": [2]}], table_name="t", write_disposition="merge", primary_key="id")
    assert table_rows(p, "t__kids", "value") == [(2,)]


def test_bytes_like_values_load_as_binary(destination: str) -> None:
    """bytes, bytearray and memoryview are binary, in new columns and in binary columns."""
    raw = bytes([0, 1, 2, 255])
    rows = [{"id": 1, "b": memoryview(raw)}, {"id": 2, "b": bytearray(raw[::-1])}, {"id": 3, "b": raw[:2]},
            {"id": 4, "b": memoryview(b"xyz")[1:]}]
    p = shipload.pipeline("bytes_like", destination=destination)
    p.run(rows, table_name="t")
    assert p.default_schema.tables["t"].columns["b"].data_type == "binary"
    got = [(i, bytes(b)) for i, b in table_rows(p, "t", "id, b", order_by="id")]
    assert got == [(1, raw), (2, raw[::-1]), (3, raw[:2]), (4, b"yz")]
