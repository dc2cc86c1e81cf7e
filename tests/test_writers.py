"""Load files carry correct logical types (parquet) and faithful values (jsonl)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shipload.schema.schema import Column, Table
from shipload.writers.jsonl import JsonlWriter
from shipload.writers.parquet import ParquetWriter

COLUMNS = [
    Column("ts", "timestamp"), Column("naive", "timestamp", timezone=False), Column("amount", "decimal"),
    Column("day", "date"), Column("blob", "binary"), Column("doc", "json"), Column("name", "text"),
]
TABLE = Table("t", {c.name: c for c in COLUMNS})
BERLIN = dt.timezone(dt.timedelta(hours=2))
VALUES = {
    "ts": [dt.datetime(2024, 5, 1, 12, tzinfo=BERLIN), None],
    "naive": [dt.datetime(2024, 5, 1, 12, 0, 0, 7), None],
    "amount": [Decimal("1.000000001"), Decimal("-3")],
    "day": [dt.date(2024, 2, 29), None],
    "blob": [b"\x00\xff", None],
    "doc": [{"a": [1, "x"]}, None],
    "name": ["zeile \"1\"\n", None],
}


def test_parquet_logical_types(tmp_path: Path) -> None:
    w = ParquetWriter(tmp_path / "t.x.0.parquet", TABLE, COLUMNS, {})
    w.write(VALUES, 2)
    w.close()
    t = pq.read_table(tmp_path / "t.x.0.parquet")
    assert t.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert t.schema.field("naive").type == pa.timestamp("us")
    assert t.schema.field("amount").type == pa.decimal128(38, 9)
    assert t.schema.field("day").type == pa.date32()
    assert t.schema.field("blob").type == pa.binary()
    assert t.schema.field("doc").type == pa.string()
    row = t.to_pylist()[0]
    assert row["ts"] == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)
    assert row["naive"] == VALUES["naive"][0]
    assert row["amount"] == Decimal("1.000000001")
    assert json.loads(row["doc"]) == {"a": [1, "x"]}
    assert t.to_pylist()[1]["amount"] == Decimal("-3")


def test_jsonl_values(tmp_path: Path) -> None:
    w = JsonlWriter(tmp_path / "t.x.0.jsonl", TABLE, COLUMNS, {})
    w.write(VALUES, 2)
    w.close()
    lines = gzip.decompress((tmp_path / "t.x.0.jsonl").read_bytes()).decode().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["ts"] == "2024-05-01T12:00:00+02:00"
    assert first["amount"] == "1.000000001" and second["amount"] == "-3"
    assert first["blob"] == "00ff" and first["doc"] == {"a": [1, "x"]}
    assert first["name"] == "zeile \"1\"\n" and second["name"] is None
