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
