"""Filesystem destination credentials and settings (`[destination.filesystem]`,
`[destination.filesystem.credentials]`): a bucket URL (`s3://bucket/prefix`, `file:///path` or a
plain path) and AWS credentials, which fall back to the standard AWS chain (environment, shared
config and profile, instance role) when no key is given."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from shipload.config.specs import BaseSpec
from shipload.exceptions import ConfigError


@dataclasses.dataclass(repr=False)
class AwsCredentials(BaseSpec):
    """Keys are optional: without them boto3's default chain resolves credentials."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("aws_secret_access_key", "aws_session_token")

    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    profile_name: str | None = None
    region_name: str | None = None
    #: an S3-compatible server (the local endpoint's SeaweedFS, MinIO, ...)
    endpoint_url: str | None = None

    def __post_init__(self) -> None:
        if bool(self.aws_access_key_id) != bool(self.aws_secret_access_key):
            given = "aws_access_key_id" if self.aws_access_key_id else "aws_secret_access_key"
            raise ConfigError(f"destination.filesystem.credentials: {given} is set but its pair is missing; "
                              "give both keys, or neither to use the AWS credential chain")

    def session_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `boto3.session.Session`."""
        out: dict[str, Any] = {}
        if self.aws_access_key_id:
            out.update(aws_access_key_id=self.aws_access_key_id, aws_secret_access_key=self.aws_secret_access_key,
                       aws_session_token=self.aws_session_token or None)
        elif self.profile_name:
            out["profile_name"] = self.profile_name
        if self.region_name:
            out["region_name"] = self.region_name
        return out


@dataclasses.dataclass(repr=False)
class FilesystemSettings(BaseSpec):
    REQUIRED_FIELDS: ClassVar[tuple[str, ...]] = ("bucket_url",)

    #: `s3://bucket[/prefix]`, `file:///absolute/path` or a plain local path
    bucket_url: str | None = None
    #: uploads (and deletes) running at the same time
    max_parallel_uploads: int = 8
