"""Bad input on every destination: each case has one documented outcome (docs/reliability.md),
stored faithfully (variant column, coercion) or refused with an error naming table and column;
never a crash, never a silent loss. A refused load leaves nothing behind, and the fixed data loads."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest

import shipload
from shipload.exceptions import PipelineStepFailed

UTC = dt.UTC


def nested(depth: int) -> dict[str, Any]:
    d: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        d = {"a": d}
    return d


def by_id(p: shipload.Pipeline, table: str) -> dict[Any, dict[str, Any]]:
    return {r.get("id"): r for r in p.dataset().rows(table)}


def data_columns(p: shipload.Pipeline, table: str) -> list[str]:
    return [c for c in p.dataset().rows(table)[0] if not c.startswith("_sl_")]


def check_none_only(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    assert set(rows) == {1, 2} and "a" not in rows[1]  # no type yet: the column waits for a value


def check_mixed(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    assert rows[1]["v"] == 1 and rows[2]["v__v_text"] == "x" and rows[3]["v__v_double"] == 1.5
    assert rows[4]["v__v_bool"] is True and rows[5]["v__k"] == 1


def check_nan_inf(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    assert math.isnan(rows[1]["f"]) and rows[2]["f"] == math.inf and rows[3]["f"] == -math.inf


def check_bytes(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    assert bytes(rows[1]["b"]) == b"\xff\xfe\x00abc\x80"


def check_nul(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    assert rows[1]["s"] == "a\x00b"


def check_long(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    assert rows[1]["s"] == "é" * 40000


def check_deep(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    [leaf] = [k for k in rows[1] if k.endswith("leaf")]  # one column, its long name shortened with a hash
    assert rows[1][leaf] == 1 and len(leaf) <= p.destination.capabilities.max_identifier_length


def check_wide(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    [row] = rows.values()
    assert all(row[f"c{i}"] == i for i in range(2000))


def check_empty_key(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    assert rows[1]["_"] == 1


def check_keywords(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    assert {k: rows[1][k] for k in ("select", "from", "we_ird", "it_s", "table", "order")} == \
        {"select": 1, "from": 2, "we_ird": 3, "it_s": 4, "table": 5, "order": 6}


def check_bigint(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    assert rows[1]["n__v_text"] == str(2**70) and rows[2]["n__v_text"] == str(-(2**64)) and rows[3]["n"] == 2**63 - 1


def check_dates(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    assert rows[1]["d"] == dt.date(1, 1, 1) and rows[2]["d"] == dt.date(9999, 12, 31)
    assert rows[1]["t"] == dt.datetime(1, 1, 1, tzinfo=UTC)
    assert rows[2]["t"] == dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def check_tz_mixed(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    # the column is naive (its first value was); an aware value is stored as its UTC wall time
    assert rows[1]["t"] == rows[2]["t"] == dt.datetime(2024, 1, 1, 12)


def check_non_dict(p: shipload.Pipeline, rows: dict[Any, dict[str, Any]]) -> None:
    values = sorted((str(r["value"]), str(r["value__v_text"])) for r in p.dataset().rows("non_dict"))
    # a list among the items is a page of items (as a resource yielding a list)
    assert values == [("1", "None"), ("1", "None"), ("2", "None"), ("3", "None"), ("None", "x")]


#: case -> (items, outcome per destination: a check of the loaded rows, or the words the error must hold)
Outcome = Callable[[shipload.Pipeline, dict[Any, dict[str, Any]]], None] | tuple[str, ...]
REFUSED_SURROGATE = ("surrogate", "'s'", "U+D800")
REFUSED_CASE = ("case_keys", "'userId'", "'user_id'")
CASES: dict[str, tuple[list[Any], dict[str, Outcome]]] = {
    "none_only": ([{"id": 1, "a": None}, {"id": 2, "a": None}], {"*": check_none_only}),
    "mixed": ([{"id": 1, "v": 1}, {"id": 2, "v": "x"}, {"id": 3, "v": 1.5}, {"id": 4, "v": True}, {"id": 5, "v": {"k": 1}}],
              {"*": check_mixed}),
    "nan_inf": ([{"id": 1, "f": math.nan}, {"id": 2, "f": math.inf}, {"id": 3, "f": -math.inf}], {"*": check_nan_inf}),
    "bad_utf8": ([{"id": 1, "b": b"\xff\xfe\x00abc\x80"}], {"*": check_bytes}),
    "surrogate": ([{"id": 1, "s": "a\ud800b"}], {"*": REFUSED_SURROGATE}),
    "nul": ([{"id": 1, "s": "a\x00b"}], {"duckdb": check_nul, "*": ("nul", "'s'", "NUL")}),
    "long": ([{"id": 1, "s": "é" * 40000}], {"redshift": ("long", "'s'", "65535"), "*": check_long}),
    "deep": ([{"id": 1, "d": nested(120)}], {"*": check_deep}),  # the endpoint keeps 127-byte names, as Redshift
    "wide": ([{f"c{i}": i for i in range(2000)}], {"duckdb": check_wide, "*": ("wide", "2002 columns", "1600")}),
    "case_keys": ([{"id": 1, "userId": 1, "user_id": 2}], {"*": REFUSED_CASE}),
    "empty_key": ([{"id": 1, "": 1}], {"*": check_empty_key}),
    "keywords": ([{"id": 1, "select": 1, "from": 2, 'we"ird': 3, "it's": 4, "table": 5, "order": 6}], {"*": check_keywords}),
    "bigint": ([{"id": 1, "n": 2**70}, {"id": 2, "n": -(2**64)}, {"id": 3, "n": 2**63 - 1}], {"*": check_bigint}),
    "dates": ([{"id": 1, "d": dt.date(1, 1, 1), "t": dt.datetime(1, 1, 1, tzinfo=UTC)},
               {"id": 2, "d": dt.date(9999, 12, 31), "t": dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)}],
              {"*": check_dates}),
    "tz_mixed": ([{"id": 1, "t": dt.datetime(2024, 1, 1, 12)}, {"id": 2, "t": dt.datetime(2024, 1, 1, 12, tzinfo=UTC)}],
                 {"*": check_tz_mixed}),
    "non_dict": ([1, "x", [1, 2], {"value": 3}], {"*": check_non_dict}),
}


def outcome(case: str, destination: str) -> Outcome:
    per = CASES[case][1]
    return per.get(destination, per["*"])


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_has_its_documented_outcome(destination: str, case: str) -> None:
    items, _ = CASES[case]
    expected = outcome(case, destination)
    p = shipload.pipeline(f"bad_{case}", destination=destination)
    if callable(expected):
        p.run(items, table_name=case)
        expected(p, by_id(p, case))
        return
    with pytest.raises(PipelineStepFailed) as refused:
        p.run(items, table_name=case)
    message = str(refused.value)
    missing = [w for w in expected if w not in message]
    assert not missing, f"the error does not name {missing}: {message}"
    assert len(message) < 2000
    # nothing half-loaded: no data table; the fixed data loads (a refused package is set aside or dropped)
    with p.sql_client() as c:
        assert case not in c.reflect([case])
    p.drop_pending_packages()
    p.run([{"id": 1, "s": "fixed"}], table_name=case)
    assert [r["s"] for r in p.dataset().rows(case)] == ["fixed"]
