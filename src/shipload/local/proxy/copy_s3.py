"""COPY ... FROM 's3://...' for the local endpoint: parse the statement, read the objects from the
S3 server with the credentials written in it, and spool the rows for `rs_compat.copy_spool`.

Supported: CREDENTIALS 'aws_access_key_id=..;aws_secret_access_key=..[;token=..]' or
'aws_iam_role=arn..', ACCESS_KEY_ID/SECRET_ACCESS_KEY[/SESSION_TOKEN], IAM_ROLE 'arn' (mapped to
keys by the endpoint's configuration; unknown roles are refused), FORMAT [AS] PARQUET | JSON 'auto'
['auto ignorecase'], GZIP, MANIFEST, REGION, TIMEFORMAT/DATEFORMAT 'auto', MAXERROR, and options
that do not change what is read (STATUPDATE, COMPUPDATE, TRUNCATECOLUMNS is refused: not emulated)."""

from __future__ import annotations

import gzip
import io
import os
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from shipload.local.proxy.rewrite import COMPAT, Emulated
from shipload.local.proxy.sqltokens import Token, quote_literal, render, significant, string_value

IGNORED_OPTIONS = {"STATUPDATE", "COMPUPDATE", "ACCEPTINVCHARS", "EMPTYASNULL", "BLANKSASNULL", "EXPLICIT_IDS",
                   "ROUNDEC", "SERIALIZETOJSON", "ACCEPTANYDATE", "TRIMBLANKS", "NULL", "ON", "OFF", "TRUE", "FALSE"}


@dataclass
class CopyCommand:
    table: str  # as written (quoted identifiers kept)
    columns: list[str] | None
    source: str
    format: str = "CSV"
    json_option: str = "auto"
    gzip: bool = False
    manifest: bool = False
    key_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    iam_role: str | None = None
    maxerror: int = 0
    options: dict[str, str] = field(default_factory=dict)


def parse_copy(tokens: list[Token]) -> CopyCommand:
    sig = significant(tokens)
    words = [t.upper for t in sig]
    at_from = words.index("FROM")
    head = sig[1:at_from]
    columns = None
    if head and head[-1].text == ")":
        open_at = max(k for k, t in enumerate(head) if t.text == "(")
        columns = [t.identifier for t in head[open_at + 1 : -1] if t.identifier is not None]
        head = head[:open_at]
    cmd = CopyCommand(table=render(head), columns=columns, source=string_value(sig[at_from + 1]))
    rest = sig[at_from + 2 :]
    i = 0
    while i < len(rest):
        tok = rest[i]
        up = tok.upper
        cursor = [i]

        def value(cursor: list[int] = cursor, option: str = up) -> str:
            k = cursor[0] + 1
            if k < len(rest) and rest[k].is_word("AS"):
                k += 1
            if k >= len(rest):
                raise Emulated(f"COPY: option {option} needs a value", "42601")
            cursor[0] = k
            t = rest[k]
            return string_value(t) if t.kind == "string" else t.text

        if up == "WITH":
            pass
        elif up == "CREDENTIALS":
            for part in value().split(";"):
                key, _, val = part.partition("=")
                key = key.strip().lower()
                if key == "aws_access_key_id":
                    cmd.key_id = val.strip()
                elif key == "aws_secret_access_key":
                    cmd.secret = val.strip()
                elif key == "token":
                    cmd.token = val.strip()
                elif key == "aws_iam_role":
                    cmd.iam_role = val.strip()
        elif up == "ACCESS_KEY_ID":
            cmd.key_id = value()
        elif up == "SECRET_ACCESS_KEY":
            cmd.secret = value()
        elif up == "SESSION_TOKEN":
            cmd.token = value()
        elif up == "IAM_ROLE":
            cmd.iam_role = value()
        elif up == "FORMAT":
            cmd.format = value().upper()
            k = cursor[0] + 1
            if cmd.format == "JSON" and k < len(rest) and rest[k].kind == "string":
                cursor[0] = k
                cmd.json_option = string_value(rest[k])
        elif up in ("PARQUET", "ORC", "AVRO", "CSV"):
            cmd.format = up
        elif up == "JSON":
            cmd.format = "JSON"
            if i + 1 < len(rest) and rest[i + 1].kind == "string":
                i += 1
                cmd.json_option = string_value(rest[i])
        elif up == "GZIP":
            cmd.gzip = True
        elif up == "MANIFEST":
            cmd.manifest = True
        elif up == "MAXERROR":
            cmd.maxerror = int(value())
        elif up in ("REGION", "TIMEFORMAT", "DATEFORMAT", "DELIMITER", "IGNOREHEADER", "ENCODING"):
            cmd.options[up] = value()
        elif up in ("TRUNCATECOLUMNS", "BZIP2", "LZOP", "ZSTD", "FIXEDWIDTH", "REMOVEQUOTES", "ESCAPE", "FILLRECORD"):
            raise Emulated(f"COPY option {up} is not emulated by the local endpoint", "0A000")
        elif up == "SERIALIZETOJSON":
            cmd.options[up] = "on"
        elif up in IGNORED_OPTIONS or tok.kind in ("string", "number"):
            pass
        else:
            raise Emulated(f"COPY: unknown or unsupported option {tok.text!r}", "42601")
        i = max(i, cursor[0]) + 1
    if cmd.format not in ("PARQUET", "JSON"):
        raise Emulated(f"COPY FORMAT {cmd.format} is not emulated by the local endpoint (PARQUET and JSON are)", "0A000")
    if cmd.format == "JSON" and cmd.json_option.lower() not in ("auto", "auto ignorecase"):
        raise Emulated("COPY JSON with a jsonpaths file is not emulated; use JSON 'auto'", "0A000")
    for key in ("TIMEFORMAT", "DATEFORMAT"):
        if key in cmd.options and cmd.options[key].lower() != "auto":
            raise Emulated(f"COPY {key} {cmd.options[key]!r} is not emulated; use 'auto'", "0A000")
    return cmd


@dataclass
class SpoolResult:
    path: Path
    files: list[tuple[int, str]]  # (first line number, s3 url) of each object, for error reports
    rows: int


class S3Reader:
    """Reads objects for one COPY with the statement's credentials."""

    def __init__(self, endpoint_url: str, iam_roles: dict[str, tuple[str, str]], region: str = "us-east-1") -> None:
        self.endpoint_url = endpoint_url
        self.iam_roles = iam_roles
        self.region = region

    def client(self, cmd: CopyCommand) -> Any:
        import boto3
        from botocore.config import Config

        key, secret, token = cmd.key_id, cmd.secret, cmd.token
        if cmd.iam_role:
            if cmd.iam_role.lower() == "default" or cmd.iam_role not in self.iam_roles:
                raise Emulated(
                    f"User arn:aws:redshift:{self.region}:000000000000:dbuser:local/loader is not authorized to assume "
                    f"IAM Role {cmd.iam_role}", "XX000",
                )
            key, secret = self.iam_roles[cmd.iam_role]
            token = None
        if not key or not secret:
            raise Emulated("COPY needs CREDENTIALS, ACCESS_KEY_ID/SECRET_ACCESS_KEY or IAM_ROLE", "42601")
        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, aws_access_key_id=key, aws_secret_access_key=secret,
            aws_session_token=token, region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def objects(self, s3: Any, cmd: CopyCommand) -> list[str]:
        bucket, prefix = split_s3(cmd.source)
        if cmd.manifest:
            entries = orjson.loads(self.get(s3, bucket, prefix)).get("entries", [])
            urls = []
            for entry in entries:
                b, k = split_s3(entry["url"])
                if not self.exists(s3, b, k):
                    if entry.get("mandatory", False):
                        raise Emulated(f"Manifest file is missing a mandatory file: {entry['url']}", "XX000")
                    continue
                urls.append(entry["url"])
            return urls
        keys: list[str] = []
        token = None
        while True:
            kwargs = {"Bucket": bucket, "Prefix": prefix, **({"ContinuationToken": token} if token else {})}
            page = self.call(s3.list_objects_v2, **kwargs)
            keys.extend(o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/"))
            if not page.get("IsTruncated"):
                break
            token = page.get("NextContinuationToken")
        if not keys:
            raise Emulated(f"The specified S3 prefix '{prefix}' does not exist", "XX000")
        return [f"s3://{bucket}/{k}" for k in sorted(keys)]

    def get(self, s3: Any, bucket: str, key: str) -> bytes:
        return self.call(s3.get_object, Bucket=bucket, Key=key)["Body"].read()

    def exists(self, s3: Any, bucket: str, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise s3_error(exc) from None

    @staticmethod
    def call(fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            raise s3_error(exc) from None
        except BotoCoreError as exc:
            raise Emulated(f"S3ServiceException:{exc}", "XX000") from None

    def spool(self, cmd: CopyCommand, folder: Path) -> SpoolResult:
        s3 = self.client(cmd)
        urls = self.objects(s3, cmd)
        path = folder / f"copy-{uuid.uuid4().hex}.ndjson"
        files: list[tuple[int, str]] = []
        line = 1
        with open(path, "wb") as out:
            for url in urls:
                data = self.get(s3, *split_s3(url))
                files.append((line, url))
                try:
                    lines = list(self.lines(cmd, data, url))
                except Emulated:
                    raise
                except Exception as exc:
                    raise Emulated(f"Load of {url} failed: {type(exc).__name__}: {exc}", "XX000") from None
                for doc in lines:
                    out.write(doc)
                    out.write(b"\n")
                line += len(lines)
        os.chmod(path, 0o644)
        return SpoolResult(path, files, line - 1)

    @staticmethod
    def lines(cmd: CopyCommand, data: bytes, url: str) -> Any:
        if cmd.gzip:
            try:
                data = gzip.decompress(data)
            except OSError:
                raise Emulated(f"gzip: {url}: invalid compressed data--format violated", "XX000") from None
        elif data[:2] == b"\x1f\x8b" and cmd.format == "JSON":
            raise Emulated(f"Invalid JSON in {url}: the object is gzip-compressed; add GZIP", "XX000")
        if cmd.format == "PARQUET":
            return parquet_rows(data, "SERIALIZETOJSON" in cmd.options)
        return json_lines(data, url, cmd.json_option.lower() == "auto ignorecase")


def parquet_rows(data: bytes, serialize_json: bool = False) -> Any:
    """Rows as JSON arrays. With SERIALIZETOJSON, strings of parquet's JSON logical type go in as
    the JSON they hold (objects land in SUPER as objects), as on Redshift."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    columns = []
    for col in table.columns:
        values = col.to_pylist()
        if serialize_json and isinstance(col.type, pa.JsonType):
            values = [None if v is None else orjson.Fragment(v) for v in values]
        columns.append(values)
    dumps = orjson.dumps
    for row in zip(*columns, strict=False):
        yield dumps(list(row), default=_json_default)


def json_lines(data: bytes, url: str, ignorecase: bool) -> Any:
    for n, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.strip()
        if not raw:
            continue
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Emulated(f"Invalid JSON in {url} line {n}: {exc}", "XX000") from None
        if not isinstance(doc, dict):
            raise Emulated(f"Invalid JSONPath format / not a JSON object in {url} line {n}", "XX000")
        if ignorecase:
            doc = {str(k).lower(): v for k, v in doc.items()}
        # nested values go in as JSON; orjson re-serialization keeps the line on one line
        yield orjson.dumps(doc)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "\\x" + bytes(value).hex()
    return str(value)


def split_s3(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise Emulated(f"Invalid S3 URL {url!r}: COPY reads from s3://bucket/key", "XX000")
    return parts.netloc, parts.path.lstrip("/")


def s3_error(exc: Any) -> Emulated:
    err = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    code = err.get("Code", "Unknown")
    message = err.get("Message") or code
    if code in ("NoSuchBucket", "NoSuchKey", "404"):
        return Emulated(f"S3ServiceException:The specified {'bucket' if code == 'NoSuchBucket' else 'key'} does not exist,"
                        f"Status {status},Error {code}", "XX000")
    return Emulated(f"S3ServiceException:{message},Status {status},Error {code}", "XX000")


def spool_call(cmd: CopyCommand, spool: SpoolResult) -> str:
    """The statement that loads the spooled rows in the client's own transaction."""
    cols = "NULL" if cmd.columns is None else "ARRAY[" + ", ".join(quote_literal(c) for c in cmd.columns) + "]::text[]"
    return (
        f"SELECT {COMPAT}.copy_spool({quote_literal(cmd.table)}::regclass, {cols}, {quote_literal(str(spool.path))}, "
        f"{'true' if cmd.format == 'PARQUET' else 'false'}, {int(cmd.maxerror)})"
    )
