"""The staged references' S3 side: the bucket, prefix and keys the run was given, and a boto3 client."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any


@dataclass
class RefBucket:
    s3: Any
    bucket: str
    prefix: str
    key_id: str
    secret: str

    def copy_file(self, cur: Any, table: str, name: str, body: bytes, fmt: str) -> None:
        """Upload one file and its manifest under the prefix, then COPY it into `table` (one statement)."""
        key = f"{self.prefix}/{name}"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        entry = {"url": f"s3://{self.bucket}/{key}", "mandatory": True, "meta": {"content_length": len(body)}}
        self.s3.put_object(Bucket=self.bucket, Key=f"{key}.manifest", Body=json.dumps({"entries": [entry]}).encode())
        cur.execute(f"COPY {table} FROM 's3://{self.bucket}/{key}.manifest' CREDENTIALS "
                    f"'aws_access_key_id={self.key_id};aws_secret_access_key={self.secret}' {fmt} MANIFEST")


def ref_bucket() -> RefBucket:
    """Where a reference stages its files: `<bucket_url>/ref`, with the run's filesystem credentials."""
    import boto3

    env = os.environ
    bucket_url = env["DESTINATION__FILESYSTEM__BUCKET_URL"].rstrip("/") + "/ref"
    bucket, _, prefix = bucket_url[len("s3://"):].partition("/")
    key_id = env["DESTINATION__FILESYSTEM__CREDENTIALS__AWS_ACCESS_KEY_ID"]
    secret = env["DESTINATION__FILESYSTEM__CREDENTIALS__AWS_SECRET_ACCESS_KEY"]
    s3 = boto3.client("s3", endpoint_url=env["DESTINATION__FILESYSTEM__CREDENTIALS__ENDPOINT_URL"],
                      aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1")
    return RefBucket(s3, bucket, prefix, key_id, secret)
