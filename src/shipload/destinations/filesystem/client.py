"""The filesystem destination: load files in a bucket (`s3://` or a local folder)."""

from __future__ import annotations

from typing import Any

from shipload.destinations.base import Capabilities
from shipload.destinations.filesystem.bucket import Bucket, open_bucket
from shipload.destinations.filesystem.config import AwsCredentials, FilesystemSettings

CAPABILITIES = Capabilities(
    preferred_loader_file_format="parquet",
    supported_loader_file_formats=("parquet", "jsonl", "csv"),
    supported_write_dispositions=("append", "replace", "skip"),
    supported_merge_strategies=(),
    max_identifier_length=255,
)


def settings_bucket(credentials: AwsCredentials, settings: FilesystemSettings) -> Bucket:
    assert settings.bucket_url is not None
    return open_bucket(settings.bucket_url, credentials, settings.max_parallel_uploads)


class FilesystemClient:  # replaced below by the full client
    def __init__(self, *args: Any) -> None:
        raise NotImplementedError
