"""Nested data lands as parent and child tables; values of every type round-trip exactly."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import shipload
from conftest import duck_columns, duck_rows

BERLIN = dt.timezone(dt.timedelta(hours=2))


def make_orders(n: int) -> list[dict]:
    return [
        {
            "order_id": i,
            "customer": {"name": f"Kunde {i} – Müller ✓ 𝄞", "address": {"city": "Köln", "zip": "50667"}},
            "lines": [
                {"sku": f"s{i}-{j}", "tags": [{"tag": f"t{k}"} for k in range(j)]}
                for j in range(i % 4)
            ],
        }
        for i in range(n)
    ]


def test_three_levels_become_parent_and_two_child_tables() -> None:
    orders = make_orders(40)
    p = shipload.pipeline("nested", destination="duckdb")
    info = p.run(orders, table_name="orders")

    lines = sum(len(o["lines"]) for o in orders)
    tags = sum(len(line["tags"]) for o in orders for line in o["lines"])
    assert info.row_counts == {"orders": 40, "orders__lines": lines, "orders__lines__tags": tags}
    ds = p.dataset_name
    assert duck_rows(p, f"SELECT count(*) FROM {ds}.orders")[0][0] == 40
    assert duck_rows(p, f"SELECT count(*) FROM {ds}.orders__lines")[0][0] == lines
    assert duck_rows(p, f"SELECT count(*) FROM {ds}.orders__lines__tags")[0][0] == tags
    # every child row points at an existing parent row
    orphans = duck_rows(
        p, f"SELECT count(*) FROM {ds}.orders__lines c LEFT JOIN {ds}.orders o ON c._sl_parent_id = o._sl_id "
        "WHERE o._sl_id IS NULL"
    )[0][0]
    orphans += duck_rows(
        p, f"SELECT count(*) FROM {ds}.orders__lines__tags c LEFT JOIN {ds}.orders__lines o "
        "ON c._sl_parent_id = o._sl_id WHERE o._sl_id IS NULL"
    )[0][0]
    assert orphans == 0
    # list positions and nested-dict flattening
    got = duck_rows(
        p, f"SELECT o.order_id, l.sku, l._sl_list_idx FROM {ds}.orders o JOIN {ds}.orders__lines l "
        "ON l._sl_parent_id = o._sl_id WHERE o.order_id = 7 ORDER BY l._sl_list_idx"
    )
    assert got == [(7, "s7-0", 0), (7, "s7-1", 1), (7, "s7-2", 2)]
    cols = duck_columns(p, "orders")
    assert "customer__address__city" in cols and "customer__name" in cols
    name = duck_rows(p, f"SELECT customer__name FROM {ds}.orders WHERE order_id = 3")[0][0]
    assert name == "Kunde 3 – Müller ✓ 𝄞"


def test_types_round_trip_exactly() -> None:
    uid = uuid.uuid4()
    row = {
        "id": 1,
        "price": Decimal("12345.678900001"),
        "aware": dt.datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=BERLIN),
        "naive": dt.datetime(2024, 3, 1, 12, 30, 15, 654321),
        "day": dt.date(1999, 12, 31),
        "at": dt.time(23, 59, 58, 1),
        "blob": b"\x00\x01\xffbinary",
        "text": "quote ' and \\ backslash, 日本語, emoji 🚢",
        "nothing": None,
        "flag": True,
        "ratio": 0.1,
        "big": 2**62,
        "uid": uid,
        "doc": {"nested": [1, 2, {"x": None}]},
    }
    p = shipload.pipeline("types", destination="duckdb")
    p.run([row], table_name="t", columns={"doc": {"data_type": "json"}})
    cols = duck_columns(p, "t")
    assert cols["price"] == "DECIMAL(38,9)"
    assert cols["aware"] == "TIMESTAMP WITH TIME ZONE"
    assert cols["naive"] == "TIMESTAMP"
    assert cols["blob"] == "BLOB"
    assert "nothing" not in cols  # no type known yet: not created, nothing lost
    got = duck_rows(
        p, f"SELECT price, aware, naive, day, \"at\", blob, text, flag, ratio, big, uid, doc FROM {p.dataset_name}.t"
    )[0]
    assert got[0] == Decimal("12345.678900001")
    assert got[1] == row["aware"].astimezone(dt.UTC)  # stored in UTC, same instant
    assert got[1].utcoffset() == dt.timedelta(0)
    assert got[2] == row["naive"]
    assert got[3] == row["day"]
    assert got[4] == row["at"]
    assert bytes(got[5]) == row["blob"]
    assert got[6] == row["text"]
    assert got[7:10] == (True, 0.1, 2**62)
    assert got[10] == str(uid)
    import json

    assert json.loads(got[11]) == row["doc"]


def test_none_column_gets_created_when_a_value_arrives() -> None:
    p = shipload.pipeline("late", destination="duckdb")
    p.run([{"id": 1, "later": None}], table_name="t")
    p.run([{"id": 2, "later": "now"}], table_name="t")
    assert duck_rows(p, f"SELECT id, later FROM {p.dataset_name}.t ORDER BY id") == [(1, None), (2, "now")]


def test_max_table_nesting_keeps_json() -> None:
    p = shipload.pipeline("nesting", destination="duckdb")
    data = [{"id": 1, "a": [{"b": [{"c": 1}]}]}]
    p.run(shipload.resource(data, name="t", max_table_nesting=1))
    tables = {r[0] for r in duck_rows(p, f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{p.dataset_name}'")}
    assert "t__a" in tables and "t__a__b" not in tables
    assert duck_columns(p, "t__a")["b"] == "JSON"
