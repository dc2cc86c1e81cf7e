"""COPY ... FROM 's3://...' for the local endpoint: parse the statement, read the objects from the
S3 server with the credentials written in it, and spool them for `rs_compat.copy_spool`.

Supported: CREDENTIALS 'aws_access_key_id=..;aws_secret_access_key=..[;token=..]' or
'aws_iam_role=arn..', ACCESS_KEY_ID/SECRET_ACCESS_KEY[/SESSION_TOKEN], IAM_ROLE 'arn' (mapped to
keys by the endpoint's configuration; unknown roles are refused), FORMAT [AS] PARQUET | JSON 'auto'
['auto ignorecase'], GZIP, MANIFEST, REGION, SERIALIZETOJSON, TIMEFORMAT/DATEFORMAT 'auto', MAXERROR,
and options that do not change what is read (STATUPDATE, COMPUPDATE; TRUNCATECOLUMNS is refused:
not emulated).

The bulk path: parquet is converted to CSV by Arrow (C++; only nested and binary columns go through
Python) and loaded with one server-side COPY inside the client's transaction; JSON lines are
checked here and expanded by one INSERT ... SELECT. Only when that fails does `copy_spool` go row
by row, to find the failing line and column for `stl_load_errors` and to honour MAXERROR."""

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
                   "ROUNDEC", "ACCEPTANYDATE", "TRIMBLANKS", "NULL", "ON", "OFF", "TRUE", "FALSE"}
#: 301 from S3 when a bucket is read through another region's endpoint (what COPY reports on Redshift)
WRONG_REGION = ("S3ServiceException:The bucket you are attempting to access must be addressed using the specified "
                "endpoint. Please send all future requests to this endpoint.,Status 301,Error PermanentRedirect")


class LoadError(Emulated):
    """A COPY that failed while reading its data (after it began loading): `pg_last_copy_count()` is 0."""


@dataclass
class CopyCommand:
    table: str  # as written (quoted identifiers kept)
    columns: list[str] | None
    source: str
    format: str = "CSV"
    json_option: str = "auto"
    gzip: bool = False
    manifest: bool = False
    serialize_to_json: bool = False
    region: str | None = None
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
    seen: set[str] = set()
    i = 0
    while i < len(rest):
        tok = rest[i]
        up = tok.upper
        seen.add(up)
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
        elif up == "SERIALIZETOJSON":
            cmd.serialize_to_json = True
        elif up == "MAXERROR":
            cmd.maxerror = int(value())
        elif up == "REGION":
            cmd.region = value()
        elif up in ("TIMEFORMAT", "DATEFORMAT", "DELIMITER", "IGNOREHEADER", "ENCODING"):
            cmd.options[up] = value()
        elif up in ("TRUNCATECOLUMNS", "BZIP2", "LZOP", "ZSTD", "FIXEDWIDTH", "REMOVEQUOTES", "ESCAPE", "FILLRECORD"):
            raise Emulated(f"COPY option {up} is not emulated by the local endpoint", "0A000")
        elif up in IGNORED_OPTIONS or tok.kind in ("string", "number"):
            pass
        else:
            raise Emulated(f"COPY: unknown or unsupported option {tok.text!r}", "42601")
        i = max(i, cursor[0]) + 1
    if cmd.format not in ("PARQUET", "JSON"):
        raise Emulated(f"COPY FORMAT {cmd.format} is not emulated by the local endpoint (PARQUET and JSON are)", "0A000")
    if cmd.format == "JSON" and cmd.json_option.lower() not in ("auto", "auto ignorecase"):
        raise Emulated("COPY JSON with a jsonpaths file is not emulated; use JSON 'auto'", "0A000")
    if cmd.format == "PARQUET":
        # page "COPY from columnar data formats": REGION is refused for PARQUET; MAXERROR is accepted
        # (dlt sends MAXERROR 0) but not applied: any error fails the COPY
        if "REGION" in seen:
            raise Emulated("REGION argument is not supported for PARQUET based COPY", "0A000")
        cmd.maxerror = 0
    for key in ("TIMEFORMAT", "DATEFORMAT"):
        if key in cmd.options and cmd.options[key].lower() != "auto":
            raise Emulated(f"COPY {key} {cmd.options[key]!r} is not emulated; use 'auto'", "0A000")
    return cmd


@dataclass
class SpoolResult:
    path: Path
    files: list[tuple[int, str]]  # (first row ordinal, s3 url) of each object, for error reports
    rows: int
    kinds: list[str] | None = None  # PARQUET: what each file column holds (see `column_kind`)


class S3Reader:
    """Reads objects for one COPY with the statement's credentials.

    `region` is the cluster's region; `bucket_regions` the region of each bucket (others are in the
    cluster's region). As on Redshift, JSON from a bucket in another region needs `REGION '<its
    region>'`, and PARQUET cannot cross regions at all."""

    def __init__(self, endpoint_url: str, iam_roles: dict[str, tuple[str, str]], region: str = "us-east-1",
                 bucket_regions: dict[str, str] | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.iam_roles = iam_roles
        self.region = region
        self.bucket_regions = dict(bucket_regions or {})

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
            aws_session_token=token, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def check_region(self, cmd: CopyCommand, bucket: str) -> None:
        """Page "COPY from columnar data formats" and "Load fails": a bucket in another region is read
        only with REGION, and never for PARQUET."""
        bucket_region = self.bucket_regions.get(bucket, self.region)
        if cmd.format == "PARQUET":
            if bucket_region != self.region:
                raise Emulated(f"{WRONG_REGION} (bucket {bucket} is in {bucket_region}, the cluster in {self.region}; "
                               "PARQUET cannot be loaded across regions)", "XX000")
            return
        if (cmd.region or self.region) != bucket_region:
            raise Emulated(f"{WRONG_REGION} (bucket {bucket} is in {bucket_region}; add REGION '{bucket_region}')",
                           "XX000")

    def objects(self, s3: Any, cmd: CopyCommand) -> list[str]:
        bucket, prefix = split_s3(cmd.source)
        self.check_region(cmd, bucket)
        if cmd.manifest:
            return self.manifest_entries(s3, cmd, bucket, prefix)
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
            raise LoadError(f"The specified S3 prefix '{prefix}' does not exist", "XX000")
        return [f"s3://{bucket}/{k}" for k in sorted(keys)]

    def manifest_entries(self, s3: Any, cmd: CopyCommand, bucket: str, key: str) -> list[str]:
        """Page "Using a manifest to specify data files": `mandatory` defaults to false, a missing
        mandatory file is an error, and COPY ends when no file at all is found. PARQUET entries need
        `meta.content_length` (UNLOAD's manifests carry it)."""
        try:
            manifest = orjson.loads(self.get(s3, bucket, key))
            entries = manifest["entries"]
            assert isinstance(entries, list)
        except Emulated as exc:
            raise LoadError(f"Problem reading manifest file - {exc.message}", "XX000") from None
        except Exception:
            raise LoadError(f"Invalid manifest s3://{bucket}/{key}: expected {{\"entries\": [...]}}", "XX000") from None
        urls = []
        for entry in entries:
            url = entry.get("url") if isinstance(entry, dict) else None
            if not isinstance(url, str):
                raise LoadError(f"Invalid manifest s3://{bucket}/{key}: an entry has no \"url\"", "XX000")
            b, k = split_s3(url)
            self.check_region(cmd, b)
            size = self.size(s3, b, k)
            if size is None:
                if entry.get("mandatory", False) is True:
                    raise LoadError(f"Manifest file is missing a mandatory file: {url}", "XX000")
                continue
            if cmd.format == "PARQUET":
                meta = entry.get("meta")
                if not isinstance(meta, dict):
                    raise LoadError(f"File entry does not have 'meta' key: {url} (PARQUET manifests need "
                                    "\"meta\": {\"content_length\": <bytes>})", "XX000")
                if meta.get("content_length") != size:
                    raise LoadError(f"HTTP response error code: 416 Message: InvalidRange The requested range is not "
                                    f"satisfiable: {url} is {size} bytes, the manifest says "
                                    f"content_length {meta.get('content_length')!r}", "XX000")
            urls.append(url)
        if not urls:
            raise LoadError(f"Manifest s3://{bucket}/{key} lists no file that exists: COPY found nothing to load",
                            "XX000")
        return urls

    def get(self, s3: Any, bucket: str, key: str) -> bytes:
        return self.call(lambda **kw: s3.get_object(**kw)["Body"].read(), Bucket=bucket, Key=key)

    def size(self, s3: Any, bucket: str, key: str) -> int | None:
        """The object's size, or None when it does not exist."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise s3_error(exc) from None
        except (BotoCoreError, OSError) as exc:
            raise unreachable(exc) from None

    @staticmethod
    def call(fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            raise s3_error(exc) from None
        except (BotoCoreError, OSError) as exc:  # OSError: the connection reset while a body is read
            raise unreachable(exc) from None

    def spool(self, cmd: CopyCommand, folder: Path) -> SpoolResult:
        s3 = self.client(cmd)
        urls = self.objects(s3, cmd)
        path = folder / f"copy-{uuid.uuid4().hex}.{'csv' if cmd.format == 'PARQUET' else 'ndjson'}"
        files: list[tuple[int, str]] = []
        kinds: list[str] | None = None
        rows = 0
        try:
            with open(path, "wb") as out:
                for index, url in enumerate(urls):
                    data = self.get(s3, *split_s3(url))
                    files.append((rows + 1, url))
                    try:
                        data = decompress(cmd, data, url)
                        if cmd.format == "PARQUET":
                            count, file_kinds = parquet_to_csv(data, out)
                            kinds = merge_kinds(kinds, file_kinds, url)
                        else:
                            count = json_to_spool(data, url, index, out, cmd.json_option.lower() == "auto ignorecase")
                    except Emulated as exc:
                        raise LoadError(exc.message, exc.code) from None
                    except Exception as exc:
                        raise LoadError(f"Load of {url} failed: {type(exc).__name__}: {exc}", "XX000") from None
                    rows += count
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        os.chmod(path, 0o644)
        return SpoolResult(path, files, rows, kinds)


def decompress(cmd: CopyCommand, data: bytes, url: str) -> bytes:
    if cmd.gzip:
        try:
            return gzip.decompress(data)
        except OSError:
            raise Emulated(f"gzip: {url}: invalid compressed data--format violated", "XX000") from None
    if data[:2] == b"\x1f\x8b" and cmd.format == "JSON":
        raise Emulated(f"Invalid JSON in {url}: the object is gzip-compressed; add GZIP", "XX000")
    return data


# -- PARQUET --------------------------------------------------------------------------------------

def column_kind(typ: Any) -> str:
    """What a parquet (Arrow) column holds, as `copy_spool` needs it: nested (struct/list/map: JSON
    text), json (a string column with the JSON logical type), text, binary (as \\x hex), number,
    bool, time (dates, times, timestamps), null (no values) or other (cast to text)."""
    import pyarrow as pa

    if isinstance(typ, pa.BaseExtensionType):
        return "json" if typ.extension_name == "arrow.json" else column_kind(typ.storage_type)
    if pa.types.is_dictionary(typ):
        return column_kind(typ.value_type)
    if pa.types.is_struct(typ) or pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_map(typ) \
            or pa.types.is_fixed_size_list(typ):
        return "nested"
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return "text"
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ) or pa.types.is_fixed_size_binary(typ):
        return "binary"
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return "number"
    if pa.types.is_boolean(typ):
        return "bool"
    if pa.types.is_temporal(typ) and not pa.types.is_duration(typ):
        return "time"
    if pa.types.is_null(typ):
        return "null"
    return "other"


def csv_column(column: Any, kind: str) -> Any:
    """The column as Arrow's CSV writer should write it (only nested and binary go through Python)."""
    import pyarrow as pa

    typ = column.type
    if isinstance(typ, pa.BaseExtensionType):
        column = column.storage
        typ = column.type
    if pa.types.is_dictionary(typ):
        column = column.cast(typ.value_type)
    if kind == "nested":
        dumps = orjson.dumps
        return pa.array([None if v is None else dumps(v, default=_json_default).decode() for v in column.to_pylist()],
                        pa.string())
    if kind == "binary":
        return pa.array([None if v is None else "\\x" + v.hex() for v in column.to_pylist()], pa.string())
    if kind == "other":
        try:
            return column.cast(pa.string())
        except Exception:
            return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())
    if pa.types.is_large_string(typ) or (kind == "json" and not pa.types.is_string(typ)):
        return column.cast(pa.string())
    return column


def parquet_to_csv(data: bytes, out: Any) -> tuple[int, list[str]]:
    """Write the file's rows as CSV (no header; NULL unquoted-empty, strings always quoted)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    kinds = [column_kind(f.type) for f in table.schema]
    columns = [csv_column(table.column(k).combine_chunks(), kind) for k, kind in enumerate(kinds)]
    converted = pa.table(columns, names=[f"c{k}" for k in range(len(columns))])
    if table.num_rows:
        pacsv.write_csv(converted, out, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return table.num_rows, kinds


def merge_kinds(known: list[str] | None, kinds: list[str], url: str) -> list[str]:
    if known is None:
        return kinds
    if len(known) != len(kinds):
        raise Emulated(f"{url} has {len(kinds)} columns, the files before it {len(known)}", "XX000")
    return [b if a == "null" else a for a, b in zip(known, kinds, strict=True)]


# -- JSON -----------------------------------------------------------------------------------------

def json_to_spool(data: bytes, url: str, index: int, out: Any, ignorecase: bool) -> int:
    """One spool line per object: file index, line number in the file, the object (JSON text).
    Fields are separated by \\x02, which valid JSON cannot hold unescaped."""
    count = 0
    prefix = f"{index}\x02".encode()
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
            raw = orjson.dumps({str(k).lower(): v for k, v in doc.items()})
        elif b"\r" in raw:
            raw = orjson.dumps(doc)
        out.write(prefix + str(n).encode() + b"\x02" + raw + b"\n")
        count += 1
    return count


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
        return LoadError(f"S3ServiceException:The specified {'bucket' if code == 'NoSuchBucket' else 'key'} does not "
                         f"exist,Status {status},Error {code}", "XX000")
    return Emulated(f"S3ServiceException:{message},Status {status},Error {code}", "XX000")


def unreachable(exc: BaseException) -> LoadError:
    """The S3 server did not answer (refused, reset, timed out): Redshift reports this from its
    S3 client (curl) as ``S3CurlException: ..., CurlError <n>, ..., CanRetry 1``, SQLSTATE XX000,
    after its own retries; the COPY had begun, so `pg_last_copy_count()` is 0."""
    text = str(exc)
    curl = (28, "Timeout was reached") if "timeout" in text.lower() else (7, "Couldn't connect to server")
    return LoadError(f"S3CurlException: {curl[1]} ({type(exc).__name__}: {text}), CurlError {curl[0]}, "
                     "multiCurlError 0, CanRetry 1, UserError 0", "XX000")


def spool_call(cmd: CopyCommand, spool: SpoolResult) -> str:
    """The statement that loads the spooled rows in the client's own transaction."""
    cols = "NULL" if cmd.columns is None else "ARRAY[" + ", ".join(quote_literal(c) for c in cmd.columns) + "]::text[]"
    kinds = "NULL" if spool.kinds is None else "ARRAY[" + ", ".join(quote_literal(k) for k in spool.kinds) + "]::text[]"
    return (
        f"SELECT {COMPAT}.copy_spool({quote_literal(cmd.table)}::regclass, {cols}, {quote_literal(str(spool.path))}, "
        f"{quote_literal(cmd.format.lower())}, {kinds}, {'true' if cmd.serialize_to_json else 'false'}, "
        f"{int(cmd.maxerror)})"
    )
