"""The local Redshift endpoint: PostgreSQL + the Redshift wire proxy + a SeaweedFS S3 server.

`LocalEndpoint(folder).up()` starts all three on free loopback ports (the proxy on 5439 when free)
and records them in ``endpoint.json``; `down()` stops exactly those processes; a previous run that
crashed is detected (dead pids) and cleaned before a new start."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from shipload.local.ports import free_port, port_is_free
from shipload.local.postgres import LocalServiceError, PostgresServer
from shipload.local.s3server import READER, WRITER, S3Server, process_alive, stop_process
from shipload.utils.files import atomic_write

DATABASE = "dev"
USERNAME = "awsuser"
PASSWORD = "Local-Redshift-Pw1"  # loopback only; documented so a secrets.toml can be written once
BUCKET = "shipload-local"
IAM_ROLE = "arn:aws:iam::000000000000:role/shipload-local-loader"
READ_ONLY_ROLE = "arn:aws:iam::000000000000:role/shipload-local-reader"
REDSHIFT_PORT = 5439
#: the cluster's region and a second bucket in another one (COPY across regions: REGION, see copy_s3.py)
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
OTHER_REGION_BUCKET = "shipload-local-eu"
SLICES = 2


@dataclass
class EndpointInfo:
    folder: str
    redshift_host: str
    redshift_port: int
    database: str
    username: str
    password: str = field(repr=False)  # secrets never show in repr (toml() and env() hand them out)
    postgres_port: int
    s3_endpoint: str
    bucket: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    read_only_access_key_id: str
    read_only_secret_access_key: str = field(repr=False)
    iam_role: str
    read_only_iam_role: str
    statement_log: str
    pids: dict[str, int]
    region: str = REGION  # the cluster's, and the bucket's (SHIPLOAD_LOCAL_BUCKET_REGION may move the bucket)
    bucket_region: str = REGION
    other_region_bucket: str = OTHER_REGION_BUCKET  # a bucket in `other_region`
    other_region: str = OTHER_REGION
    slices: int = SLICES  # rows of stv_slices (SHIPLOAD_LOCAL_SLICES)

    def redshift_url(self) -> str:
        return f"redshift://{self.username}:{self.password}@{self.redshift_host}:{self.redshift_port}/{self.database}"

    def env(self) -> dict[str, str]:
        """Environment variables that point a pipeline at the endpoint."""
        return {
            "DESTINATION__REDSHIFT__CREDENTIALS__HOST": self.redshift_host,
            "DESTINATION__REDSHIFT__CREDENTIALS__PORT": str(self.redshift_port),
            "DESTINATION__REDSHIFT__CREDENTIALS__DATABASE": self.database,
            "DESTINATION__REDSHIFT__CREDENTIALS__USERNAME": self.username,
            "DESTINATION__REDSHIFT__CREDENTIALS__PASSWORD": self.password,
            "DESTINATION__REDSHIFT__CREDENTIALS__SSLMODE": "disable",
            "DESTINATION__FILESYSTEM__BUCKET_URL": f"s3://{self.bucket}",
            "DESTINATION__FILESYSTEM__CREDENTIALS__AWS_ACCESS_KEY_ID": self.access_key_id,
            "DESTINATION__FILESYSTEM__CREDENTIALS__AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "DESTINATION__FILESYSTEM__CREDENTIALS__ENDPOINT_URL": self.s3_endpoint,
            "DESTINATION__FILESYSTEM__CREDENTIALS__REGION_NAME": "us-east-1",
        }

    def toml(self) -> str:
        return (
            "[destination.redshift.credentials]\n"
            f'host = "{self.redshift_host}"\nport = {self.redshift_port}\ndatabase = "{self.database}"\n'
            f'username = "{self.username}"\npassword = "{self.password}"\nsslmode = "disable"\n\n'
            "[destination.filesystem]\n"
            f'bucket_url = "s3://{self.bucket}"\n\n'
            "[destination.filesystem.credentials]\n"
            f'aws_access_key_id = "{self.access_key_id}"\naws_secret_access_key = "{self.secret_access_key}"\n'
            f'endpoint_url = "{self.s3_endpoint}"\nregion_name = "us-east-1"\n\n'
            f"# IAM role for COPY (forward_staging_credentials = false): {self.iam_role}\n"
        )


class LocalEndpoint:
    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        if folder is None:
            project = Path(os.environ.get("SHIPLOAD_PROJECT_DIR", Path.cwd()))
            folder = project / ".shipload" / "local"
        self.folder = Path(folder).resolve()
        self.state_file = self.folder / "endpoint.json"

    # -- state ----------------------------------------------------------------------------------
    def info(self) -> EndpointInfo | None:
        if not self.state_file.exists():
            return None
        data = orjson.loads(self.state_file.read_bytes())
        return EndpointInfo(**data["info"])

    def status(self) -> dict[str, Any]:
        info = self.info()
        if info is None:
            return {"running": False, "services": {}}
        services = {
            "postgres": (info.pids.get("postgres"), info.postgres_port),
            "s3": (info.pids.get("s3"), int(info.s3_endpoint.rsplit(":", 1)[1])),
            "proxy": (info.pids.get("proxy"), info.redshift_port),
        }
        state = {name: {"pid": pid, "port": port, "alive": bool(pid and process_alive(pid)) and _listening(port)}
                 for name, (pid, port) in services.items()}
        return {"running": all(s["alive"] for s in state.values()), "services": state}

    # -- up / down ----------------------------------------------------------------------------------
    def up(self, proxy_port: int | None = None, slices: int | None = None, region: str | None = None,
           bucket_region: str | None = None, log_rewritten: bool | None = None) -> EndpointInfo:
        """Start (or return the running endpoint). `slices` (env SHIPLOAD_LOCAL_SLICES, default 2) is the
        slice count `stv_slices` shows; `region` (SHIPLOAD_LOCAL_REGION) the cluster's region and
        `bucket_region` (SHIPLOAD_LOCAL_BUCKET_REGION, default: the cluster's) the bucket's;
        `log_rewritten` (SHIPLOAD_LOCAL_LOG_REWRITTEN=1) adds the SQL sent to PostgreSQL to the statement log."""
        slices = int(slices or os.environ.get("SHIPLOAD_LOCAL_SLICES") or SLICES)
        region = region or os.environ.get("SHIPLOAD_LOCAL_REGION") or REGION
        bucket_region = bucket_region or os.environ.get("SHIPLOAD_LOCAL_BUCKET_REGION") or region
        if log_rewritten is None:
            log_rewritten = os.environ.get("SHIPLOAD_LOCAL_LOG_REWRITTEN", "") in ("1", "true", "yes")
        current = self.status()
        if current["running"]:
            info = self.info()
            assert info is not None
            return info
        if proxy_port and not port_is_free(proxy_port):
            raise LocalServiceError(
                f"port {proxy_port} on 127.0.0.1 is taken by another program: choose another with --port, "
                f"or leave --port out to use {REDSHIFT_PORT} (or a free port when that is taken)")
        if self.state_file.exists():  # a previous run crashed or was killed: clean it up first
            self.down()
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.folder / "admin.secret").exists():
            # a new endpoint folder: server files left by an earlier folder of the same path are stale
            PostgresServer(self.folder / "postgres", "").stop(remove=True)
        admin_password = self._admin_password()
        pids: dict[str, int] = {}
        try:
            pg = PostgresServer(self.folder / "postgres", admin_password)
            pg.start()
            self._link_server_log(pg)
            pids["postgres"] = pg.pid or 0
            self._save_partial(pids, pg)
            self._prepare_database(pg, slices)
            s3 = S3Server(self.folder / "s3")
            s3.start()
            pids["s3"] = s3.pid or 0
            self._save_partial(pids, pg)
            s3.create_bucket(BUCKET)
            s3.create_bucket(OTHER_REGION_BUCKET)
            port = proxy_port or free_port(REDSHIFT_PORT)
            spool = pg.home / "spool"
            spool.mkdir(exist_ok=True)
            os.chmod(spool, 0o755)
            info = EndpointInfo(
                folder=str(self.folder), redshift_host="127.0.0.1", redshift_port=port, database=DATABASE,
                username=USERNAME, password=PASSWORD, postgres_port=pg.port, s3_endpoint=s3.endpoint_url,
                bucket=BUCKET, access_key_id=WRITER[1], secret_access_key=WRITER[2],
                read_only_access_key_id=READER[1], read_only_secret_access_key=READER[2], iam_role=IAM_ROLE,
                read_only_iam_role=READ_ONLY_ROLE, statement_log=str(self.folder / "statements.log"), pids=pids,
                region=region, bucket_region=bucket_region, slices=slices,
            )
            proxy = {
                "listen_host": "127.0.0.1", "listen_port": port, "upstream_host": "127.0.0.1",
                "upstream_port": pg.port, "s3_endpoint": s3.endpoint_url,
                "iam_roles": {IAM_ROLE: list(WRITER[1:]), READ_ONLY_ROLE: list(READER[1:])},
                "spool_dir": str(spool), "statement_log": info.statement_log, "log_rewritten": log_rewritten,
                "admin_dsn": {"host": "127.0.0.1", "port": pg.port, "user": "postgres", "password": admin_password,
                              "dbname": DATABASE},
                "region": region, "bucket_regions": {BUCKET: bucket_region, OTHER_REGION_BUCKET: OTHER_REGION},
            }
            self._write_state({"info": asdict(info), "proxy": proxy, "admin_password": admin_password})
            pids["proxy"] = self._start_proxy(port)
            self._write_state({"info": asdict(info), "proxy": proxy, "admin_password": admin_password})
            return info
        except BaseException:
            self.down()
            raise

    def _link_server_log(self, pg: PostgresServer) -> None:
        """PostgreSQL's own log, reachable as `postgres.log` in the endpoint folder (as root the
        server's files live in a folder the postgres user owns)."""
        link = self.folder / "postgres.log"
        if pg.log_file == link:
            return
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(pg.log_file)

    def _admin_password(self) -> str:
        """The Postgres superuser's password: made once, kept with the data across down/up."""
        path = self.folder / "admin.secret"
        if not path.exists():
            atomic_write(path, secrets.token_urlsafe(18), mode=0o600)
        return path.read_text().strip()

    def _save_partial(self, pids: dict[str, int], pg: PostgresServer) -> None:
        """Record pids as soon as they exist, so `down` can clean up a start that failed half way."""
        self._write_state({"info": None, "pids": pids, "postgres_folder": str(pg.folder)})

    def _write_state(self, state: dict[str, Any]) -> None:
        atomic_write(self.state_file, orjson.dumps(state, option=orjson.OPT_INDENT_2).decode(), mode=0o600)

    def _prepare_database(self, pg: PostgresServer, slices: int = SLICES) -> None:
        """The Redshift user, the compat objects in template1 (so every new database has them), and
        the `dev` database. Idempotent: data kept from an earlier `up` is left alone."""
        import psycopg2

        def admin(dbname: str) -> Any:
            conn = psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres", password=pg.password, dbname=dbname)
            conn.autocommit = True
            return conn

        conn = admin("postgres")
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            ready = cur.fetchone() is not None
            if not ready:
                # md5, as Redshift uses: redshift_connector's SCRAM client fails on Postgres' SASL list
                cur.execute("SET password_encryption = 'md5'")
                cur.execute(f"CREATE ROLE {USERNAME} LOGIN CREATEDB PASSWORD %s", (PASSWORD,))
                # Redshift reads backslashes in string literals as escapes
                cur.execute(f"ALTER ROLE {USERNAME} SET standard_conforming_strings = off")
                cur.execute(f"ALTER ROLE {USERNAME} SET escape_string_warning = off")
            cur.execute(f"ALTER ROLE {USERNAME} SET rs_compat.slices = %s", (str(int(slices)),))
        conn.close()
        if ready:
            return
        conn = admin("template1")
        with conn.cursor() as cur:
            for script in ("compat.sql", "catalog.sql"):  # catalog.sql: Redshift's catalog views
                cur.execute(resources.files("shipload.local").joinpath(script).read_text("utf-8"))
        conn.close()
        conn = admin("postgres")
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DATABASE} OWNER {USERNAME}")
        conn.close()

    def _start_proxy(self, port: int, timeout: float = 20.0) -> int:
        log = open(self.folder / "proxy.log", "ab")
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipload.local.proxy.server", "--config", str(self.state_file)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env, cwd=self.folder,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                raise LocalServiceError(f"the proxy exited ({proc.returncode}); see {self.folder / 'proxy.log'}")
            if _listening(port):
                time.sleep(0.1)
                if proc.poll() is not None:  # something else answers on the port: ours could not bind
                    raise LocalServiceError(f"the proxy could not listen on port {port}; see {self.folder / 'proxy.log'}")
                return proc.pid
            time.sleep(0.05)
        raise LocalServiceError(f"the proxy did not listen on {port} within {timeout}s")

    def restart_proxy(self, pause: float = 0.0) -> None:
        """Kill the proxy (dropping every client connection) and start it again on the same port."""
        state = orjson.loads(self.state_file.read_bytes())
        info = state["info"]
        stop_process(info["pids"]["proxy"], timeout=2)
        deadline = time.time() + 10
        while _listening(info["redshift_port"]):  # the old proxy's socket first: only ours may answer next
            if time.time() > deadline:
                raise LocalServiceError(f"port {info['redshift_port']} is still taken after stopping the proxy")
            time.sleep(0.05)
        time.sleep(pause)
        info["pids"]["proxy"] = self._start_proxy(info["redshift_port"])
        self._write_state(state)

    def down(self, remove_data: bool = False) -> list[str]:
        """Stop every process this endpoint started; returns what was stopped."""
        stopped: list[str] = []
        state: dict[str, Any] = {}
        if self.state_file.exists():
            with contextlib.suppress(Exception):
                state = orjson.loads(self.state_file.read_bytes())
        info = state.get("info") or {}
        pids = dict(state.get("pids") or {}, **(info.get("pids") or {}))
        for name in ("proxy", "s3"):
            pid = pids.get(name)
            if pid and process_alive(pid):
                stop_process(pid)
                stopped.append(name)
        pg = PostgresServer(self.folder / "postgres", "")
        if pg.pid and process_alive(pg.pid):
            pg.stop()
            stopped.append("postgres")
        pg_pid = pids.get("postgres")
        if pg_pid and process_alive(pg_pid):  # pg_ctl could not stop it: stop the postmaster itself
            stop_process(pg_pid)
        self.state_file.unlink(missing_ok=True)
        if remove_data:
            pg.stop(remove=True)
            import shutil

            shutil.rmtree(self.folder, ignore_errors=True)
        return stopped


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0
