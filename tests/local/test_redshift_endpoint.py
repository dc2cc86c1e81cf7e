"""The local Redshift endpoint, through unmodified drivers: DDL and types, literals, Redshift
behaviour Postgres lacks, COPY from the S3 server with real credential checks, the statement log."""

from __future__ import annotations

import gzip
import io
import json
from contextlib import closing
from typing import Any

import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redshift_connector
import sqlglot


def pg(info: Any, autocommit: bool = True) -> Any:
    conn = psycopg2.connect(host=info.redshift_host, port=info.redshift_port, user=info.username,
                            password=info.password, dbname=info.database)
    conn.autocommit = autocommit
    return conn


def rc(info: Any) -> Any:
    return redshift_connector.connect(host=info.redshift_host, port=info.redshift_port, user=info.username,
                                      password=info.password, database=info.database, ssl=False)


def s3(info: Any, key: str | None = None, secret: str | None = None) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=info.s3_endpoint, aws_access_key_id=key or info.access_key_id,
                        aws_secret_access_key=secret or info.secret_access_key, region_name="us-east-1")


@pytest.fixture
def schema(local_redshift: Any, request: pytest.FixtureRequest) -> str:
    """A fresh schema per test (tests share the session's endpoint)."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:50]
    with closing(pg(local_redshift)) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        cur.execute(f"CREATE SCHEMA {name}")
    return name


DDL = (
    "CREATE TABLE {s}.games (id BIGINT IDENTITY(1,1) ENCODE az64, name VARCHAR(MAX) ENCODE zstd, doc SUPER, "
    "raw VARBYTE(64), rated BOOLEAN, at TIMESTAMPTZ, amount NUMERIC(38,9)) DISTKEY(id) COMPOUND SORTKEY(id, at) "
    "BACKUP NO"
)


def test_psycopg2_ddl_types_and_json_parse(local_redshift: Any, schema: str) -> None:
    with closing(pg(local_redshift)) as conn, conn.cursor() as cur:
        cur.execute(DDL.format(s=schema))
        cur.execute(
            f"INSERT INTO {schema}.games (name, doc, raw, rated, at, amount) VALUES "
            "('magnus', JSON_PARSE('{\"moves\": [\"e4\", 1, null], \"w\": {\"r\": 2850}}'), FROM_HEX('00ff10'), TRUE, "
            "'2024-01-02 03:04:05+00', 12.5)"
        )
        cur.execute(f"SELECT id, name, doc, raw, rated, at, amount FROM {schema}.games")
        (gid, name, doc, raw, rated, at, amount), = cur.fetchall()
    assert gid == 1 and name == "magnus" and rated is True
    assert json.loads(doc) == {"moves": ["e4", 1, None], "w": {"r": 2850}}  # SUPER arrives as JSON text
    assert bytes(raw) == b"\x00\xff\x10"
    assert at.isoformat() == "2024-01-02T03:04:05+00:00" and str(amount) == "12.500000000"


def test_redshift_connector_connects_and_round_trips(local_redshift: Any, schema: str) -> None:
    conn = rc(local_redshift)
    try:
        cur = conn.cursor()
        cur.execute(DDL.format(s=schema))
        cur.execute(f"INSERT INTO {schema}.games (name, doc, rated) VALUES (%s, JSON_PARSE(%s), %s)",
                    ("it's \\ fine", json.dumps({"a": [1, 2]}), False))
        conn.commit()
        cur.execute(f"SELECT name, doc, rated FROM {schema}.games")
        name, doc, rated = cur.fetchall()[0]
        assert name == "it's \\ fine" and rated is False
        assert doc == '{"a":[1,2]}'  # SUPER comes back as compact JSON text, as from Redshift
        tables = [tuple(t[1:4]) for t in conn.cursor().get_tables(schema_pattern=schema, table_name_pattern="games")]
        assert tables == [(schema, "games", "TABLE")]
    finally:
        conn.close()


def test_redshift_literal_escapes_and_custom_search_path(local_redshift: Any, schema: str) -> None:
    with closing(pg(local_redshift)) as conn, conn.cursor() as cur:
        cur.execute("SELECT 'a\\\\b', 'it''s', 'tab\\there', length('a\\\\b')")
        assert cur.fetchone() == ("a\\b", "it's", "tab\there", 3)
        cur.execute(f"SET search_path TO {schema}")  # the compat schema is not on it
        cur.execute("CREATE TABLE docs (d SUPER, v VARBYTE)")
        cur.execute("INSERT INTO docs VALUES (JSON_PARSE('[1]'), TO_VARBYTE('ab', 'utf8'))")
        cur.execute("SELECT d, v, NVL(NULL, 'x'), LEN('abc'), GETDATE() IS NOT NULL, SYSDATE IS NOT NULL FROM docs")
        d, v, nvl, length, has_date, has_sysdate = cur.fetchone()
    assert d == "[1]" and bytes(v) == b"ab" and nvl == "x" and length == 3 and has_date and has_sysdate


@pytest.mark.parametrize("driver", ["psycopg2", "redshift_connector"])
def test_truncate_commits_the_open_transaction(local_redshift: Any, schema: str, driver: str) -> None:
    with closing(pg(local_redshift)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (id INT)")
        cur.execute(f"INSERT INTO {schema}.t VALUES (1), (2)")
    conn = pg(local_redshift, autocommit=False) if driver == "psycopg2" else rc(local_redshift)
    try:
        cur = conn.cursor()
        cur.execute(f"INSERT INTO {schema}.t VALUES (3)")
        cur.execute(f"TRUNCATE {schema}.t")
        cur.execute(f"INSERT INTO {schema}.t VALUES (4)")
        conn.rollback()
        cur.execute(f"SELECT count(*) FROM {schema}.t")
        assert cur.fetchone()[0] == 0  # Redshift: the TRUNCATE committed; the insert after it rolled back
        conn.rollback()
    finally:
        conn.close()


def test_redshift_refusals(local_redshift: Any, schema: str) -> None:
    with closing(pg(local_redshift)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (a VARCHAR(5))")
        cases = {
            f"ALTER TABLE {schema}.t ADD COLUMN b INT, ADD COLUMN c INT": ("0A000", "one action"),
            f"CREATE TABLE {schema}.{'y' * 128} (a INT)": ("42622", "127 bytes"),
            f"CREATE TABLE {schema}.big (a VARCHAR(65536))": ("22023", "65535"),
            f"CREATE TABLE {schema}.num (a NUMERIC(39, 2))": ("22023", "38"),
            f"INSERT INTO {schema}.t VALUES ('ééé')": ("22001", "character varying(5)"),  # 6 bytes > 5
        }
        for sql, (code, text) in cases.items():
            with pytest.raises(psycopg2.Error) as err:
                cur.execute(sql)
            assert err.value.pgcode == code, sql
            assert text in str(err.value), sql
        # the connection survives every refusal
        cur.execute(f"INSERT INTO {schema}.t VALUES ('abcde')")
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,))
        assert cur.fetchone()[0] == 1
        cur.execute(f"ALTER TABLE {schema}.t ADD COLUMN b INT")  # one column at a time is fine


def test_varchar_widening_moves_the_byte_limit(local_redshift: Any, schema: str) -> None:
    with closing(pg(local_redshift)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (a VARCHAR(4))")
        cur.execute(f"ALTER TABLE {schema}.t ALTER COLUMN a TYPE VARCHAR(8)")
        cur.execute(f"INSERT INTO {schema}.t VALUES ('éééé')")  # 8 bytes
        with pytest.raises(psycopg2.Error) as err:
            cur.execute(f"INSERT INTO {schema}.t VALUES ('ééééé')")
        assert err.value.pgcode == "22001" and "varying(8)" in str(err.value)


def test_alter_table_append(local_redshift: Any, schema: str) -> None:
    with closing(pg(local_redshift)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.target (a INT, b VARCHAR(10))")
        cur.execute(f"CREATE TABLE {schema}.src (b VARCHAR(10), a INT)")
        cur.execute(f"INSERT INTO {schema}.src VALUES ('x', 1), ('y', 2)")
        cur.execute(f"ALTER TABLE {schema}.target APPEND FROM {schema}.src")
        cur.execute(f"SELECT a, b FROM {schema}.target ORDER BY a")
        assert cur.fetchall() == [(1, "x"), (2, "y")]
        cur.execute(f"SELECT count(*) FROM {schema}.src")
        assert cur.fetchone() == (0,)
    conn = pg(local_redshift, autocommit=False)
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        with pytest.raises(psycopg2.Error) as err:
            cur.execute(f"ALTER TABLE {schema}.target APPEND FROM {schema}.src")
        assert err.value.pgcode == "25001"
    conn.close()


# -- COPY ------------------------------------------------------------------------------------------

def _put_parquet(info: Any, prefix: str, parts: int = 2) -> int:
    client = s3(info)
    rows = 0
    for n in range(parts):
        table = pa.table({
            "id": pa.array(range(n * 100, n * 100 + 100), pa.int64()),
            "name": [f"n{i}\\'\"" for i in range(100)],
            "at": pa.array([1_700_000_000_000_000 + i for i in range(100)], pa.timestamp("us", tz="UTC")),
            "raw": [bytes([i % 256]) for i in range(100)],
        })
        buf = io.BytesIO()
        pq.write_table(table, buf)
        client.put_object(Bucket=info.bucket, Key=f"{prefix}/part-{n}.parquet", Body=buf.getvalue())
        rows += 100
    return rows


def _put_jsonl(info: Any, key: str, docs: list[dict]) -> None:
    body = gzip.compress(b"\n".join(json.dumps(d).encode() for d in docs) + b"\n")
    s3(info).put_object(Bucket=info.bucket, Key=key, Body=body)


def _creds(key: str, secret: str) -> str:
    return f"CREDENTIALS 'aws_access_key_id={key};aws_secret_access_key={secret}'"


def test_copy_parquet_from_a_prefix_and_jsonl_from_a_manifest(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    rows = _put_parquet(info, f"{schema}/pq")
    docs = [{"id": i, "name": f"j{i}", "doc": {"nested": [i, {"x": None}], "s": "é"}, "ignored": True} for i in range(50)]
    _put_jsonl(info, f"{schema}/js/a.jsonl.gz", docs[:25])
    _put_jsonl(info, f"{schema}/js/b.jsonl.gz", docs[25:])
    manifest = {"entries": [{"url": f"s3://{info.bucket}/{schema}/js/{n}.jsonl.gz", "mandatory": True} for n in "ab"]}
    s3(info).put_object(Bucket=info.bucket, Key=f"{schema}/js.manifest", Body=json.dumps(manifest).encode())
    conn = pg(info, autocommit=False)
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.p (id BIGINT, name VARCHAR(100), at TIMESTAMPTZ, raw VARBYTE)")
        cur.execute(f"CREATE TABLE {schema}.j (id BIGINT, name VARCHAR(100), doc SUPER)")
        cur.execute(f"COPY {schema}.p FROM 's3://{info.bucket}/{schema}/pq/' "
                    f"{_creds(info.access_key_id, info.secret_access_key)} FORMAT AS PARQUET")
        assert cur.rowcount == rows
        cur.execute("SELECT pg_last_copy_count()")
        assert cur.fetchone() == (rows,)
        cur.execute(f"COPY {schema}.j FROM 's3://{info.bucket}/{schema}/js.manifest' IAM_ROLE '{info.iam_role}' "
                    "FORMAT AS JSON 'auto' GZIP MANIFEST REGION 'us-east-1' TIMEFORMAT 'auto'")
        assert cur.rowcount == 50
        conn.commit()
        cur.execute(f"SELECT count(*), count(DISTINCT id), min(name), max(at) FROM {schema}.p")
        count, distinct, name, _ = cur.fetchone()
        assert (count, distinct, name) == (rows, rows, "n0\\'\"")
        cur.execute(f"SELECT raw FROM {schema}.p WHERE id = 5")
        assert bytes(cur.fetchone()[0]) == b"\x05"
        cur.execute(f"SELECT doc FROM {schema}.j WHERE id = 7")
        assert json.loads(cur.fetchone()[0]) == {"nested": [7, {"x": None}], "s": "é"}
    conn.close()


def test_read_only_key_may_copy(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    _put_parquet(info, f"{schema}/ro", parts=1)
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.p (id BIGINT, name VARCHAR(100), at TIMESTAMPTZ, raw VARBYTE)")
        cur.execute(f"COPY {schema}.p FROM 's3://{info.bucket}/{schema}/ro/' IAM_ROLE '{info.read_only_iam_role}' "
                    "FORMAT AS PARQUET")
        assert cur.rowcount == 100
    with pytest.raises(Exception, match="AccessDenied"):  # but it cannot write to the bucket
        s3(info, info.read_only_access_key_id, info.read_only_secret_access_key).put_object(
            Bucket=info.bucket, Key=f"{schema}/x", Body=b"x")


@pytest.mark.parametrize("case", ["wrong_secret", "unknown_key", "unknown_role", "missing_prefix", "bad_value",
                                  "column_count", "not_gzip"])
def test_copy_failures_are_clear_and_load_nothing(local_redshift: Any, schema: str, case: str) -> None:
    info = local_redshift
    _put_parquet(info, f"{schema}/ok", parts=1)
    _put_jsonl(info, f"{schema}/bad/a.jsonl.gz", [{"id": 1}, {"id": "not a number"}, {"id": 3}])
    s3(info).put_object(Bucket=info.bucket, Key=f"{schema}/plain/a.jsonl", Body=b'{"id": 1}\n')
    ok = f"'s3://{info.bucket}/{schema}/ok/'"
    good = _creds(info.access_key_id, info.secret_access_key)
    statements = {
        "wrong_secret": (f"COPY {{t}} FROM {ok} {_creds(info.access_key_id, 'wrong')} FORMAT AS PARQUET", "SignatureDoesNotMatch"),
        "unknown_key": (f"COPY {{t}} FROM {ok} {_creds('AKIANOBODY', 'x')} FORMAT AS PARQUET", "InvalidAccessKeyId"),
        "unknown_role": (f"COPY {{t}} FROM {ok} IAM_ROLE 'arn:aws:iam::1:role/nope' FORMAT AS PARQUET",
                         "not authorized to assume IAM Role arn:aws:iam::1:role/nope"),
        "missing_prefix": (f"COPY {{t}} FROM 's3://{info.bucket}/{schema}/nothing/' {good} FORMAT AS PARQUET",
                           f"prefix '{schema}/nothing/' does not exist"),
        "bad_value": (f"COPY {{t}} FROM 's3://{info.bucket}/{schema}/bad/' {good} JSON 'auto' GZIP", "stl_load_errors"),
        "column_count": (f"COPY {{t}} (id, name) FROM {ok} {good} FORMAT AS PARQUET", "stl_load_errors"),
        "not_gzip": (f"COPY {{t}} FROM 's3://{info.bucket}/{schema}/plain/' {good} JSON 'auto' GZIP", "gzip"),
    }
    sql, expected = statements[case]
    conn = pg(info, autocommit=False)
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.p (id BIGINT, name VARCHAR(100), at TIMESTAMPTZ, raw VARBYTE)")
        cur.execute(f"INSERT INTO {schema}.p (id) VALUES (-1)")
        conn.commit()
        with pytest.raises(psycopg2.Error) as err:
            cur.execute(sql.format(t=f"{schema}.p"))
        assert expected in str(err.value)
        assert info.secret_access_key not in str(err.value)
        conn.rollback()
        cur.execute(f"SELECT id FROM {schema}.p")  # the connection is still usable; nothing was loaded
        assert cur.fetchall() == [(-1,)]
        if case == "bad_value":
            cur.execute("SELECT filename, line_number, colname, err_code, err_reason, raw_field_value "
                        "FROM stl_load_errors ORDER BY starttime DESC LIMIT 1")
            filename, line, colname, code, reason, value = cur.fetchone()
            assert filename == f"s3://{info.bucket}/{schema}/bad/a.jsonl.gz" and line == 2 and colname == "id"
            assert code == 1207 and reason == "Invalid digit, Value 'n', Pos 0, Type: Long" and value == "not a number"
    conn.close()


def test_copy_maxerror_skips_bad_rows(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    _put_jsonl(info, f"{schema}/m/a.jsonl.gz", [{"id": 1}, {"id": "bad"}, {"id": 3}])
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.t (id BIGINT)")
        cur.execute(f"COPY {schema}.t FROM 's3://{info.bucket}/{schema}/m/' "
                    f"{_creds(info.access_key_id, info.secret_access_key)} JSON 'auto' GZIP MAXERROR 1")
        assert cur.rowcount == 2
        cur.execute(f"SELECT id FROM {schema}.t ORDER BY id")
        assert cur.fetchall() == [(1,), (3,)]


def test_statement_log_has_every_statement_masked_and_parseable(local_redshift: Any, schema: str) -> None:
    info = local_redshift
    marker = f"log_marker_{schema}"
    _put_parquet(info, f"{schema}/log", parts=1)
    with closing(pg(info)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.{marker} (id BIGINT, name VARCHAR(100), at TIMESTAMPTZ, raw VARBYTE) "
                    "DISTKEY(id) SORTKEY(at)")
        cur.execute(f"COPY {schema}.{marker} FROM 's3://{info.bucket}/{schema}/log/' "
                    f"{_creds(info.access_key_id, info.secret_access_key)} FORMAT AS PARQUET")
    with open(info.statement_log, encoding="utf-8") as fh:
        entries = [json.loads(line) for line in fh if marker in line]
    assert len(entries) == 2
    assert "DISTKEY(id)" in entries[0]["sql"]  # logged as received, before rewriting
    assert info.secret_access_key not in entries[1]["sql"] and info.access_key_id in entries[1]["sql"]
    for entry in entries:
        sqlglot.parse_one(entry["sql"], read="redshift")
