"""The filesystem destination on its own: a local folder (file:// or a plain path) and the local S3
server; the documented layout, append and replace, loads and state records for incremental loading
and for restoring a pipeline on a new machine."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import shipload


@shipload.resource(name="events", write_disposition="append", columns={"payload": {"data_type": "json"}})
def events(upto: int, cursor: Any = shipload.sources.incremental("id")):
    start = 0 if cursor.start_value is None else cursor.start_value + 1
    yield [{"id": i, "payload": {"n": i, "tags": ["a", "b"]}, "items": [{"k": i}]} for i in range(start, upto)]


def _files(root: Path, dataset: str, table: str) -> list[Path]:
    return sorted((root / dataset / table).glob("*"))


def _rows(paths: list[Path]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in paths:
        if path.name.endswith(".parquet"):
            out.extend(pq.read_table(path).to_pylist())
        else:
            with gzip.open(path) as fh:
                out.extend(json.loads(line) for line in fh)
    return out


@pytest.mark.parametrize("url_form", ["file", "plain"])
def test_local_folder_layout_append_and_incremental(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url_form: str) -> None:
    root = tmp_path / "lake"
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", root.as_uri() if url_form == "file" else str(root))
    p = shipload.pipeline("fs", destination="filesystem", dataset_name="raw")
    first = p.run(events(5))
    assert first.row_counts == {"events": 5, "events__items": 5}
    (load_id,) = first.load_ids
    files = _files(root, "raw", "events")
    assert [f.name.split(".")[:2] for f in files] == [load_id.split(".")] and files[0].name.endswith(".parquet")
    assert sorted(r["id"] for r in _rows(files)) == [0, 1, 2, 3, 4]
    schema = pq.ParquetFile(files[0]).schema
    payload = schema.column(schema.names.index("payload"))
    assert str(payload.logical_type) == "JSON"  # json columns carry parquet's JSON type
    assert (root / "raw" / "_sl_loads" / f"{load_id}.json").exists()
    assert list((root / "raw" / "_sl_pipeline_state").glob(f"fs.{load_id}.json"))
    assert list((root / "raw" / "_sl_version").glob("fs.*.json"))
    p.run(events(8), loader_file_format="jsonl")  # the incremental second run writes only new rows
    new = [f for f in _files(root, "raw", "events") if f.name.endswith(".jsonl.gz")]
    assert sorted(r["id"] for r in _rows(new)) == [5, 6, 7]
    assert json.loads(json.dumps(_rows(new)[0]["payload"])) == {"n": 5, "tags": ["a", "b"]}
    assert sorted(r["id"] for r in _rows(_files(root, "raw", "events"))) == list(range(8))


def test_a_new_machine_restores_state_from_the_bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "lake"
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", str(root))
    shipload.pipeline("fs", destination="filesystem", dataset_name="raw").run(events(4))
    monkeypatch.setenv("SHIPLOAD_PIPELINES_DIR", str(tmp_path / "other-machine"))
    p = shipload.pipeline("fs", destination="filesystem", dataset_name="raw")
    info = p.run(events(6))
    assert info.row_counts == {"events": 2, "events__items": 2}
    assert sorted(r["id"] for r in _rows(_files(root, "raw", "events"))) == list(range(6))
    again = shipload.attach("fs")
    assert again.destination.name == "filesystem" and again.dataset_name == "raw"
    assert again.run(events(6)).row_counts == {}


def test_replace_removes_earlier_files_of_the_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "lake"
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", root.as_uri())
    p = shipload.pipeline("fsr", destination="filesystem", dataset_name="raw")
    p.run([{"id": i, "items": [{"k": i}]} for i in range(3)], table_name="snap", write_disposition="replace")
    info = p.run([{"id": 9, "items": [{"k": 9}]}], table_name="snap", write_disposition="replace")
    for table in ("snap", "snap__items"):
        files = _files(root, "raw", table)
        assert len(files) == 1 and files[0].name.startswith(info.load_ids[0])
    assert [r["id"] for r in _rows(_files(root, "raw", "snap"))] == [9]


def test_merge_is_refused_with_the_table_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", str(tmp_path))
    p = shipload.pipeline("fsm", destination="filesystem", dataset_name="raw")
    with pytest.raises(shipload.PipelineStepFailed, match="'m': write_disposition 'merge' is not supported by filesystem"):
        p.run([{"id": 1}], table_name="m", write_disposition="merge", primary_key="id")


def test_s3_bucket_layout_and_parallel_idempotent_uploads(local_redshift_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    info = local_redshift_env
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", f"s3://{info.bucket}/fs-alone")
    monkeypatch.setenv("NORMALIZE__FILE_MAX_ROWS", "10")
    p = shipload.pipeline("fs3", destination="filesystem", dataset_name="lake")
    run = p.run(events(50))
    s3 = boto3.client("s3", endpoint_url=info.s3_endpoint, aws_access_key_id=info.access_key_id,
                      aws_secret_access_key=info.secret_access_key, region_name="us-east-1")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=info.bucket, Prefix="fs-alone/lake/events/")["Contents"])
    assert len(keys) == 5 and all(k.startswith(f"fs-alone/lake/events/{run.load_ids[0]}.") for k in keys)
    assert p.run(events(50)).row_counts == {}
    p2 = shipload.pipeline("fs3", destination="filesystem", dataset_name="lake")
    client = p2.destination.client("fs3", "lake")
    assert client.get_stored_state("fs3")["sources"]
    # uploading a job again (a crash after upload, before the move) replaces the same object
    key = keys[0]
    body = s3.get_object(Bucket=info.bucket, Key=key)["Body"].read()
    local = Path(p.working_dir) / "again.parquet"
    local.write_bytes(body)
    client.bucket.put_file(local, key.split("/", 1)[1])
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=info.bucket, Prefix="fs-alone/lake/events/")["Contents"]) == keys


def test_destination_configured_in_code(tmp_path: Path) -> None:
    from shipload.destinations.registry import Destination

    lake = Destination("filesystem", config={"bucket_url": (tmp_path / "lake").as_uri(), "max_parallel_uploads": 2})
    p = shipload.pipeline("code", destination=lake, dataset_name="raw")
    p.run([{"id": 1}], table_name="t")
    assert [r["id"] for r in _rows(_files(tmp_path / "lake", "raw", "t"))] == [1]
