"""Arrow tables, record batches and pandas DataFrames, on every destination and file format: the
values in the destination equal the input column by column; structs land as `parent__child`
columns, lists as json."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

import shipload
from conftest import table_rows

N = 30
TEXTS = ["plain", "it's \"quoted\"", "back\\slash", "line\nbreak\ttab", "émoji 😀 𝄞", "日本語", ""]
BASE = dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.UTC)
#: (destination, file format, staging)
CASES = {
    "duckdb": [("parquet", None), ("insert_values", None)],
    "postgres": [("insert_values", None), ("csv", None)],
    "redshift": [("insert_values", None), ("parquet", "filesystem")],
}


def expected() -> list[dict[str, Any]]:
    rows = []
    for i in range(N):
        rows.append({
            "id": i,
            "name": None if i % 5 == 4 else TEXTS[i % len(TEXTS)],
            "score": None if i % 6 == 5 else i * 0.125,
            "flag": None if i % 7 == 6 else i % 2 == 0,
            "played_at": BASE + dt.timedelta(days=i, microseconds=i),
            "amount": None if i % 4 == 3 else Decimal(f"{i * 1000}.{i:03d}"),
            "player": None if i % 8 == 7 else {"name": TEXTS[(i + 1) % len(TEXTS)], "elo": 1500 + i,
                                                "meta": {"country": "ÉS" if i % 2 else None}},
            "tags": None if i % 9 == 8 else [f"t{j}\"é" for j in range(i % 3)] + ([None] if i % 4 == 0 else []),
        })
    return rows


def arrow_table() -> pa.Table:
    rows = expected()
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("id", pa.int64()), ("name", pa.string()), ("score", pa.float64()), ("flag", pa.bool_()),
        ("played_at", pa.timestamp("us", tz="UTC")), ("amount", pa.decimal128(12, 3)),
        ("player", pa.struct([("name", pa.string()), ("elo", pa.int32()),
                              ("meta", pa.struct([("country", pa.string())]))])),
        ("tags", pa.list_(pa.string())),
    ]))


def _flat(row: dict[str, Any]) -> tuple[Any, ...]:
    player = row["player"] or {}
    return (row["id"], row["name"], row["score"], row["flag"], row["played_at"], row["amount"], player.get("name"),
            player.get("elo"), (player.get("meta") or {}).get("country"), row["tags"])


COLUMNS = "id, name, score, flag, played_at, amount, player__name, player__elo, player__meta__country, tags"


def _read(p: Any, table: str) -> list[tuple[Any, ...]]:
    out = []
    for row in table_rows(p, table, COLUMNS, order_by="id"):
        *head, tags = row
        out.append((*head, json.loads(tags) if isinstance(tags, str) else tags))
    return out


@pytest.mark.parametrize("shape", ["table", "batches", "pandas"])
def test_arrow_input_values_equal_the_input(destination: str, shape: str, request: pytest.FixtureRequest,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if destination == "redshift":  # staged parquet: a bucket prefix of this test's own
        endpoint = request.getfixturevalue("redshift_db")
        monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL",
                           f"s3://{endpoint.bucket}/{os.environ['DESTINATION__REDSHIFT__CREDENTIALS__DATABASE']}")
    table = arrow_table()
    if shape == "batches":
        data: Any = table.to_batches(max_chunksize=7)
    elif shape == "pandas":
        pytest.importorskip("pandas")
        data = table.to_pandas()
    else:
        data = table
    want = [_flat(r) for r in expected()]
    for fmt, staging in CASES[destination]:
        name = f"arrow_{shape}_{fmt}"
        p = shipload.pipeline(name, destination=destination, staging=staging, dataset_name=name)
        info = p.run(data if shape != "batches" else iter(data), table_name="events", loader_file_format=fmt)
        assert info.row_counts == {"events": N}
        got = _read(p, "events")
        for k, column in enumerate(COLUMNS.split(", ")):  # column by column, so a failure names it
            assert [r[k] for r in got] == [w[k] for w in want], f"{destination}/{fmt}/{shape}: column {column}"
        ids = table_rows(p, "events", "count(DISTINCT _sl_id), count(DISTINCT _sl_load_id)")
        assert ids == [(N, 1)]
