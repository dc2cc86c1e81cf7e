"""S3 staging for Redshift against the local endpoint: parquet and jsonl files uploaded to the local
S3 server, one COPY per table per load through a manifest, authorization variants, failures and
their recovery, cleanup of staged files."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal
from typing import Any

import pytest

import shipload
from conftest import table_rows


def s3(info: Any) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=info.s3_endpoint, aws_access_key_id=info.access_key_id,
                        aws_secret_access_key=info.secret_access_key, region_name="us-east-1")


def bucket_keys(info: Any, prefix: str) -> list[str]:
    page = s3(info).list_objects_v2(Bucket=info.bucket, Prefix=prefix)
    return sorted(o["Key"] for o in page.get("Contents", []))


def statements(info: Any) -> list[str]:
    db = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"]
    with open(info.statement_log, encoding="utf-8") as fh:
        return [e["sql"] for e in map(json.loads, fh) if e["db"] == db]


def copies(info: Any) -> list[str]:
    return [s for s in statements(info) if s.lstrip().upper().startswith("COPY")]


@pytest.fixture
def staged(redshift_db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """redshift_db plus a bucket prefix of its own (tests share the session's bucket)."""
    prefix = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"]
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", f"s3://{redshift_db.bucket}/{prefix}")
    redshift_db.prefix = prefix
    return redshift_db


def games(n: int = 3) -> list[dict[str, Any]]:
    return [
        {"id": i, "name": f"O'Brien \\ \"{i}\" é", "amount": Decimal("1.123456789") * i,
         "at": dt.datetime(2024, 5, 6, 7, 8, 9, i, tzinfo=dt.UTC), "doc": {"k": [i, "x", None], "s": "é'\\"},
         "moves": [{"san": "e4", "n": 1}, {"san": "e5", "n": 2}]}
        for i in range(1, n + 1)
    ]


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
def test_docs_example_loads_nested_data_as_the_insert_path_does(staged: Any, file_format: str) -> None:
    hints = {"doc": {"data_type": "json"}}
    direct = shipload.pipeline("direct", destination="redshift", dataset_name="direct_data", dev_mode=True)
    direct.run(games(), table_name="games", columns=hints)
    pipeline = shipload.pipeline(pipeline_name="chess_pipeline", destination="redshift", staging="filesystem",
                                 dataset_name="player_data", dev_mode=True)
    info = pipeline.run(games(), table_name="games", columns=hints,
                        loader_file_format=None if file_format == "parquet" else "jsonl")
    assert info.row_counts == {"games": 3, "games__moves": 6}
    cols = "id, name, amount, at, doc"
    assert pipeline.dataset().rows("games", cols.split(", "), order_by=["id"]) == \
        direct.dataset().rows("games", cols.split(", "), order_by=["id"])
    assert pipeline.dataset().rows("games", ["doc"], order_by=["id"])[1]["doc"] == {"k": [2, "x", None], "s": "é'\\"}
    assert table_rows(pipeline, "games__moves", "san, n", order_by="_sl_parent_id, n")[:2] == [("e4", 1), ("e5", 2)]
    sent = copies(staged)
    assert len(sent) == 2 and all("MANIFEST" in c for c in sent)
    assert ("FORMAT AS PARQUET" if file_format == "parquet" else "FORMAT AS JSON 'auto'") in sent[0]
    assert staged.secret_access_key not in "\n".join(statements(staged))
    assert bucket_keys(staged, staged.prefix + "/") == []  # staged files are deleted after the commit
    attached = shipload.attach("chess_pipeline")
    assert attached.staging is not None and attached.staging.name == "filesystem"


def test_slice_count_is_read_from_the_cluster(staged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from shipload.destinations.redshift import staged_files

    monkeypatch.setattr(staged_files, "RESPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(staged_files, "RESPLIT_TARGET_BYTES", 10_000)
    monkeypatch.setenv("DESTINATION__REDSHIFT__KEEP_STAGED_FILES", "true")
    p = shipload.pipeline("slices", destination="redshift", staging="filesystem", dataset_name="slices")
    p.run([{"id": i, "text": f"row {i} " * 20} for i in range(3000)], table_name="rows", loader_file_format="jsonl")
    assert "SELECT COUNT(*) FROM stv_slices" in statements(staged)
    files = [k for k in bucket_keys(staged, f"{staged.prefix}/slices/rows/") if k.endswith(".jsonl.gz")]
    assert len(files) > staged.slices and len(files) % staged.slices == 0


def test_no_secret_reaches_errors_or_the_working_folder(staged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    monkeypatch.setenv("DESTINATION__FILESYSTEM__CREDENTIALS__AWS_SECRET_ACCESS_KEY", "wrong-but-secret")
    p = shipload.pipeline("secrets", destination="redshift", staging="filesystem", dataset_name="secrets")
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run(games(2), table_name="games")
    assert "wrong-but-secret" not in str(err.value) and "wrong-but-secret" not in repr(p.destination.staging)
    monkeypatch.setenv("DESTINATION__FILESYSTEM__CREDENTIALS__AWS_SECRET_ACCESS_KEY", staged.secret_access_key)
    p.run()
    for path in Path(p.working_dir).rglob("*"):
        if path.is_file():
            body = path.read_bytes()
            assert staged.secret_access_key.encode() not in body and b"wrong-but-secret" not in body, path


def test_many_files_still_load_with_one_copy_per_table(staged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORMALIZE__FILE_MAX_ROWS", "100")
    monkeypatch.setenv("DESTINATION__REDSHIFT__KEEP_STAGED_FILES", "true")
    p = shipload.pipeline("many", destination="redshift", staging="filesystem", dataset_name="many")
    p.run([{"id": i, "tags": [{"t": i}]} for i in range(1000)], table_name="items")
    assert table_rows(p, "items", "count(*), count(DISTINCT id)") == [(1000, 1000)]
    assert table_rows(p, "items__tags", "count(*)") == [(1000,)]
    sent = copies(staged)
    assert len(sent) == 2 and all("MANIFEST" in c and "COMPUPDATE OFF" in c and "STATUPDATE OFF" in c for c in sent)
    keys = bucket_keys(staged, f"{staged.prefix}/many/items/")
    files = [k for k in keys if k.endswith(".parquet")]
    assert len(files) == 10  # kept: keep_staged_files
    manifest, = (k for k in keys if k.endswith(".manifest"))
    body = json.loads(s3(staged).get_object(Bucket=staged.bucket, Key=manifest)["Body"].read())
    sizes = {o["Key"]: o["Size"] for o in s3(staged).list_objects_v2(Bucket=staged.bucket, Prefix=f"{staged.prefix}/many/items/")["Contents"]}
    assert sorted(e["url"] for e in body["entries"]) == sorted(f"s3://{staged.bucket}/{k}" for k in files)
    for e in body["entries"]:
        assert e["mandatory"] is True and e["meta"]["content_length"] == sizes[e["url"].split("/", 3)[3]]


def test_jsonl_files_are_resplit_into_a_multiple_of_the_slice_count(staged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from shipload.destinations.redshift import staged_files

    monkeypatch.setattr(staged_files, "RESPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(staged_files, "RESPLIT_TARGET_BYTES", 10_000)
    monkeypatch.setenv("DESTINATION__REDSHIFT__SLICES", "3")
    monkeypatch.setenv("DESTINATION__REDSHIFT__KEEP_STAGED_FILES", "true")
    p = shipload.pipeline("split", destination="redshift", staging="filesystem", dataset_name="split")
    p.run([{"id": i, "text": f"row {i} " * 20} for i in range(3000)], table_name="rows", loader_file_format="jsonl")
    assert table_rows(p, "rows", "count(*), count(DISTINCT id)") == [(3000, 3000)]
    objects = s3(staged).list_objects_v2(Bucket=staged.bucket, Prefix=f"{staged.prefix}/split/rows/")["Contents"]
    sizes = [o["Size"] for o in objects if o["Key"].endswith(".jsonl.gz")]
    assert len(sizes) > 3 and len(sizes) % 3 == 0
    assert max(sizes) < 1.5 * min(sizes)  # about equal
    assert len(copies(staged)) == 1


# -- authorization --------------------------------------------------------------------------------

def test_iam_role_copies_send_no_key(staged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__REDSHIFT__FORWARD_STAGING_CREDENTIALS", "false")
    monkeypatch.setenv("DESTINATION__REDSHIFT__STAGING_IAM_ROLE", staged.iam_role)
    p = shipload.pipeline("role", destination="redshift", staging="filesystem", dataset_name="role")
    p.run(games(), table_name="games")
    p.run(games(2), table_name="games", loader_file_format="jsonl")
    assert table_rows(p, "games", "count(*)") == [(5,)]
    sent = copies(staged)
    assert [s.split()[1] for s in sent] == ['"role"."games"', '"role"."games__doc__k"', '"role"."games__moves"'] * 2
    for sql in sent:
        assert f"IAM_ROLE '{staged.iam_role}'" in sql
        assert staged.access_key_id not in sql and "CREDENTIALS" not in sql and "ACCESS_KEY" not in sql
    assert "REGION 'us-east-1'" in sent[-1] and "REGION" not in sent[0]  # jsonl only: parquet cannot cross regions


def test_default_role_is_sent_as_iam_role_default(staged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__STAGING_IAM_ROLE", "default")
    p = shipload.pipeline("defrole", destination="redshift", staging="filesystem", dataset_name="defrole")
    with pytest.raises(shipload.PipelineStepFailed):  # the local endpoint has no default role
        p.run(games(1), table_name="games")
    sent = copies(staged)
    assert sent and all("IAM_ROLE default" in s and staged.access_key_id not in s for s in sent)


def test_session_token_is_forwarded_and_masked() -> None:
    """SeaweedFS has no STS, so the statement is checked as built: the token travels inside CREDENTIALS
    and the text kept for diagnostics shows *** for key, secret and token."""
    from shipload.destinations.filesystem.bucket import FrozenCredentials
    from shipload.destinations.redshift.config import RedshiftSettings
    from shipload.destinations.redshift.copy_sql import authorization, copy_statement
    from shipload.destinations.redshift.dialect import RedshiftDialect

    class TemporaryKeys:
        url = "s3://bucket/prefix"

        def frozen_credentials(self) -> FrozenCredentials:
            return FrozenCredentials("ASIATEMPORARY", r"se'cret\x", "FwoGZXIvYXdzEXAMPLETOKEN")

    auth = authorization(RedshiftSettings(), TemporaryKeys(), RedshiftDialect.literal)
    sql = copy_statement('"d"."t"', "s3://bucket/prefix/d/t/1.m.manifest", "parquet", auth.clause, RedshiftDialect.literal)
    assert r"CREDENTIALS 'aws_access_key_id=ASIATEMPORARY;aws_secret_access_key=se''cret\\x;token=FwoGZXIvYXdzEXAMPLETOKEN'" in sql
    assert auth.masked == "CREDENTIALS 'aws_access_key_id=***;aws_secret_access_key=***;token=***'"
    assert "FwoGZXIvYXdzEXAMPLETOKEN" not in repr(auth) and "se'cret" not in repr(auth)
    assert {"FwoGZXIvYXdzEXAMPLETOKEN", r"se'cret\x", r"se''cret\\x"} <= set(auth.secrets)


def test_aws_chain_keys_are_frozen_and_forwarded(staged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESTINATION__FILESYSTEM__CREDENTIALS__AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("DESTINATION__FILESYSTEM__CREDENTIALS__AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", staged.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", staged.secret_access_key)
    p = shipload.pipeline("chain", destination="redshift", staging="filesystem", dataset_name="chain")
    p.run(games(2), table_name="games")
    assert table_rows(p, "games", "count(*)") == [(2,)]
    assert all(f"aws_access_key_id={staged.access_key_id}" in s for s in copies(staged))


def test_no_role_without_forwarding_is_a_config_error_before_upload(staged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__REDSHIFT__FORWARD_STAGING_CREDENTIALS", "false")
    p = shipload.pipeline("norole", destination="redshift", staging="filesystem", dataset_name="norole")
    with pytest.raises(shipload.PipelineStepFailed, match="forward_staging_credentials = false needs staging_iam_role"):
        p.run(games(1), table_name="games")
    assert bucket_keys(staged, staged.prefix + "/") == [] and copies(staged) == []


# -- failures and their recovery ------------------------------------------------------------------

def _first_load(name: str) -> shipload.Pipeline:
    p = shipload.pipeline(name, destination="redshift", staging="filesystem", dataset_name=name)
    p.run([{"id": 0, "n": 1}], table_name="t")
    return p


def _staged_files(info: Any, dataset: str) -> list[str]:
    return [k for k in bucket_keys(info, f"{info.prefix}/{dataset}/") if not k.endswith(".manifest")]


@pytest.mark.parametrize("case", ["wrong_secret", "unknown_role", "missing_bucket"])
def test_config_failures_name_the_cause_change_nothing_and_a_rerun_loads_once(
        staged: Any, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    p = _first_load(case)
    broken = {
        "wrong_secret": ("DESTINATION__FILESYSTEM__CREDENTIALS__AWS_SECRET_ACCESS_KEY", "wrong-secret", "SignatureDoesNotMatch"),
        "unknown_role": ("DESTINATION__REDSHIFT__STAGING_IAM_ROLE", "arn:aws:iam::1:role/nope",
                         "not authorized to assume IAM Role arn:aws:iam::1:role/nope"),
        "missing_bucket": ("DESTINATION__FILESYSTEM__BUCKET_URL", "s3://no-such-bucket/x", "bucket does not exist"),
    }
    key, value, message = broken[case]
    with monkeypatch.context() as m:
        m.setenv(key, value)
        with pytest.raises(shipload.PipelineStepFailed, match=message) as err:
            p.run([{"id": i, "n": i} for i in range(1, 4)], table_name="t")
        assert "wrong-secret" not in str(err.value) and staged.secret_access_key not in str(err.value)
        assert table_rows(p, "t", "id", order_by="id") == [(0,)]
        if case == "unknown_role":  # uploaded, COPY refused: the files are kept for diagnosis
            assert _staged_files(staged, case)
    info = p.run()  # config fixed: the pending package loads, once
    assert info.row_counts == {"t": 3}
    assert table_rows(p, "t", "id", order_by="id") == [(0,), (1,), (2,), (3,)]
    assert _staged_files(staged, case) == []
    p.run()
    assert table_rows(p, "t", "count(*)") == [(4,)]


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
def test_a_bad_value_names_file_line_and_column(staged: Any, file_format: str) -> None:
    name = f"bad_{file_format}"
    p = shipload.pipeline(name, destination="redshift", staging="filesystem", dataset_name=name)
    with p.sql_client() as client:
        client.execute_sql(f"CREATE SCHEMA {name}")
        client.execute_sql(f"CREATE TABLE {name}.t (id bigint, n smallint, _sl_load_id varchar(64), _sl_id varchar(64))")
        client.execute_sql(f"INSERT INTO {name}.t VALUES (0, 0, 'x', 'y')")
    rows = [{"id": i, "n": 100_000 if i == 3 else i} for i in range(1, 6)]
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run(rows, table_name="t", loader_file_format=file_format)
    text = str(err.value)
    ext = "parquet" if file_format == "parquet" else "jsonl.gz"
    assert f"s3://{staged.bucket}/{staged.prefix}/{name}/t/" in text and f".{ext}, line 3, column 'n'" in text, text
    assert table_rows(p, "t", "id") == [(0,)]
    assert _staged_files(staged, name)  # kept after the failure
    with p.sql_client() as client:  # the fix: a column wide enough
        client.execute_sql(f"ALTER TABLE {name}.t ALTER COLUMN n TYPE bigint")
    p.run()
    assert table_rows(p, "t", "id, n", order_by="id") == [(0, 0), (1, 1), (2, 2), (3, 100_000), (4, 4), (5, 5)]
    assert _staged_files(staged, name) == []


# -- write dispositions ---------------------------------------------------------------------------

DISPOSITIONS = {
    "append": {"write_disposition": "append"},
    "replace-truncate": {"write_disposition": {"disposition": "replace", "strategy": "truncate-and-insert"}},
    "replace-from-staging": {"write_disposition": {"disposition": "replace", "strategy": "insert-from-staging"}},
    "replace-optimized": {"write_disposition": {"disposition": "replace", "strategy": "staging-optimized"}},
    "merge-delete-insert": {"write_disposition": "merge", "primary_key": "id"},
    "merge-upsert": {"write_disposition": {"disposition": "merge", "strategy": "upsert"}, "primary_key": "id"},
    "merge-scd2": {"write_disposition": {"disposition": "merge", "strategy": "scd2"}},
}


@pytest.mark.parametrize("disposition", list(DISPOSITIONS))
def test_write_dispositions_give_what_the_insert_path_gives(staged: Any, disposition: str) -> None:
    hints = DISPOSITIONS[disposition]
    runs = [
        [{"id": i, "name": f"p{i}-v1", "games": [{"g": f"{i}-1-{k}"} for k in range(i % 3 + 1)]} for i in range(6)],
        [{"id": i, "name": f"p{i}-v2", "games": [{"g": f"{i}-2-{k}"} for k in range(i % 2 + 1)]} for i in range(3, 8)],
    ]
    results = []
    for name, staging in (("direct", None), ("staged", "filesystem")):
        p = shipload.pipeline(f"{disposition}_{name}", destination="redshift", staging=staging,
                              dataset_name=f"{disposition.replace('-', '_')}_{name}")
        for data in runs:
            p.run(shipload.resource(data, name="players", **hints))
        active = " WHERE _sl_valid_to IS NULL" if disposition == "merge-scd2" else ""
        with p.sql_client() as c:
            parents = sorted(c.query(f"SELECT id, name FROM {c.table('players')}{active}")[1])
            children = sorted(c.query(
                f"SELECT p.id, g.g FROM {c.table('players__games')} AS g JOIN {c.table('players')} AS p "
                f"ON g._sl_parent_id = p._sl_id{active.replace('_sl_valid_to', 'p._sl_valid_to')}")[1])
        results.append((parents, children))
    assert results[0] == results[1] and results[0][0]
    staged_copies = [s for s in copies(staged) if "_staged" in s.split()[1]]
    into_staging = "replace-truncate" not in disposition and disposition != "append"
    assert len(staged_copies) == 4
    assert all(("_staging\"." in s.split()[1]) == into_staging for s in staged_copies)


# -- crash safety ---------------------------------------------------------------------------------

CRASH_SCRIPT = """
import sys, shipload
p = shipload.pipeline("crashy_staged", destination="redshift", staging="filesystem", dataset_name="crashy")
data = [{"id": i, "moves": [{"n": j} for j in range(i % 3)]} for i in range(300)] if sys.argv[2] == "first" else None
p.run(data, table_name="games", write_disposition=sys.argv[1], primary_key="id")
"""


@pytest.mark.parametrize("crash_at", ["staging.uploaded", "load.job_marker", "load.job_committed",
                                      "staging.before_cleanup"])
@pytest.mark.parametrize("disposition", ["append", pytest.param("merge", marks=pytest.mark.slow)])
def test_killed_staged_load_reruns_to_exactly_once(staged: Any, crash_at: str, disposition: str) -> None:
    import signal
    import subprocess
    import sys

    def run(crash: str | None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "SHIPLOAD_CRASH_AT"}
        if crash:
            env["SHIPLOAD_CRASH_AT"] = crash
        return subprocess.run([sys.executable, "-c", CRASH_SCRIPT, disposition, "first" if crash else "rerun"],
                              env=env, capture_output=True, text=True, timeout=120)

    killed = run(crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert run(None).returncode == 0
    p = shipload.pipeline("crashy_staged", destination="redshift", dataset_name="crashy")
    assert table_rows(p, "games", "count(*), count(DISTINCT id)") == [(300, 300)]
    assert table_rows(p, "games__moves", "count(*)") == [(300,)]
    assert _staged_files(staged, "crashy") == []  # the rerun's commit removed what the crash left


# -- regions, types, row counts -------------------------------------------------------------------

@pytest.mark.parametrize("file_format", ["jsonl", "parquet"])
def test_bucket_in_another_region(staged: Any, monkeypatch: pytest.MonkeyPatch, file_format: str) -> None:
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", f"s3://{staged.other_region_bucket}/{staged.prefix}")
    monkeypatch.setenv("DESTINATION__FILESYSTEM__CREDENTIALS__REGION_NAME", staged.other_region)
    monkeypatch.setenv("DESTINATION__REDSHIFT__REGION", staged.region)
    p = shipload.pipeline(f"far_{file_format}", destination="redshift", staging="filesystem", dataset_name="far")
    if file_format == "parquet":
        with pytest.raises(shipload.PipelineStepFailed, match=f"is in {staged.other_region} and the cluster in "
                                                              f"{staged.region}; Redshift cannot COPY parquet across"):
            p.run(games(2), table_name="games")
        assert copies(staged) == []
        return
    p.run(games(2), table_name="games", loader_file_format="jsonl")
    assert table_rows(p, "games", "count(*)") == [(2,)]
    assert all(f"REGION '{staged.other_region}'" in s for s in copies(staged))


@pytest.mark.parametrize(("file_format", "column", "value"), [
    ("parquet", "t", dt.time(12, 30)), ("jsonl", "t", dt.time(12, 30)), ("jsonl", "raw", b"\x00\xff")])
def test_types_a_staged_format_cannot_carry_are_refused_before_upload(
        staged: Any, file_format: str, column: str, value: Any) -> None:
    p = shipload.pipeline(f"types_{file_format}", destination="redshift", staging="filesystem", dataset_name="types")
    with pytest.raises(shipload.PipelineStepFailed, match=f"table 'x', column '{column}': data type"):
        p.run([{"id": 1, column: value}], table_name="x", loader_file_format=file_format)
    assert bucket_keys(staged, staged.prefix + "/") == [] and copies(staged) == []


def test_binary_goes_through_parquet(staged: Any) -> None:
    p = shipload.pipeline("bin", destination="redshift", staging="filesystem", dataset_name="bin")
    p.run([{"id": 1, "raw": b"\x00\xff\x10"}], table_name="x")
    assert bytes(table_rows(p, "x", "raw")[0][0]) == b"\x00\xff\x10"


def test_a_copy_loading_fewer_rows_than_staged_fails_loudly(staged: Any) -> None:
    """A COPY that loads a subset (seen elsewhere with multi-file COPY) is caught by pg_last_copy_count()."""
    p = shipload.pipeline("subset", destination="redshift", staging="filesystem", dataset_name="subset")
    p.extract([{"id": i} for i in range(10)], table_name="t")
    p.normalize()
    (package,) = p.storage.normalized_packages()
    (job,) = [j for j in package.jobs("new_jobs") if j.file_format == "copy"]
    path = package.job_path("new_jobs", job)
    spec = json.loads(path.read_text())
    spec["files"][0]["rows"] += 1  # as if the files held a row the COPY did not load
    path.write_text(json.dumps(spec))
    with pytest.raises(shipload.PipelineStepFailed, match=r"loaded 10 rows but the 1 staged file\(s\) .* hold 11"):
        p.load()
    assert table_rows(p, "t", "count(*)") == [(0,)]


def test_parquet_follows_the_column_order_of_an_existing_table(staged: Any) -> None:
    p = shipload.pipeline("order", destination="redshift", staging="filesystem", dataset_name="ord")
    with p.sql_client() as client:  # made elsewhere, columns in another order than the data
        client.execute_sql("CREATE SCHEMA ord")
        client.execute_sql("CREATE TABLE ord.t (_sl_id varchar(64), name varchar(100), _sl_load_id varchar(64), id bigint)")
    p.run([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], table_name="t")
    assert table_rows(p, "t", "id, name", order_by="id") == [(1, "a"), (2, "b")]
    with p.sql_client() as client:
        client.execute_sql("ALTER TABLE ord.t ADD COLUMN note varchar(10)")
    p.run([{"id": 3, "name": "c"}], table_name="t")
    assert table_rows(p, "t", "id, name, note", order_by="id") == [(1, "a", None), (2, "b", None), (3, "c", None)]


def test_arrow_tables_load_through_staging_as_through_inserts(staged: Any) -> None:
    import pyarrow as pa

    data = pa.table({"id": pa.array([1, 2], pa.int64()), "tags": pa.array([{"a": 1}, {"a": 2}]),
                     "at": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 2, pa.timestamp("us", tz="UTC")),
                     "amount": pa.array([Decimal("1.50"), None], pa.decimal128(10, 2))})
    out = []
    for name, staging in (("arrow_direct", None), ("arrow_staged", "filesystem")):
        p = shipload.pipeline(name, destination="redshift", staging=staging, dataset_name=name)
        p.run(data, table_name="t")
        out.append(p.dataset().rows("t", ["id", "tags__a", "at", "amount"], order_by=["id"]))
    assert out[0] == out[1] and out[1][0]["amount"] == Decimal("1.50") and out[1][1]["tags__a"] == 2


def test_regions_come_from_the_host_name_and_the_bucket() -> None:
    """The bucket's region is asked from S3 (GetBucketLocation) when not configured; the local S3
    server cannot tell regions apart, so this part is checked on the decision alone."""
    from types import SimpleNamespace

    from shipload.destinations.redshift.config import RedshiftSettings
    from shipload.destinations.redshift.copy_sql import cluster_region
    from shipload.destinations.redshift.staged import StagedCopy
    from shipload.exceptions import ConfigError

    assert cluster_region("my-cluster.abc123xyz.eu-central-1.redshift.amazonaws.com") == "eu-central-1"
    assert cluster_region("wg.123456789012.us-west-2.redshift-serverless.amazonaws.com") == "us-west-2"
    assert cluster_region("127.0.0.1") is None
    bucket = SimpleNamespace(url="s3://far", credentials=SimpleNamespace(region_name=None), region=lambda: "eu-west-1")
    far = StagedCopy(None, bucket, RedshiftSettings(), "c.abc.us-east-1.redshift.amazonaws.com")
    assert far.copy_region("t", "jsonl") == "eu-west-1"
    with pytest.raises(ConfigError, match="is in eu-west-1 and the cluster in us-east-1"):
        far.copy_region("t", "parquet")
    near = StagedCopy(None, bucket, RedshiftSettings(), "c.abc.eu-west-1.redshift.amazonaws.com")
    assert near.copy_region("t", "parquet") is None


def test_staging_is_refused_where_it_cannot_work() -> None:
    with pytest.raises(shipload.exceptions.ConfigError, match="'postgres' loads without staging"):
        shipload.pipeline("staged", destination="postgres", staging="filesystem")
    with pytest.raises(shipload.exceptions.ConfigError, match="the staging destination is 'filesystem'"):
        shipload.pipeline("staged", destination="redshift", staging="duckdb")


def test_profile_from_the_shared_credentials_file(staged: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(f"[loader]\naws_access_key_id = {staged.access_key_id}\n"
                     f"aws_secret_access_key = {staged.secret_access_key}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.delenv("DESTINATION__FILESYSTEM__CREDENTIALS__AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("DESTINATION__FILESYSTEM__CREDENTIALS__AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("DESTINATION__FILESYSTEM__CREDENTIALS__PROFILE_NAME", "loader")
    p = shipload.pipeline("profile", destination="redshift", staging="filesystem", dataset_name="profile")
    p.run(games(2), table_name="games")
    assert table_rows(p, "games", "count(*)") == [(2,)]
    assert all(f"aws_access_key_id={staged.access_key_id}" in s for s in copies(staged))


def test_files_of_a_dropped_failed_load_go_with_the_next_successful_one(staged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _first_load("dropped")
    with monkeypatch.context() as m:
        m.setenv("DESTINATION__REDSHIFT__STAGING_IAM_ROLE", "arn:aws:iam::1:role/nope")
        with pytest.raises(shipload.PipelineStepFailed):
            p.run([{"id": 1, "n": 1}], table_name="t")
    failed = _staged_files(staged, "dropped")
    assert failed
    p.drop_pending_packages()
    p.run([{"id": 2, "n": 2}], table_name="t")
    assert table_rows(p, "t", "id", order_by="id") == [(0,), (2,)]
    assert _staged_files(staged, "dropped") == []
