"""The local endpoint answers as Redshift documents: the same statements through psycopg2 and
redshift_connector, checked against the answer on the AWS reference page cited with each case."""

from __future__ import annotations

import json
from contextlib import closing
from decimal import Decimal
from typing import Any

import psycopg2
import pytest
import redshift_connector

DRIVERS = ["psycopg2", "redshift_connector"]


def connect(info: Any, driver: str) -> Any:
    if driver == "psycopg2":
        conn = psycopg2.connect(host=info.redshift_host, port=info.redshift_port, user=info.username,
                                password=info.password, dbname=info.database)
    else:
        conn = redshift_connector.connect(host=info.redshift_host, port=info.redshift_port, user=info.username,
                                          password=info.password, database=info.database, ssl=False)
    conn.autocommit = True
    return conn


def query(info: Any, driver: str, sql: str) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Rows (as tuples) and the type OIDs of the result's columns."""
    with closing(connect(info, driver)) as conn:
        cur = conn.cursor()
        cur.execute(sql)
        rows = [tuple(r) for r in cur.fetchall()]
        return rows, [d[1] for d in cur.description]


@pytest.fixture(scope="module")
def catalog_schema(local_redshift: Any) -> str:
    """A schema with a table (primary key, VARCHAR, SUPER), a late-binding view and a procedure."""
    name = "conformance_catalog"
    with closing(connect(local_redshift, "psycopg2")) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        cur.execute(f"CREATE SCHEMA {name}")
        cur.execute(f"CREATE TABLE {name}.games (id INT PRIMARY KEY, title VARCHAR(40), doc SUPER) DISTKEY(id)")
        cur.execute(f"INSERT INTO {name}.games VALUES (1, 'a', JSON_PARSE('[1]')), (2, 'b', NULL), (3, 'c', NULL)")
        cur.execute(f"CREATE VIEW {name}.titles AS SELECT id, title FROM {name}.games WITH NO SCHEMA BINDING")
        cur.execute(f"CREATE PROCEDURE {name}.touch() AS $$ BEGIN NULL; END; $$ LANGUAGE plpgsql")
    return name


# -- SQL forms ---------------------------------------------------------------------------------------

SQL_CASES = {
    # a subquery in FROM needs no alias
    # https://docs.aws.amazon.com/redshift/latest/dg/r_FROM_clause30.html
    "subquery_without_alias": ("SELECT * FROM (SELECT 1 AS x) WHERE x = 1", [(1,)]),
    "nested_subqueries_without_alias": ("SELECT x FROM (SELECT * FROM (SELECT 2 AS x)) ORDER BY x", [(2,)]),
    # NVL2(expression, not_null_return_value, null_return_value)
    # https://docs.aws.amazon.com/redshift/latest/dg/r_NVL2.html
    "nvl2_null": ("SELECT NVL2(NULL, 1, 2)", [(2,)]),
    "nvl2_not_null": ("SELECT NVL2('x', 'set', 'unset')", [("set",)]),
    # SHOW server_version answers Redshift's version, like the startup parameter
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SHOW.html
    "show_server_version": ("SHOW server_version", [("8.0.2",)]),
    # lateral column alias reference: an alias is usable in later select items and in WHERE
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SELECT_list.html
    "lateral_alias_in_select_and_where": (
        "SELECT n.nspname AS schema_label, upper(schema_label) AS shout FROM pg_namespace n "
        "WHERE schema_label = 'public'", [("public", "PUBLIC")]),
    # REGEXP_REPLACE replaces every match; the replacement defaults to ''
    # https://docs.aws.amazon.com/redshift/latest/dg/REGEXP_REPLACE.html
    "regexp_replace_all_matches": ("SELECT REGEXP_REPLACE('abab', 'a', 'x'), REGEXP_REPLACE('a1b2', '[0-9]')",
                                   [("xbxb", "ab")]),
    # CHARINDEX(substring, string): 1-based position, 0 when absent
    # https://docs.aws.amazon.com/redshift/latest/dg/r_CHARINDEX.html
    "charindex": ("SELECT CHARINDEX('b', 'abc'), CHARINDEX('z', 'abc')", [(2, 0)]),
    # a number run into a keyword is two tokens (redshift_connector's metadata SQL has `THEN 4WHEN`)
    "number_before_keyword": ("SELECT CASE WHEN true THEN 4ELSE 5 END", [(4,)]),
}


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("case", list(SQL_CASES))
def test_sql_forms(local_redshift: Any, driver: str, case: str) -> None:
    sql, expected = SQL_CASES[case]
    rows, _ = query(local_redshift, driver, sql)
    assert rows == expected


# -- SUPER ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("driver", DRIVERS)
def test_super_arrives_as_oid_4000_with_compact_json_text(local_redshift: Any, driver: str) -> None:
    # SUPER is its own type (OID 4000 on the wire); its text form is compact JSON
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SUPER_type.html
    # https://docs.aws.amazon.com/redshift/latest/dg/JSON_PARSE.html
    rows, oids = query(local_redshift, driver,
                       "SELECT JSON_PARSE('[1, 2, \"a b\"]'), JSON_PARSE('{\"k\": {\"n\": null}, \"s\": \"x y\"}'), "
                       "JSON_PARSE('7'), NULL::SUPER")
    assert oids == [4000, 4000, 4000, 4000]
    assert rows == [('[1,2,"a b"]', '{"k":{"n":null},"s":"x y"}', "7", None)]
    assert all(isinstance(v, str) for v in rows[0][:3])  # strings, as from Redshift, not parsed dicts


@pytest.mark.parametrize("driver", DRIVERS)
def test_super_column_type_names(local_redshift: Any, catalog_schema: str, driver: str) -> None:
    # format_type and PG_TABLE_DEF name the type `super`
    # https://docs.aws.amazon.com/redshift/latest/dg/r_PG_TABLE_DEF.html
    rows, _ = query(local_redshift, driver,
                    f"SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                    f"WHERE attrelid = '{catalog_schema}.games'::regclass AND attname = 'doc'")
    assert rows == [("super",)]
    with closing(connect(local_redshift, driver)) as conn:
        cur = conn.cursor()
        cur.execute(f"SET search_path TO {catalog_schema}")
        cur.execute("SELECT \"column\", type FROM pg_table_def WHERE tablename = 'games' ORDER BY \"column\"")
        assert [tuple(r) for r in cur.fetchall()] == [("doc", "super"), ("id", "integer"),
                                                      ("title", "character varying(40)")]


def test_super_values_read_back_through_stored_rows(local_redshift: Any, catalog_schema: str) -> None:
    rows, oids = query(local_redshift, "psycopg2", f"SELECT id, doc FROM {catalog_schema}.games ORDER BY id")
    assert oids[1] == 4000 and rows == [(1, "[1]"), (2, None), (3, None)]


@pytest.mark.parametrize("driver", DRIVERS)
def test_super_array_subscripts_and_navigation_after_them(local_redshift: Any, driver: str) -> None:
    # brackets navigate arrays, dots navigate structures: c_orders[0].o_orderkey
    # https://docs.aws.amazon.com/redshift/latest/dg/query-super.html
    s = f"partiql_{driver}"
    with closing(connect(local_redshift, driver)) as conn:
        cur = conn.cursor()
        cur.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        cur.execute(f"CREATE SCHEMA {s}")
        cur.execute(f"CREATE TABLE {s}.customers (id INT, c_orders SUPER)")
        cur.execute(f"INSERT INTO {s}.customers VALUES (1, JSON_PARSE('[{{\"o_orderkey\": 7}}, {{\"o_orderkey\": 8, "
                    f"\"lines\": [5, 6]}}]'))")
        cur.execute(f"SELECT c_orders[0].o_orderkey, cust.c_orders[1].lines[1], c_orders[1] FROM {s}.customers AS cust "
                    f"WHERE c_orders[0].o_orderkey IS NOT NULL")
        assert [d[1] for d in cur.description] == [4000, 4000, 4000]
        assert [tuple(r) for r in cur.fetchall()] == [("7", "6", '{"lines":[5,6],"o_orderkey":8}')]


@pytest.mark.parametrize("driver", DRIVERS)
def test_super_arrays_unnest_in_from(local_redshift: Any, driver: str) -> None:
    # FROM t AS c, c.c_orders AS o AT i iterates the array for each row; AT gives the 0-based index
    # https://docs.aws.amazon.com/redshift/latest/dg/query-super.html
    s = f"unnest_{driver}"
    with closing(connect(local_redshift, driver)) as conn:
        cur = conn.cursor()
        cur.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        cur.execute(f"CREATE SCHEMA {s}")
        cur.execute(f"CREATE TABLE {s}.customers (c_name VARCHAR(10), c_orders SUPER)")
        cur.execute(f"INSERT INTO {s}.customers VALUES ('ann', JSON_PARSE('[{{\"o_orderkey\": 7}}, {{\"o_orderkey\": 8}}]')), "
                    f"('bob', JSON_PARSE('[{{\"o_orderkey\": 9}}]'))")
        cur.execute(f"SELECT c.c_name, orders.o_orderkey AS orderkey, index AS orderkey_index "
                    f"FROM {s}.customers c, c.c_orders AS orders AT index ORDER BY 1, 3")
        assert [tuple(r) for r in cur.fetchall()] == [("ann", "7", 0), ("ann", "8", 1), ("bob", "9", 0)]
        cur.execute("SELECT arr, element FROM (SELECT JSON_PARSE('[[1.5, 2.5], [3.5]]') AS multi_level_array) AS f, "
                    "f.multi_level_array AS arr, arr AS element ORDER BY 2")
        assert [tuple(r) for r in cur.fetchall()] == [("[1.5,2.5]", "1.5"), ("[1.5,2.5]", "2.5"), ("[3.5]", "3.5")]


# -- catalog views -----------------------------------------------------------------------------------

CATALOG_CASES = {
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_REDSHIFT_SCHEMAS.html
    "svv_redshift_schemas": ("SELECT database_name, schema_name, schema_type FROM svv_redshift_schemas "
                             "WHERE schema_name = '{s}'", [("dev", "{s}", "local")]),
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_ALL_SCHEMAS.html
    "svv_all_schemas": ("SELECT schema_name FROM pg_catalog.svv_all_schemas WHERE schema_name = '{s}'", [("{s}",)]),
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_EXTERNAL_SCHEMAS.html (no external schemas)
    "svv_external_schemas": ("SELECT count(*) FROM svv_external_schemas", [(0,)]),
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLES.html
    "svv_tables": ("SELECT table_catalog, table_name, table_type FROM svv_tables WHERE table_schema = '{s}' "
                   "ORDER BY table_name", [("dev", "games", "BASE TABLE"), ("dev", "titles", "VIEW")]),
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_REDSHIFT_TABLES.html
    "svv_redshift_tables": ("SELECT table_name, table_type FROM svv_redshift_tables WHERE schema_name = '{s}' "
                            "ORDER BY 1", [("games", "TABLE"), ("titles", "VIEW")]),
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_ALL_TABLES.html
    "svv_all_tables": ("SELECT table_name FROM svv_all_tables WHERE schema_name = '{s}' ORDER BY 1",
                       [("games",), ("titles",)]),
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_COLUMNS.html
    "svv_columns": ("SELECT column_name, ordinal_position, data_type, character_maximum_length, is_nullable "
                    "FROM svv_columns WHERE table_schema = '{s}' AND table_name = 'games' ORDER BY 2",
                    [("id", 1, "integer", None, "NO"), ("title", 2, "character varying", 40, "YES"),
                     ("doc", 3, "super", None, "YES")]),
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_REDSHIFT_COLUMNS.html
    "svv_redshift_columns": ("SELECT column_name, data_type FROM svv_redshift_columns WHERE schema_name = '{s}' "
                             "AND table_name = 'games' ORDER BY ordinal_position",
                             [("id", "integer"), ("title", "character varying(40)"), ("doc", "super")]),
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_ALL_COLUMNS.html
    "svv_all_columns": ("SELECT column_name FROM svv_all_columns WHERE schema_name = '{s}' AND table_name = 'titles' "
                        "ORDER BY ordinal_position", [("id",), ("title",)]),
    # tbl_rows is the table's row count, also right after a load
    # https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html
    "svv_table_info_tbl_rows": ("SELECT \"table\", tbl_rows FROM svv_table_info WHERE schema = '{s}'",
                                [("games", 3)]),
    # one record per column of each late-binding view
    # https://docs.aws.amazon.com/redshift/latest/dg/PG_GET_LATE_BINDING_VIEW_COLS.html
    "pg_get_late_binding_view_cols": (
        "SELECT view_name, col_name, col_type, col_num FROM pg_get_late_binding_view_cols() "
        "cols(view_schema name, view_name name, col_name name, col_type varchar, col_num int) "
        "WHERE view_schema = '{s}' ORDER BY col_num",
        [("titles", "id", "integer", 1), ("titles", "title", "character varying(40)", 2)]),
    # PG_PROC_INFO: pg_proc with prooid and prokind
    # https://docs.aws.amazon.com/redshift/latest/dg/r_PG_PROC_INFO.html
    "pg_proc_info": ("SELECT proname, prokind FROM pg_catalog.pg_proc_info p JOIN pg_namespace n "
                     "ON n.oid = p.pronamespace WHERE n.nspname = '{s}'", [("touch", "p")]),
}


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("case", list(CATALOG_CASES))
def test_catalog_views(local_redshift: Any, catalog_schema: str, driver: str, case: str) -> None:
    sql, expected = CATALOG_CASES[case]
    rows, _ = query(local_redshift, driver, sql.format(s=catalog_schema))
    want = [tuple(v.format(s=catalog_schema) if isinstance(v, str) else v for v in row) for row in expected]
    assert [tuple(int(v) if isinstance(v, Decimal) else v for v in r) for r in rows] == want


def test_svv_table_info_is_readable_by_name_as_dbt_checks_it(local_redshift: Any) -> None:
    # dbt-redshift asks has_table_privilege(current_user, 'svv_table_info', 'SELECT') before its catalog
    rows, _ = query(local_redshift, "redshift_connector",
                    "SELECT has_table_privilege(current_user, 'svv_table_info', 'SELECT')")
    assert rows == [(True,)]


# -- redshift_connector's metadata API --------------------------------------------------------------

def test_redshift_connector_metadata_calls(local_redshift: Any, catalog_schema: str) -> None:
    s = catalog_schema
    with closing(connect(local_redshift, "redshift_connector")) as conn:
        cur = conn.cursor()
        schemas = [tuple(r) for r in cur.get_schemas(schema_pattern=s)]
        assert schemas == [(s, "dev")]
        tables = {(r[1], r[2], r[3]) for r in cur.get_tables(schema_pattern=s)}
        assert {(s, "games", "TABLE"), (s, "titles", "VIEW")} <= tables
        everywhere = {(r[1], r[2]) for r in cur.get_tables()}  # no schema: the svv_tables query
        assert (s, "games") in everywhere
        columns = [(r[2], r[3], r[5]) for r in cur.get_columns(schema_pattern=s, tablename_pattern="games")]
        assert columns == [("games", "id", "int4"), ("games", "title", "varchar"), ("games", "doc", "super")]
        lbv = [(r[2], r[3]) for r in cur.get_columns(schema_pattern=s, tablename_pattern="titles")]
        assert ("titles", "title") in lbv
        keys = [(r[2], r[3]) for r in cur.get_primary_keys(schema=s, table="games")]
        assert keys == [("games", "id")]
        procedures = [r[2] for r in cur.get_procedures(schema_pattern=s)]
        assert procedures == ["touch"]


# -- late-binding views --------------------------------------------------------------------------------

@pytest.mark.parametrize("driver", DRIVERS)
def test_late_binding_view_does_not_block_varchar_widening(local_redshift: Any, driver: str) -> None:
    # a late-binding view does not check the underlying table's columns, so they can change
    # https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_VIEW.html
    s = f"lbv_{driver}"
    with closing(connect(local_redshift, driver)) as conn:
        cur = conn.cursor()
        cur.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        cur.execute(f"CREATE SCHEMA {s}")
        cur.execute(f"CREATE TABLE {s}.t (name VARCHAR(4))")
        cur.execute(f"INSERT INTO {s}.t VALUES ('abcd')")
        cur.execute(f"CREATE VIEW {s}.v AS SELECT name FROM {s}.t WITH NO SCHEMA BINDING")
        cur.execute(f"ALTER TABLE {s}.t ALTER COLUMN name TYPE VARCHAR(12)")
        cur.execute(f"INSERT INTO {s}.t VALUES ('abcdefghijkl')")
        cur.execute(f"SELECT name FROM {s}.v ORDER BY name")
        assert [tuple(r) for r in cur.fetchall()] == [("abcd",), ("abcdefghijkl",)]
        cur.execute(f"SELECT col_type FROM pg_get_late_binding_view_cols() c(vs name, vn name, cn name, "
                    f"col_type varchar, n int) WHERE vs = '{s}'")
        assert [tuple(r) for r in cur.fetchall()] == [("character varying(12)",)]


def test_a_bound_view_still_blocks_widening_as_on_redshift(local_redshift: Any) -> None:
    with closing(connect(local_redshift, "psycopg2")) as conn, conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS bound_view CASCADE")
        cur.execute("CREATE SCHEMA bound_view")
        cur.execute("CREATE TABLE bound_view.t (name VARCHAR(4))")
        cur.execute("CREATE VIEW bound_view.v AS SELECT name FROM bound_view.t")
        with pytest.raises(psycopg2.Error, match="view"):
            cur.execute("ALTER TABLE bound_view.t ALTER COLUMN name TYPE VARCHAR(12)")


# -- the statement log -----------------------------------------------------------------------------------

def _log_entries(info: Any, marker: str) -> list[dict[str, Any]]:
    with open(info.statement_log, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if marker in line]


@pytest.mark.parametrize("driver", DRIVERS)
def test_statement_log_shows_each_statements_outcome(local_redshift: Any, driver: str) -> None:
    marker = f"outcome_marker_{driver}"
    with closing(connect(local_redshift, driver)) as conn:
        cur = conn.cursor()
        cur.execute(f"SELECT 1 AS {marker}")
        with pytest.raises(Exception, match="does not exist"):
            cur.execute(f"SELECT * FROM no_such_table_{marker}")
    ok, refused = _log_entries(local_redshift, marker)
    assert ok["outcome"] == "ok" and ok["tag"] == "SELECT 1"
    assert refused["outcome"] == "error" and refused["code"] == "42P01"
    assert f'relation "no_such_table_{marker}" does not exist' in refused["message"]


def test_statement_log_marks_statements_a_failure_skipped(local_redshift: Any) -> None:
    marker = "skipped_marker"
    with closing(connect(local_redshift, "psycopg2")) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.Error):
            cur.execute(f"SELECT 1 AS {marker}_a; SELECT 1/0 AS {marker}_b; SELECT 3 AS {marker}_c")
    entries = {e["sql"].split(" AS ")[1]: e for e in _log_entries(local_redshift, marker)}
    assert entries[f"{marker}_a"]["outcome"] == "ok"
    assert entries[f"{marker}_b"]["outcome"] == "error" and entries[f"{marker}_b"]["code"] == "22012"
    assert entries[f"{marker}_c"]["outcome"] == "not run"


# -- identifiers ---------------------------------------------------------------------------------------

LONG_COLUMN = "c" + "é" * 49 + "x"  # 100 bytes of UTF-8
LONG_TABLE = "t" * 127


@pytest.mark.parametrize("driver", DRIVERS)
def test_identifiers_up_to_127_bytes_load_and_read_back(local_redshift: Any, driver: str) -> None:
    # identifiers may be up to 127 bytes long (UTF-8)
    # https://docs.aws.amazon.com/redshift/latest/dg/r_names.html
    assert len(LONG_COLUMN.encode()) == 100
    s = f"long_{driver}"
    with closing(connect(local_redshift, driver)) as conn:
        cur = conn.cursor()
        cur.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        cur.execute(f"CREATE SCHEMA {s}")
        cur.execute(f'CREATE TABLE {s}.{LONG_TABLE} ("{LONG_COLUMN}" VARCHAR(10), other INT)')
        cur.execute(f'INSERT INTO {s}.{LONG_TABLE} ("{LONG_COLUMN}", other) VALUES (\'v\', 1)')
        cur.execute(f'SELECT "{LONG_COLUMN}", other FROM {s}.{LONG_TABLE}')
        assert [d[0] for d in cur.description] == [LONG_COLUMN, "other"]
        assert [tuple(r) for r in cur.fetchall()] == [("v", 1)]
        cur.execute(f"SELECT table_name, column_name FROM information_schema.columns "
                    f"WHERE table_schema = '{s}' AND table_name = '{LONG_TABLE}' ORDER BY ordinal_position")
        assert [tuple(r) for r in cur.fetchall()] == [(LONG_TABLE, LONG_COLUMN), (LONG_TABLE, "other")]
        cur.execute(f"SELECT table_name FROM svv_tables WHERE table_schema = '{s}'")
        assert [tuple(r) for r in cur.fetchall()] == [(LONG_TABLE,)]
        with pytest.raises(Exception) as err:
            cur.execute(f"SELECT nope FROM {s}.{LONG_TABLE}")
        assert "stand" not in str(err.value)


def test_identifiers_over_127_bytes_are_refused(local_redshift: Any) -> None:
    with closing(connect(local_redshift, "psycopg2")) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.Error) as err:
            cur.execute(f"CREATE TABLE public.{'y' * 128} (a INT)")
        assert err.value.pgcode == "42622" and "127 bytes" in str(err.value)


@pytest.mark.parametrize("driver", DRIVERS)
def test_quoted_identifiers_fold_to_lower_case_unless_case_sensitive(local_redshift: Any, driver: str) -> None:
    # enable_case_sensitive_identifier off (the default): even "quoted" names lose their case;
    # on: quoted names keep it
    # https://docs.aws.amazon.com/redshift/latest/dg/r_enable_case_sensitive_identifier.html
    s = f"case_{driver}"
    with closing(connect(local_redshift, driver)) as conn:
        cur = conn.cursor()
        cur.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        cur.execute(f"CREATE SCHEMA {s}")
        cur.execute(f'CREATE TABLE {s}."MixedCasedTable2" ("MixedCasedColumn" INT)')
        with pytest.raises(Exception, match="already exists"):
            cur.execute(f"CREATE TABLE {s}.MixedCasedTable2 (MixedCasedColumn INT)")
        cur.execute(f'SELECT "MixedCasedColumn" FROM {s}."MixedCasedTable2"')
        assert [d[0] for d in cur.description] == ["mixedcasedcolumn"]
        cur.execute("SET enable_case_sensitive_identifier TO true")
        cur.execute(f'CREATE TABLE {s}."MixedCasedTable" ("MixedCasedColumn" INT)')
        cur.execute(f"CREATE TABLE {s}.MixedCasedTable (MixedCasedColumn INT)")  # another table
        cur.execute(f'INSERT INTO {s}."MixedCasedTable" ("MixedCasedColumn") VALUES (1)')
        cur.execute(f'SELECT "MixedCasedColumn" FROM {s}."MixedCasedTable"')
        assert [d[0] for d in cur.description] == ["MixedCasedColumn"]
        assert [tuple(r) for r in cur.fetchall()] == [(1,)]
        cur.execute("RESET enable_case_sensitive_identifier")
        cur.execute(f"SELECT table_name FROM svv_tables WHERE table_schema = '{s}' ORDER BY 1")
        assert [r[0] for r in cur.fetchall()] == ["MixedCasedTable", "mixedcasedtable", "mixedcasedtable2"]


def test_a_pipeline_loads_and_reads_back_a_127_byte_table_with_a_100_byte_column(redshift_db: Any) -> None:
    import shipload

    table, column = "t" * 127, "c" * 100
    p = shipload.pipeline("long_names", destination="redshift", dataset_name="long_names")
    p.run([{column: "v", "n": 1}, {column: "w", "n": 2}], table_name=table)
    p.run([{column: "x", "n": 3}], table_name=table)  # the second load finds the table by its name
    rows = p.dataset().rows(table, [column, "n"], order_by=["n"])
    assert [(r[column], r["n"]) for r in rows] == [("v", 1), ("w", 2), ("x", 3)]
