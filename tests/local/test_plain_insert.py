"""The proxy's fast path for multi-row INSERTs gives PostgreSQL exactly what the full, tokenizing
rewrite gives it, and it is taken for loader-style statements whatever their text data holds
(words such as ``len`` or ``super``, semicolons, comment markers, quotes, backslashes)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shipload.destinations.redshift.dialect import RedshiftDialect
from shipload.local.proxy.plain_insert import plain_values
from shipload.local.proxy.rewrite import Rewriter, Session, rewrite_sql
from shipload.local.proxy.sqltokens import split_statements, tokenize

HEAD = 'INSERT INTO "Bench"."Games" ("Id", "doc", "name") VALUES\n'


def full_rewrite(sql: str) -> list[str]:
    """What the tokenizing rewrite makes of `sql` (the path every other statement takes)."""
    rewriter = Rewriter(Session())
    return [rewriter.rewrite(stmt).sql.strip() for stmt in split_statements(tokenize(sql))]


def proxy(sql: str) -> list[str]:
    return [st.sql.strip() for st in rewrite_sql(sql, Session())]


TRICKY_TEXT = st.lists(st.sampled_from(list("ab ;'\\\"$-/*()\n,") + ["len", "super", "nvl(", "--", "/*", "$$", "E'", "\\'"]),
                       max_size=12).map("".join)
LITERAL = st.one_of(
    TRICKY_TEXT.map(RedshiftDialect.escape_string),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["NULL", "TRUE", "false", "DEFAULT"]),
    TRICKY_TEXT.map(lambda t: f"JSON_PARSE({RedshiftDialect.escape_string(t)})"),
    TRICKY_TEXT.map(lambda t: f"from_hex({RedshiftDialect.escape_string(t.encode().hex())})"),
)
#: pieces no loader sends: each must make the statement take the full rewrite (or give its result)
ODD = st.sampled_from([
    "'x'::super", "len('a')", "1e", "4WHEN", "getdate()", "-- c\n1", "/* ; */ 2", '"Col"', "$$a'b$$", "E'a\\'b'",
    "'a\\'b'", "'unterminated", "1; DROP TABLE t", "nvl(1, 2)", "x.y", "'a'||'b'", "-1", "+2", "1.5e-3", "(1)",
    "SYSDATE", "'\\\\'", "rs_compat.json_parse('1')", "JSON_PARSE ('[1]')", "json_parse", "1--2", "NULL;",
    "-- '\n,len('1') --'", "/* ' */ len('1') /* ' */", "$$'$$, len('1'), $$'$$",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.one_of(LITERAL, LITERAL, LITERAL, ODD), min_size=1, max_size=4), min_size=1, max_size=5),
       st.sampled_from(["", ";", ";\n", "\n"]))
def test_fast_path_gives_what_the_full_rewrite_gives(rows: list[list[str]], end: str) -> None:
    sql = HEAD + ",\n".join("(" + ",".join(row) + ")" for row in rows) + end
    assert proxy(sql) == full_rewrite(sql)


def dialect_row(*values: object) -> str:
    return "(" + ",".join(RedshiftDialect.literal(v) for v in values) + ")"


def test_loader_rows_take_the_fast_path_whatever_their_text_says() -> None:
    rows = [
        dialect_row(1, "a-len-b", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), Decimal("1.50")),
        dialect_row(2, "x; DROP TABLE t; --", None, Decimal("-3E+2")),
        dialect_row(3, "it's \\ super */ /* $$", True, 1.5e-7),
        dialect_row(-4, "\\", False, 10**18) + ",\n" + "(5,JSON_PARSE('{\"k\": \"len\"}'),FROM_HEX('00ff'),NULL)",
    ]
    values = "\n" + ",\n".join(rows)
    passed = plain_values(values)
    assert passed is not None  # no tokenizing of the data
    assert "rs_compat.json_parse('{\"k\": \"len\"}')" in passed and "rs_compat.from_hex('00ff')" in passed
    assert passed.replace("rs_compat.json_parse(", "JSON_PARSE(").replace("rs_compat.from_hex(", "FROM_HEX(") == values
    sql = HEAD + values
    assert proxy(sql) == full_rewrite(sql)
    assert proxy(sql)[0].startswith('INSERT INTO "bench"."games" ("id", "doc", "name") VALUES')  # names folded


def test_a_second_statement_or_a_cast_takes_the_full_rewrite() -> None:
    assert plain_values(" (1);") == " (1)"
    for values in (" (1); SELECT 1", " ('1'::super)", " ('a' -- x\n)", " (1) RETURNING id", " ('a\\'b')x"):
        assert plain_values(values) is None, values
