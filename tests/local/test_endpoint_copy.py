"""The local endpoint's COPY follows Redshift where the staged path touches it: MANIFEST, REGION,
SERIALIZETOJSON, pg_last_copy_count(), stv_slices, stl_load_errors; and its bulk path keeps every
value and every check. Through unmodified psycopg2 / redshift_connector, files uploaded with boto3."""

from __future__ import annotations

import gzip
import io
import json
from contextlib import closing
from decimal import Decimal
from typing import Any

import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redshift_connector


def pg(info: Any, autocommit: bool = True) -> Any:
    conn = psycopg2.connect(host=info.redshift_host, port=info.redshift_port, user=info.username,
                            password=info.password, dbname=info.database)
    conn.autocommit = autocommit
    return conn


def rc(info: Any) -> Any:
    conn = redshift_connector.connect(host=info.redshift_host, port=info.redshift_port, user=info.username,
                                      password=info.password, database=info.database, ssl=False)
    conn.autocommit = True
    return conn


def s3(info: Any) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=info.s3_endpoint, aws_access_key_id=info.access_key_id,
                        aws_secret_access_key=info.secret_access_key, region_name="us-east-1")


def creds(info: Any) -> str:
    return f"CREDENTIALS 'aws_access_key_id={info.access_key_id};aws_secret_access_key={info.secret_access_key}'"


def put(info: Any, key: str, body: bytes, bucket: str | None = None) -> str:
    s3(info).put_object(Bucket=bucket or info.bucket, Key=key, Body=body)
    return f"s3://{bucket or info.bucket}/{key}"


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def jsonl_gz(docs: list[dict]) -> bytes:
    return gzip.compress(b"".join(json.dumps(d).encode() + b"\n" for d in docs))


@pytest.fixture
def schema(local_redshift: Any, request: pytest.FixtureRequest) -> str:
    name = "c_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:50]
    with closing(pg(local_redshift)) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        cur.execute(f"CREATE SCHEMA {name}")
    return name


def fails(cur: Any, sql: str) -> str:
    with pytest.raises(Exception) as err:
        cur.execute(sql)
    return str(err.value)


# -- MANIFEST ----------------------------------------------------------------------------------------
# AWS: "Using a manifest to specify data files" (docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html)

def test_manifest_mandatory_flags_and_no_file_at_all(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    a = put(info, f"{schema}/a.jsonl.gz", jsonl_gz([{"id": 1}, {"id": 2}]))
    missing = f"s3://{info.bucket}/{schema}/missing.jsonl.gz"

    def manifest(name: str, entries: list[dict]) -> str:
        return put(info, f"{schema}/{name}.manifest", json.dumps({"entries": entries}).encode())

    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT)")
        copy = f"COPY {schema}.t FROM '{{}}' {creds(info)} JSON 'auto' GZIP MANIFEST"
        # a missing file marked mandatory fails the COPY, naming the file
        m = manifest("mandatory", [{"url": a, "mandatory": True}, {"url": missing, "mandatory": True}])
        assert f"missing a mandatory file: {missing}" in fails(cur, copy.format(m))
        # mandatory defaults to false: a missing optional file is skipped
        m = manifest("optional", [{"url": a, "mandatory": True}, {"url": missing}])
        cur.execute(copy.format(m))
        assert cur.rowcount == 2
        # whatever the flags, COPY fails when no file at all is found
        m = manifest("none", [{"url": missing, "mandatory": False}])
        assert "lists no file that exists" in fails(cur, copy.format(m))
        cur.execute(f"SELECT id FROM {schema}.t ORDER BY id")
        assert cur.fetchall() == [(1,), (2,)]


def test_parquet_manifest_entries_need_content_length(local_redshift: Any, schema: str) -> None:
    # AWS: same page, "Using a manifest created by UNLOAD": meta.content_length is the file's size in bytes;
    # Redshift refuses a PARQUET manifest entry without it ("File entry does not have 'meta' key")
    info = local_redshift
    body = parquet_bytes(pa.table({"id": pa.array([1, 2, 3], pa.int64())}))
    url = put(info, f"{schema}/p.parquet", body)
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT)")
        for name, entry, expected in [
            ("nometa", {"url": url, "mandatory": True}, "File entry does not have 'meta' key"),
            ("wrong", {"url": url, "mandatory": True, "meta": {"content_length": 7}}, "InvalidRange"),
        ]:
            m = put(info, f"{schema}/{name}.manifest", json.dumps({"entries": [entry]}).encode())
            assert expected in fails(cur, f"COPY {schema}.t FROM '{m}' {creds(info)} FORMAT AS PARQUET MANIFEST")
        entry = {"url": url, "mandatory": True, "meta": {"content_length": len(body)}}
        m = put(info, f"{schema}/ok.manifest", json.dumps({"entries": [entry]}).encode())
        cur.execute(f"COPY {schema}.t FROM '{m}' {creds(info)} FORMAT AS PARQUET MANIFEST")
        cur.execute(f"SELECT sum(id), count(*) FROM {schema}.t")
        assert cur.fetchone() == (6, 3)


# -- REGION ------------------------------------------------------------------------------------------
# AWS: "COPY from columnar data formats" (docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-columnar.html):
# the bucket must be in the cluster's region, and REGION is not supported for PARQUET;
# "Load fails" (queries-troubleshooting-load-fails.html): other sources need REGION, else "must be addressed
# using the specified endpoint"

def test_region_jsonl_across_regions_needs_region_and_parquet_cannot_cross(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    assert info.other_region != info.region
    far_json = put(info, f"{schema}/far.jsonl.gz", jsonl_gz([{"id": 1}]), bucket=info.other_region_bucket)
    far_pq = put(info, f"{schema}/far.parquet", parquet_bytes(pa.table({"id": [1]})), bucket=info.other_region_bucket)
    near_pq = put(info, f"{schema}/near.parquet", parquet_bytes(pa.table({"id": [2]})))
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT)")
        msg = fails(cur, f"COPY {schema}.t FROM '{far_json}' {creds(info)} JSON 'auto' GZIP")
        assert "must be addressed using the specified endpoint" in msg and f"REGION '{info.other_region}'" in msg
        assert "PermanentRedirect" in fails(
            cur, f"COPY {schema}.t FROM '{far_json}' {creds(info)} JSON 'auto' GZIP REGION '{info.region}'")
        cur.execute(f"COPY {schema}.t FROM '{far_json}' {creds(info)} JSON 'auto' GZIP REGION '{info.other_region}'")
        assert cur.rowcount == 1
        msg = fails(cur, f"COPY {schema}.t FROM '{far_pq}' {creds(info)} FORMAT AS PARQUET")
        assert "PARQUET cannot be loaded across regions" in msg
        assert "REGION argument is not supported for PARQUET based COPY" in fails(
            cur, f"COPY {schema}.t FROM '{near_pq}' {creds(info)} FORMAT AS PARQUET REGION '{info.region}'")
        cur.execute(f"COPY {schema}.t FROM '{near_pq}' {creds(info)} FORMAT AS PARQUET")
        cur.execute(f"SELECT id FROM {schema}.t ORDER BY id")
        assert cur.fetchall() == [(1,), (2,)]


# -- SERIALIZETOJSON ---------------------------------------------------------------------------------
# AWS: "Using COPY to load data into SUPER columns", section "Copying data from columnar-format Parquet and
# ORC" (docs.aws.amazon.com/redshift/latest/dg/copy_json.html): with SERIALIZETOJSON nested (struct,
# list) columns load into SUPER; a string column lands as a SUPER string scalar unless it carries the
# parquet JSON logical type

def _super_file() -> pa.Table:
    return pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "obj": pa.array([{"a": 1, "b": "x"}, None], pa.struct([("a", pa.int64()), ("b", pa.string())])),
        "arr": pa.array([[1, 2], []], pa.list_(pa.int64())),
        "js": pa.array(['{"k": [1, "é"]}', "[true]"], pa.json_()),
        "txt": pa.array(['{"k": 1}', "plain"], pa.string()),
        "num": pa.array([1.5, None], pa.float64()),
    })


def test_serializetojson_nested_parquet_into_super(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    url = put(info, f"{schema}/s/a.parquet", parquet_bytes(_super_file()))
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT, obj SUPER, arr SUPER, js SUPER, txt SUPER, num SUPER)")
        cur.execute(f"COPY {schema}.t FROM '{url}' {creds(info)} FORMAT AS PARQUET SERIALIZETOJSON")
        assert cur.rowcount == 2
        cur.execute(f"SELECT obj, arr, js, txt, num FROM {schema}.t ORDER BY id")
        rows = cur.fetchall()  # SUPER arrives as Redshift's JSON text
        assert rows[0][:2] == ('{"a":1,"b":"x"}', "[1,2]")
        assert [tuple(None if v is None else json.loads(v) for v in row) for row in rows] == [
            ({"a": 1, "b": "x"}, [1, 2], {"k": [1, "é"]}, '{"k": 1}', 1.5),  # txt: a string scalar, not an object
            (None, [], [True], "plain", None),
        ]
        # without SERIALIZETOJSON nested data does not load into SUPER, and nothing is loaded
        msg = fails(cur, f"COPY {schema}.t FROM '{url}' {creds(info)} FORMAT AS PARQUET")
        assert "SERIALIZETOJSON" in msg and "column obj" in msg
        cur.execute(f"SELECT count(*) FROM {schema}.t")
        assert cur.fetchone() == (2,)


def test_parquet_json_string_without_serializetojson_is_a_string_scalar(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    table = pa.table({"js": pa.array(['{"k": 1}'], pa.json_()), "txt": pa.array(['{"k": 2}'])})
    url = put(info, f"{schema}/a.parquet", parquet_bytes(table))
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (js SUPER, txt SUPER)")
        cur.execute(f"COPY {schema}.t FROM '{url}' {creds(info)} FORMAT AS PARQUET")
        cur.execute(f"SELECT js, txt FROM {schema}.t")
        assert [json.loads(v) for v in cur.fetchone()] == ['{"k": 1}', '{"k": 2}']  # string scalars in SUPER


# -- pg_last_copy_count() ----------------------------------------------------------------------------
# AWS: "PG_LAST_COPY_COUNT" (docs.aws.amazon.com/redshift/latest/dg/PG_LAST_COPY_COUNT.html): rows loaded by the
# last COPY of the current session; 0 when none ran or the last failed while loading; unchanged after a
# COPY refused for syntax or privileges

@pytest.mark.parametrize("driver", ["psycopg2", "redshift_connector"])
def test_pg_last_copy_count_per_session(local_redshift: Any, schema: str, driver: str) -> None:
    info = local_redshift
    good = put(info, f"{schema}/good/a.jsonl.gz", jsonl_gz([{"id": i} for i in range(7)]))
    bad = put(info, f"{schema}/bad/a.jsonl.gz", jsonl_gz([{"id": 1}, {"id": "x"}]))
    conn, other = (pg(info), pg(info)) if driver == "psycopg2" else (rc(info), rc(info))
    try:
        cur, other_cur = conn.cursor(), other.cursor()

        def count(c: Any = cur) -> int:
            c.execute("SELECT pg_last_copy_count()")
            return c.fetchone()[0]

        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT)")
        assert count() == 0  # no COPY in this session yet
        cur.execute(f"COPY {schema}.t FROM '{good}' {creds(info)} JSON 'auto' GZIP")
        assert count() == 7
        assert count(other_cur) == 0  # per session
        wrong = f"CREDENTIALS 'aws_access_key_id={info.access_key_id};aws_secret_access_key=wrong'"
        assert "SignatureDoesNotMatch" in fails(cur, f"COPY {schema}.t FROM '{good}' {wrong} JSON 'auto' GZIP")
        assert count() == 7  # refused for privileges: the previous count stays
        assert "stl_load_errors" in fails(cur, f"COPY {schema}.t FROM '{bad}' {creds(info)} JSON 'auto' GZIP")
        assert count() == 0  # failed while loading
        cur.execute(f"COPY {schema}.t FROM '{good}' {creds(info)} JSON 'auto' GZIP")
        assert count() == 7
    finally:
        conn.close()
        other.close()


# -- stv_slices ----------------------------------------------------------------------------------------
# AWS: "STV_SLICES" (docs.aws.amazon.com/redshift/latest/dg/r_STV_SLICES.html): one row per slice

def test_stv_slices_counts_the_configured_slices(local_redshift: Any) -> None:
    with closing(rc(local_redshift)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM stv_slices")
        assert cur.fetchone()[0] == local_redshift.slices == 2
        cur.execute("SELECT slice, node FROM stv_slices ORDER BY slice")
        assert [tuple(r) for r in cur.fetchall()] == [(0, 0), (1, 0)]
        # the count comes from the rs_compat.slices setting (`up` sets it for the user from SHIPLOAD_LOCAL_SLICES)
        cur.execute("SET rs_compat.slices = '4'")
        cur.execute("SELECT COUNT(*), max(node) FROM stv_slices")
        assert tuple(cur.fetchone()) == (4, 1)


# -- stl_load_errors -------------------------------------------------------------------------------------
# AWS: "STL_LOAD_ERRORS" (docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_ERRORS.html) and "Load error reference"
# (r_Load_Error_Reference.html): filename is the full path, line_number, colname, type, err_code
# (1204: string longer than the DDL length), err_reason

def test_stl_load_errors_name_file_line_and_column(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    ok = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["ab", "cd"]})
    bad = pa.table({"id": pa.array([3, 4, 5], pa.int64()), "name": ["ef", "gh", "ééé"]})  # 6 bytes > VARCHAR(5)
    put(info, f"{schema}/p/0.parquet", parquet_bytes(ok))
    put(info, f"{schema}/p/1.parquet", parquet_bytes(bad))
    conn = rc(info)
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT, name VARCHAR(5))")
        # MAXERROR is not applied to PARQUET ("COPY from columnar data formats"): the bad row fails the COPY
        msg = fails(cur, f"COPY {schema}.t FROM 's3://{info.bucket}/{schema}/p/' {creds(info)} FORMAT AS PARQUET "
                         "MAXERROR 5")
        assert "Load into table 't' failed" in msg and f"{schema}/p/1.parquet, line 3, column name" in msg
        cur.execute("SELECT filename, line_number, colname, type, col_length, err_code, err_reason, raw_field_value "
                    "FROM stl_load_errors WHERE filename LIKE %s ORDER BY starttime DESC",
                    (f"%{schema}/p/%",))
        rows = [tuple(r) for r in cur.fetchall()]
        assert rows == [(f"s3://{info.bucket}/{schema}/p/1.parquet", 3, "name", "varchar", "5", 1204,
                         "String length exceeds DDL length", "ééé")]
        cur.execute(f"SELECT count(*) FROM {schema}.t")
        assert cur.fetchone()[0] == 0
        # the fix: a wider column, and the rerun loads every row once
        cur.execute(f"ALTER TABLE {schema}.t ALTER COLUMN name TYPE VARCHAR(6)")
        cur.execute(f"COPY {schema}.t FROM 's3://{info.bucket}/{schema}/p/' {creds(info)} FORMAT AS PARQUET")
        cur.execute(f"SELECT id, name FROM {schema}.t ORDER BY id")
        assert [tuple(r) for r in cur.fetchall()] == [(1, "ab"), (2, "cd"), (3, "ef"), (4, "gh"), (5, "ééé")]
    finally:
        conn.close()


# -- the bulk path keeps every value -------------------------------------------------------------------
# AWS: "COPY from columnar data formats": columns by position; values as in the file

def test_bulk_parquet_keeps_values_and_types(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    names = ["plain", "", None, "quote \" and ' and \\ backslash", "new\nline, comma", "\\.", "ünï €"]
    n = len(names)
    table = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "name": pa.array(names, pa.string()),
        "amount": pa.array([Decimal("12.500000001"), None, Decimal("-1"), Decimal("0"), Decimal("1e-9"),
                            Decimal("99999999999999999999999999999.123456789"), Decimal("3")], pa.decimal128(38, 9)),
        "ratio": pa.array([0.1, None, 1e300, -0.0, 2.5, 1 / 3, 7.0], pa.float64()),
        "flag": pa.array([True, False, None, True, False, True, False]),
        "at": pa.array([1_700_000_000_123_456, None, 0, 1, 2, 3, 4], pa.timestamp("us", tz="UTC")),
        "day": pa.array([19000, None, 0, 1, 2, 3, 4], pa.date32()),
        "raw": pa.array([b"\x00\xff", None, b"", b"a", b"\\", b"x", b"y"], pa.binary()),
        "small": pa.array([1, None, -32768, 32767, 0, 2, 3], pa.int16()),
    })
    url = put(info, f"{schema}/types.parquet", parquet_bytes(table))
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT, name VARCHAR(100), amount NUMERIC(38,9), "
                    "ratio DOUBLE PRECISION, flag BOOLEAN, at TIMESTAMPTZ, day DATE, raw VARBYTE, small SMALLINT)")
        cur.execute(f"COPY {schema}.t FROM '{url}' {creds(info)} FORMAT AS PARQUET")
        assert cur.rowcount == n
        cur.execute(f"SELECT id, name, amount, ratio, flag, at, day, raw, small FROM {schema}.t ORDER BY id")
        got = cur.fetchall()
    expected = table.to_pylist()
    for row, want in zip(got, expected, strict=True):
        assert row[1] == want["name"]  # '' stays '', NULL stays NULL
        assert row[2] == want["amount"] and row[3] == want["ratio"] and row[4] == want["flag"]
        assert row[5] == want["at"] and row[6] == want["day"] and row[8] == want["small"]
        assert (None if row[7] is None else bytes(row[7])) == want["raw"]


def test_bulk_path_enforces_byte_length_in_transaction(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    url = put(info, f"{schema}/a.parquet", parquet_bytes(pa.table({"name": ["ok", "ééé"]})))
    conn = pg(info, autocommit=False)
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (name VARCHAR(5))")
        cur.execute(f"INSERT INTO {schema}.t VALUES ('kept')")
        conn.commit()
        cur.execute(f"INSERT INTO {schema}.t VALUES ('gone')")
        assert "String length exceeds DDL length" in fails(
            cur, f"COPY {schema}.t FROM '{url}' {creds(info)} FORMAT AS PARQUET")
        conn.rollback()
        cur.execute(f"SELECT name FROM {schema}.t")
        assert cur.fetchall() == [("kept",)]
    conn.close()


def test_redshift_connector_cached_copy_reads_the_bucket_again(local_redshift: Any, schema: str) -> None:
    # redshift_connector prepares a statement once and binds it again: each COPY must read the files anew
    info = local_redshift
    url = put(info, f"{schema}/a.jsonl.gz", jsonl_gz([{"id": 1}]))
    conn = rc(info)
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT)")
        copy = f"COPY {schema}.t FROM '{url}' {creds(info)} JSON 'auto' GZIP"
        cur.execute(copy)
        put(info, f"{schema}/a.jsonl.gz", jsonl_gz([{"id": 2}, {"id": 3}]))
        cur.execute(copy)
        cur.execute("SELECT pg_last_copy_count()")
        assert cur.fetchone()[0] == 2
        cur.execute(f"SELECT id FROM {schema}.t ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == [1, 2, 3]
    finally:
        conn.close()


def test_timestamps_without_zone_are_utc_whatever_the_session_timezone(local_redshift: Any, schema: str) -> None:
    # AWS: "COPY from columnar data formats" / TIMEFORMAT 'auto': Redshift stores timestamps as UTC
    info = local_redshift
    table = pa.table({"at": pa.array([0], pa.timestamp("us"))})  # 1970-01-01 00:00:00, no zone
    url = put(info, f"{schema}/a.parquet", parquet_bytes(table))
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute("SET TimeZone = 'America/New_York'")
        cur.execute(f"CREATE TABLE {schema}.t (at TIMESTAMPTZ)")
        cur.execute(f"COPY {schema}.t FROM '{url}' {creds(info)} FORMAT AS PARQUET")
        cur.execute(f"SELECT extract(epoch FROM at) FROM {schema}.t")
        assert cur.fetchone()[0] == 0


def test_maxerror_skips_each_bad_row_and_reports_it(local_redshift: Any, schema: str) -> None:
    # AWS: COPY "MAXERROR" (copy-parameters-data-load.html) and "STL_LOAD_ERRORS": up to MAXERROR bad rows
    # are skipped, each with a row in stl_load_errors; one more fails the COPY
    info = local_redshift
    docs = [{"id": i, "name": "x" * (9 if i == 20 else 3)} for i in range(1, 51)]
    docs[2]["id"] = "three"
    docs[48]["id"] = None  # NOT NULL
    url = put(info, f"{schema}/m.jsonl.gz", jsonl_gz(docs))
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT NOT NULL, name VARCHAR(5))")
        assert "stl_load_errors" in fails(cur, f"COPY {schema}.t FROM '{url}' {creds(info)} JSON 'auto' GZIP MAXERROR 2")
        cur.execute(f"COPY {schema}.t FROM '{url}' {creds(info)} JSON 'auto' GZIP MAXERROR 3")
        assert cur.rowcount == 47
        cur.execute("SELECT line_number, colname, err_code FROM stl_load_errors WHERE filename = %s "
                    "ORDER BY starttime DESC, line_number LIMIT 3", (url,))
        assert sorted(cur.fetchall()) == [(3, "id", 1207), (20, "name", 1204), (49, "id", 1213)]
        cur.execute(f"SELECT count(*), min(id), max(id) FROM {schema}.t")
        assert cur.fetchone() == (47, 1, 50)


@pytest.mark.parametrize("option", ["auto", "auto ignorecase"], ids=["auto", "ignorecase"])
def test_bulk_json_keeps_values(local_redshift: Any, schema: str, option: str) -> None:
    # AWS: "COPY from JSON format" (copy-usage_notes-copy-from-json.html): 'auto' maps keys to column names,
    # 'auto ignorecase' ignores their case; a missing key loads NULL; a number into VARCHAR keeps its text
    info = local_redshift
    docs = [
        {"id": 1, "name": "quote \" ' \\ é", "ratio": 0.1, "flag": True, "at": "2024-01-02T03:04:05.123456+00:00",
         "amount": "12.500000001", "doc": 5},
        {"id": 2, "name": "", "ratio": 2, "flag": False, "at": "2024-01-02", "amount": "-1", "doc": None},
        {"id": 3, "name": None, "at": None},
    ]
    labels = [{"id": 1, "label": 1.0}, {"id": 2, "label": 2.5}, {"id": 3, "label": "x"}]
    if option == "auto ignorecase":
        docs = [{k.upper(): v for k, v in d.items()} for d in docs]
    url = put(info, f"{schema}/j.jsonl.gz", jsonl_gz(docs))
    labels_url = put(info, f"{schema}/l.jsonl.gz", jsonl_gz(labels))
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT, name VARCHAR(30), ratio DOUBLE PRECISION, flag BOOLEAN, "
                    "at TIMESTAMPTZ, amount NUMERIC(38,9), doc SUPER)")
        cur.execute(f"COPY {schema}.t FROM '{url}' {creds(info)} JSON '{option}' GZIP")
        assert cur.rowcount == 3
        cur.execute(f"SELECT id, name, ratio, flag, extract(epoch FROM at), amount, doc FROM {schema}.t ORDER BY id")
        assert cur.fetchall() == [  # SUPER arrives as Redshift's JSON text
            (1, "quote \" ' \\ é", 0.1, True, Decimal("1704164645.123456"), Decimal("12.500000001"), "5"),
            (2, "", 2.0, False, Decimal("1704153600"), Decimal("-1.000000000"), None),
            (3, None, None, None, None, None, None),
        ]
        cur.execute(f"CREATE TABLE {schema}.l (id BIGINT, label VARCHAR(10))")
        cur.execute(f"COPY {schema}.l FROM '{labels_url}' {creds(info)} JSON '{option}' GZIP")
        cur.execute(f"SELECT label FROM {schema}.l ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == ["1.0", "2.5", "x"]
