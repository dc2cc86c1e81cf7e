"""Buckets: where the filesystem destination (and S3 staging) puts files. `S3Bucket` speaks S3
through boto3; `LocalBucket` writes a local folder (`file://`). Keys are relative to the bucket
URL's prefix; every write replaces the whole object, so writing a key twice never duplicates data."""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from shipload.destinations.filesystem.config import AwsCredentials
from shipload.exceptions import ConfigError, DestinationTerminalError, DestinationTransientError
from shipload.utils.redact import redact_in_logs


@dataclass(frozen=True, repr=False)
class FrozenCredentials:
    """Keys as resolved at one moment (explicit ones, or the AWS chain's current ones)."""

    access_key_id: str
    secret_access_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"FrozenCredentials(access_key_id={self.access_key_id!r}, secret_access_key=***, token=***)"

    def secrets(self) -> list[str]:
        return [s for s in (self.secret_access_key, self.token) if s]


class Bucket(ABC):
    """A place for files, addressed by keys below the bucket URL."""

    url: str

    def __init__(self, max_parallel: int = 8) -> None:
        self.max_parallel = max(1, max_parallel)

    @abstractmethod
    def full_url(self, key: str) -> str:
        """The object's address as other systems see it (`s3://bucket/prefix/key`)."""

    @abstractmethod
    def put_file(self, path: Path, key: str) -> int:
        """Upload a file; returns its size in bytes."""

    @abstractmethod
    def put_bytes(self, data: bytes, key: str) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def list(self, prefix: str) -> dict[str, int]:
        """{key: size} of every object whose key starts with `prefix`."""

    @abstractmethod
    def delete(self, keys: Iterable[str]) -> None: ...

    @abstractmethod
    def check(self) -> None:
        """Fail early (before anything is uploaded) when the bucket cannot be reached."""

    def region(self) -> str | None:
        return None

    def frozen_credentials(self) -> FrozenCredentials | None:
        return None

    def secret_values(self) -> list[str]:
        return []

    def put_files(self, pairs: list[tuple[Path, str]]) -> dict[str, int]:
        """Upload many files, at most `max_parallel` at a time; {key: size}."""
        return dict(zip((k for _, k in pairs), self._parallel(lambda pk: self.put_file(*pk), pairs), strict=True))

    def delete_prefix(self, prefix: str, keep: Callable[[str], bool] | None = None) -> list[str]:
        keys = [k for k in self.list(prefix) if keep is None or not keep(k)]
        if keys:
            self.delete(keys)
        return keys

    def _parallel(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if len(items) <= 1 or self.max_parallel == 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(min(self.max_parallel, len(items))) as pool:
            return list(pool.map(fn, items))


class LocalBucket(Bucket):
    def __init__(self, root: Path, max_parallel: int = 8) -> None:
        super().__init__(max_parallel)
        self.root = root
        self.url = root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / key

    def full_url(self, key: str) -> str:
        return self._path(key).as_uri()

    def put_file(self, path: Path, key: str) -> int:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        return target.stat().st_size

    def put_bytes(self, data: bytes, key: str) -> None:
        from shipload.utils.files import atomic_write

        atomic_write(self._path(key), data)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def list(self, prefix: str) -> dict[str, int]:
        base = self._path(prefix)
        folder = base if prefix.endswith("/") or base.is_dir() else base.parent
        if not folder.exists():
            return {}
        out = {}
        for p in folder.rglob("*"):
            key = p.relative_to(self.root).as_posix()
            if p.is_file() and not p.name.startswith(".") and key.startswith(prefix):
                out[key] = p.stat().st_size
        return dict(sorted(out.items()))

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)


class S3Bucket(Bucket):
    def __init__(self, bucket: str, prefix: str, credentials: AwsCredentials, max_parallel: int = 8) -> None:
        super().__init__(max_parallel)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.credentials = credentials
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client: Any = None
        self._session: Any = None

    def __repr__(self) -> str:
        return f"S3Bucket({self.url!r})"

    # -- boto3 ------------------------------------------------------------------------------------
    @property
    def session(self) -> Any:
        if self._session is None:
            try:
                import boto3
            except ImportError:
                raise ConfigError("s3:// buckets need boto3: pip install 'shipload[s3]'") from None
            self._session = boto3.session.Session(**self.credentials.session_kwargs())
            found = self._session.get_credentials()  # configured, or from the AWS chain (a role's STS token)
            frozen = found.get_frozen_credentials() if found is not None else None
            redact_in_logs(self.credentials.aws_secret_access_key, self.credentials.aws_session_token,
                           getattr(frozen, "secret_key", None), getattr(frozen, "token", None))
        return self._session

    @property
    def client(self) -> Any:
        if self._client is None:
            from botocore.config import Config

            # botocore's own retries of one request (its AWS_MAX_ATTEMPTS / AWS_RETRY_MODE honoured); a
            # request that still fails is a transient error: the loader's RetryPolicy retries the job
            retries = {"max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS") or 5),
                       "mode": os.environ.get("AWS_RETRY_MODE") or "standard"}
            config = Config(retries=retries,
                            max_pool_connections=max(10, self.max_parallel * 2),
                            s3={"addressing_style": "path"} if self.credentials.endpoint_url else {})
            self._client = self.session.client("s3", endpoint_url=self.credentials.endpoint_url or None,
                                               region_name=self.credentials.region_name or None, config=config)
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            return fn(**kwargs)
        except NoCredentialsError:
            raise ConfigError(
                f"{self.url}: no AWS credentials: set destination.filesystem.credentials aws_access_key_id and "
                "aws_secret_access_key, a profile_name, or configure the AWS credential chain") from None
        except ClientError as exc:
            raise s3_error(self.url, what, exc) from None
        except BotoCoreError as exc:
            raise DestinationTransientError(f"{self.url}: {what} failed: {exc}") from None

    def full_url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def put_files(self, pairs: list[tuple[Path, str]]) -> dict[str, int]:
        self.client  # noqa: B018 (made once here: creating boto3 clients from several threads is not safe)
        return super().put_files(pairs)

    def put_file(self, path: Path, key: str) -> int:
        with open(path, "rb") as fh:
            self._call(f"upload of {key}", self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=fh)
        return path.stat().st_size

    def put_bytes(self, data: bytes, key: str) -> None:
        self._call(f"upload of {key}", self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes:
        return self._call(f"download of {key}", self.client.get_object, Bucket=self.bucket,
                          Key=self._key(key))["Body"].read()

    def list(self, prefix: str) -> dict[str, int]:
        out: dict[str, int] = {}
        token = None
        full = self._key(prefix)
        cut = len(self.prefix) + 1 if self.prefix else 0
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call(f"listing of {prefix}", self.client.list_objects_v2, **kwargs)
            for obj in page.get("Contents", []):
                out[obj["Key"][cut:]] = int(obj["Size"])
            if not page.get("IsTruncated"):
                return out
            token = page.get("NextContinuationToken")

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        batches = [keys[i : i + 1000] for i in range(0, len(keys), 1000)]
        for batch in batches:
            self._call("delete", self.client.delete_objects, Bucket=self.bucket,
                       Delete={"Objects": [{"Key": self._key(k)} for k in batch], "Quiet": True})

    def check(self) -> None:
        # a listing (not HEAD, whose errors have no body) names the cause: wrong secret, unknown key, no bucket
        self._call("access check", self.client.list_objects_v2, Bucket=self.bucket, Prefix=self._key(""), MaxKeys=1)

    def region(self) -> str | None:
        """The bucket's region (GetBucketLocation), or the configured one when it cannot be read."""
        try:
            found = self.client.get_bucket_location(Bucket=self.bucket).get("LocationConstraint")
        except Exception:
            return self.credentials.region_name
        return found or "us-east-1"  # S3 reports us-east-1 as an empty constraint

    def frozen_credentials(self) -> FrozenCredentials | None:
        creds = self.session.get_credentials()
        if creds is None:
            return None
        frozen = creds.get_frozen_credentials()  # the chain's keys right now (refreshed when they expire)
        return FrozenCredentials(frozen.access_key, frozen.secret_key, frozen.token or None)

    def secret_values(self) -> list[str]:
        found = [s for s in (self.credentials.aws_secret_access_key, self.credentials.aws_session_token) if s]
        return found


def s3_error(url: str, what: str, exc: Any) -> Exception:
    err = exc.response.get("Error", {})
    code = str(err.get("Code", "Unknown"))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = err.get("Message") or code
    if code in ("NoSuchBucket",) or (code == "404" and what == "access check"):
        return DestinationTerminalError(f"{url}: the bucket does not exist ({code})")
    if code in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403", "ExpiredToken",
                "InvalidToken"):
        return DestinationTerminalError(f"{url}: {what} refused by S3: {code}: {message}")
    if status and int(status) >= 500 or code in ("SlowDown", "RequestTimeout", "InternalError"):
        return DestinationTransientError(f"{url}: {what} failed: {code}: {message}")
    return DestinationTerminalError(f"{url}: {what} failed: {code}: {message}")


def open_bucket(bucket_url: str, credentials: AwsCredentials, max_parallel: int = 8) -> Bucket:
    """A bucket for `s3://bucket/prefix`, `file:///path` or a plain path."""
    parts = urlsplit(bucket_url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigError(f"bucket_url {bucket_url!r}: an s3 URL needs a bucket name, s3://bucket[/prefix]")
        return S3Bucket(parts.netloc, unquote(parts.path), credentials, max_parallel)
    if parts.scheme == "file":
        return LocalBucket(Path(unquote(parts.path)), max_parallel)
    if parts.scheme in ("", ) or (len(parts.scheme) == 1 and os.name == "nt"):
        return LocalBucket(Path(bucket_url).expanduser().resolve(), max_parallel)
    raise ConfigError(f"bucket_url {bucket_url!r}: use s3://bucket/prefix, file:///path or a local path")
