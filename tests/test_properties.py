"""Property test: random nested records (ints, floats, text with quotes, backslashes and any
Unicode but lone surrogates and NUL, bools, None, nested dicts, lists of records) load into each
destination and every value reads back equal, in the table and column the flattening rules say."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shipload

KEYS = st.from_regex(r"[a-z]{1,8}", fullmatch=True).filter(lambda k: k not in ("id", "value"))
SCALARS = {
    "int": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(allow_nan=False, allow_infinity=False, width=64),
    "text": st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
    "bool": st.booleans(),
}


def fields(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """A record shape: key -> scalar kind, a nested shape (dict), or [shape] (a list of records)."""
    kind: st.SearchStrategy[Any] = st.sampled_from(sorted(SCALARS))
    if depth > 0:
        kind = st.one_of(kind, st.deferred(lambda: fields(depth - 1)), st.deferred(lambda: fields(depth - 1)).map(lambda f: [f]))
    return st.dictionaries(KEYS, kind, min_size=1, max_size=4)


@st.composite
def record(draw: Any, shape: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, kind in shape.items():
        if draw(st.integers(0, 5)) == 0:
            out[key] = None
        elif isinstance(kind, str):
            out[key] = draw(SCALARS[kind])
        elif isinstance(kind, dict):
            out[key] = draw(record(kind))
        else:
            out[key] = draw(st.lists(record(kind[0]), max_size=3))
    return out


@st.composite
def batches(draw: Any) -> list[dict[str, Any]]:
    shape = draw(fields(2))
    rows = draw(st.lists(record(shape), min_size=1, max_size=4))
    return [dict(r, id=i) for i, r in enumerate(rows)]


def flatten(table: str, key: tuple[Any, ...], item: dict[str, Any], out: dict[str, dict[tuple[Any, ...], dict[str, Any]]],
            prefix: str = "") -> dict[str, Any]:
    """Expected rows per table, keyed by (root id, list name, index, ...), as the normalizer makes them."""
    row = out.setdefault(table, {}).setdefault(key, {}) if not prefix else {}
    for k, v in item.items():
        name = prefix + k
        if isinstance(v, dict):
            row.update(flatten(table, key, v, out, name + "__"))
        elif isinstance(v, list):
            for i, child in enumerate(v):
                flatten(f"{table}__{name}", (*key, name, i), child, out)
        else:
            row[name] = v
    if prefix:
        return row
    out[table][key] = row
    return row


_names = itertools.count()


_table_of_id: dict[str, str] = {}


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(items=batches())
def test_random_nested_records_round_trip(destination: str, items: list[dict[str, Any]]) -> None:
    n = next(_names)
    p = shipload.pipeline(f"prop{n}", destination=destination, dataset_name=f"prop{n}")
    p.run(items, table_name="t")
    expected: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for item in items:
        flatten("t", (item["id"],), item, expected)
    expected = {t: rows for t, rows in expected.items() if rows}
    tables = [t.name for t in p.default_schema.data_tables()]
    _table_of_id.clear()
    got: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    ids: dict[str, tuple[Any, ...]] = {}
    for table in sorted(tables, key=lambda t: t.count("__")):
        with p.sql_client() as c:
            if table not in c.reflect([table]):
                continue  # a table whose columns were all None is not created
        for r in p.dataset().rows(table):
            if table == "t":
                key: tuple[Any, ...] = (r["id"],)
            else:
                parent = _table_of_id[r["_sl_parent_id"]]
                key = (*ids[r["_sl_parent_id"]], table[len(parent) + 2:], r["_sl_list_idx"])
            ids[r["_sl_id"]] = key
            _table_of_id[r["_sl_id"]] = table
            got.setdefault(table, {})[key] = {k: v for k, v in r.items() if not k.startswith("_sl_")}
    for table, rows in expected.items():
        assert set(got.get(table, {})) == set(rows), f"rows of {table}"
        for key, row in rows.items():
            actual = got[table][key]
            for col, value in row.items():
                assert actual.get(col) == value, f"{table} {key} {col}: {actual.get(col)!r} != {value!r}"
    assert set(got) <= set(expected)
