"""The wire proxy: Redshift clients in front, PostgreSQL behind.

Bytes pass through unchanged except: the startup packet (SSL refused, unknown parameters dropped),
`server_version` (reported as 8.0.2), SQL text in Query and Parse messages (rewritten, see
`rewrite.py`), COPY from S3 (emulated, see `copy_s3.py`), and errors the emulation maps to
Redshift's (byte-length VARCHAR, load errors). Every statement received is logged, credentials
masked, to the statement log."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import struct
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from shipload.local.proxy import results, wire
from shipload.local.proxy.copy_s3 import LoadError, S3Reader, SpoolResult, parse_copy, spool_call
from shipload.local.proxy.faults import S3_ENDPOINT_ENV, FaultInjector
from shipload.local.proxy.longnames import LongNames
from shipload.local.proxy.rewrite import REDSHIFT_VERSION, Emulated, Session, Statement, error_sql, rewrite_sql
from shipload.local.proxy.statement_log import LogState, StatementLog

log = logging.getLogger("shipload.local.proxy")

#: startup parameters Postgres understands; the rest (redshift_connector sends several) are dropped
KNOWN_STARTUP = {"user", "database", "options", "application_name", "client_encoding", "datestyle", "timezone",
                 "extra_float_digits", "search_path", "intervalstyle", "replication"}
#: statements Redshift refuses inside a transaction block
IN_BLOCK_ERRORS = {
    "append": "ALTER TABLE APPEND can't run inside a transaction block",
    "alter_type": "ALTER TABLE ALTER COLUMN TYPE cannot run inside a transaction block",
}
_conn_ids = itertools.count(1)
_query_ids = itertools.count(1)


@dataclass
class ProxyConfig:
    listen_host: str
    listen_port: int
    upstream_host: str
    upstream_port: int
    s3_endpoint: str
    iam_roles: dict[str, tuple[str, str]]
    spool_dir: str
    statement_log: str
    admin_dsn: dict[str, Any]  # superuser connection for writing stl_load_errors
    log_rewritten: bool = False  # the statement log also shows the SQL sent to PostgreSQL
    names_file: str = ""  # stand-ins of 64-127 byte identifiers (default: long_names.jsonl beside the log)
    region: str = "us-east-1"  # the cluster's region
    bucket_regions: dict[str, str] = field(default_factory=dict)  # buckets outside the cluster's region

    @classmethod
    def load(cls, path: Path) -> ProxyConfig:
        data = orjson.loads(path.read_bytes())["proxy"]
        data["iam_roles"] = {k: tuple(v) for k, v in data["iam_roles"].items()}
        data["s3_endpoint"] = os.environ.get(S3_ENDPOINT_ENV) or data["s3_endpoint"]  # tests: see faults.py
        return cls(**data)


@dataclass
class CopyTransform:
    extended: bool
    table: str
    spool: SpoolResult | None
    count: int = 0
    query_id: int = field(default_factory=lambda: next(_query_ids))


@dataclass
class Connection:
    cid: int
    database: str = ""
    status: str = "I"  # transaction status from the last ReadyForQuery: I idle, T in block, E failed
    #: one entry per ReadyForQuery the server will send: "pass", "swallow" (an injected statement the
    #: client must not see) or "pass_in_block" (report status T: a BEGIN follows at once)
    replies: deque[str] = field(default_factory=deque)
    #: a TRUNCATE parsed inside a block (extended protocol): "parsed", then "executed" after its Execute
    truncate: str | None = None
    copies: deque[CopyTransform] = field(default_factory=deque)
    log: LogState = field(default_factory=LogState)
    session: Session = field(default_factory=Session)
    #: the current result: indexes of its SUPER columns, and the result formats of the last Bind
    supers: set[int] = field(default_factory=set)
    texts: set[int] = field(default_factory=set)
    formats: list[int] = field(default_factory=list)
    drop_at_ready: bool = False  # test fault: close the client connection at the next ReadyForQuery
    user: str = ""
    #: prepared statements that are COPYs (name -> statement, executed yet): a driver that caches them
    #: (redshift_connector) binds again without a Parse, and each execution must read the bucket anew
    copy_statements: dict[bytes, list[Any]] = field(default_factory=dict)
    #: one entry per Parse/Close sent upstream: True when its reply is the proxy's own (hidden)
    acks: deque[bool] = field(default_factory=deque)
    backend_pid: int = 0  # from BackendKeyData: the session pg_last_copy_count() answers for



class Proxy:
    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.reader = S3Reader(config.s3_endpoint, config.iam_roles, config.region, config.bucket_regions)
        self._admin: dict[str, Any] = {}  # database -> superuser connection (load errors, copy counts)
        self.statement_log = StatementLog(config.statement_log, config.log_rewritten)
        self.names = LongNames(config.names_file or str(Path(config.statement_log).with_name("long_names.jsonl")))
        Path(config.spool_dir).mkdir(parents=True, exist_ok=True)
        self.faults = FaultInjector.from_env()  # tests only: see faults.py

    async def serve(self) -> None:
        server = await asyncio.start_server(self.handle, self.config.listen_host, self.config.listen_port)
        async with server:
            await server.serve_forever()

    # -- one client -----------------------------------------------------------------------------
    async def handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        conn = Connection(next(_conn_ids))
        conn.session.names = self.names
        swriter = None
        try:
            while True:
                code, packet = await wire.read_startup(creader)
                if code in (wire.SSL_REQUEST, wire.GSSENC_REQUEST):
                    cwriter.write(b"N")  # TLS is not emulated
                    await cwriter.drain()
                    continue
                break
            sreader, swriter = await asyncio.open_connection(self.config.upstream_host, self.config.upstream_port)
            if code == wire.CANCEL_REQUEST:
                swriter.write(packet)
                await swriter.drain()
                return
            params = {k: v for k, v in wire.parse_startup(packet).items() if k.lower() in KNOWN_STARTUP}
            conn.database = params.get("database") or params.get("user", "")
            conn.user = params.get("user", "")
            swriter.write(wire.build_startup(params))
            await swriter.drain()
            upstream = asyncio.create_task(self.server_to_client(conn, sreader, cwriter))
            downstream = asyncio.create_task(self.client_to_server(conn, creader, swriter, cwriter))
            try:  # either side closing (the backend terminated, the client gone) ends the connection
                done, _ = await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    exc = task.exception()
                    if exc is not None and not isinstance(exc, (asyncio.IncompleteReadError, ConnectionError)):
                        log.error("connection %s failed: %r", conn.cid, exc)
            finally:
                for task in (upstream, downstream):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("connection %s failed", conn.cid)
        finally:
            self.statement_log.closed(conn.log)
            for writer in (cwriter, swriter):
                if writer is not None:
                    with contextlib.suppress(Exception):
                        writer.close()

    async def client_to_server(
        self, conn: Connection, creader: asyncio.StreamReader, swriter: asyncio.StreamWriter, cwriter: asyncio.StreamWriter
    ) -> None:
        while True:
            kind, body = await wire.read_message(creader)
            if kind == b"Q":
                sql = body[:-1].decode("utf-8")
                fault = self.faults.check(conn.database, sql) if self.faults else None
                if fault is not None and fault.action == "drop":
                    raise ConnectionResetError("injected fault: connection dropped")
                conn.drop_at_ready = fault is not None and fault.action == "drop_after"
                if fault is not None and fault.action == "error":
                    sql = error_sql(fault.message, fault.code)
                out, then_begin = await self.simple_query(conn, sql)
                conn.replies.append("pass_in_block" if then_begin else "pass")
                swriter.write(wire.message(b"Q", wire.cstring(out)))
                if then_begin:
                    self.inject(conn, swriter, "BEGIN")
            elif kind == b"P":
                name, query, rest = wire.parse_parse(body)
                conn.copy_statements.pop(name, None)
                inject, query, copy = await self.parse(conn, query)
                for pre in inject:
                    self.inject(conn, swriter, pre)
                if copy is not None:
                    conn.copy_statements[name] = [copy, rest, False]
                conn.acks.append(False)
                swriter.write(wire.build_parse(name, query, rest))
            elif kind == b"B":
                conn.formats = results.bind_result_formats(body)
                await self.rebind_copy(conn, swriter, body)
                swriter.write(wire.message(kind, body))
            elif kind == b"C":
                conn.acks.append(False)
                if body[:1] == b"S":
                    conn.copy_statements.pop(body[1:-1], None)
                swriter.write(wire.message(kind, body))
            elif kind == b"S":
                # while an extended-protocol TRUNCATE is in flight the client keeps seeing status T
                conn.replies.append("pass_in_block" if conn.truncate else "pass")
                swriter.write(wire.message(kind, body))
                if conn.truncate == "executed":
                    conn.truncate = None
                    self.inject(conn, swriter, "BEGIN")
            elif kind == b"E":
                if conn.truncate == "parsed":
                    conn.truncate = "executed"
                swriter.write(wire.message(kind, body))
            elif kind == b"X":
                swriter.write(wire.message(kind, body))
                await swriter.drain()
                return
            else:
                swriter.write(wire.message(kind, body))
            await swriter.drain()

    @staticmethod
    def inject(conn: Connection, swriter: asyncio.StreamWriter, sql: str) -> None:
        """Send a statement of the proxy's own; its replies are hidden from the client."""
        conn.replies.append("swallow")
        swriter.write(wire.message(b"Q", wire.cstring(sql)))

    async def simple_query(self, conn: Connection, sql: str) -> tuple[str, bool]:
        """The rewritten query text, and whether a BEGIN must follow it (TRUNCATE in a block)."""
        statements = rewrite_sql(sql, conn.session)
        if not statements:
            return sql, False
        conn.formats = []
        in_block = conn.status in ("T", "E")
        out: list[str] = []
        for st in statements:
            self.statement_log.received(conn.log, conn.cid, conn.database, "Q", st.original, st.sql,
                                        replies=2 if st.kind == "truncate" and in_block else 1)
            if st.kind == "copy":
                if len(statements) > 1:
                    out.append(error_sql("the local endpoint runs COPY only as a statement of its own", "0A000"))
                    continue
                out.append(await self.copy(conn, st, extended=False))
            elif st.kind == "truncate" and in_block:
                # Redshift: TRUNCATE commits the open transaction. It runs after a COMMIT, and a new
                # transaction is opened after it (a separate message: a BEGIN inside this one would
                # pull the TRUNCATE into the new transaction)
                out.extend(["COMMIT", st.sql])
                return "; ".join(out), True
            elif st.kind in ("append", "alter_type") and in_block:
                out.append(error_sql(IN_BLOCK_ERRORS[st.kind], "25001"))
            else:
                out.append(st.sql)
            if st.kind == "begin":
                in_block = True
            elif st.kind == "end":
                in_block = False
        return "; ".join(out), False

    async def parse(self, conn: Connection, query: str) -> tuple[list[str], str, Statement | None]:
        statements = rewrite_sql(query, conn.session)
        if len(statements) != 1:
            return [], query, None
        st = statements[0]
        self.statement_log.received(conn.log, conn.cid, conn.database, "P", st.original, st.sql)
        in_block = conn.status in ("T", "E")
        if st.kind == "copy":
            return [], await self.copy(conn, st, extended=True), st
        if st.kind == "truncate" and in_block:
            conn.truncate = "parsed"
            return ["COMMIT"], st.sql, None
        if st.kind in ("append", "alter_type") and in_block:
            return [], error_sql(IN_BLOCK_ERRORS[st.kind], "25001"), None
        return [], st.sql, None

    async def rebind_copy(self, conn: Connection, swriter: asyncio.StreamWriter, bind: bytes) -> None:
        """A prepared COPY bound again without a Parse: read the bucket again and re-prepare the
        statement under its name (the Close and Parse replies are hidden from the client)."""
        portal_end = bind.index(b"\x00")
        name = bind[portal_end + 1 : bind.index(b"\x00", portal_end + 1)]
        entry = conn.copy_statements.get(name)
        if entry is None:
            return
        if not entry[2]:
            entry[2] = True  # the first execution uses the spool made at Parse
            return
        st, rest = entry[0], entry[1]
        self.statement_log.received(conn.log, conn.cid, conn.database, "B", st.original, st.sql)
        sql = await self.copy(conn, st, extended=True)
        conn.acks.extend([True, True])
        swriter.write(wire.message(b"C", b"S" + name + b"\x00"))
        swriter.write(wire.build_parse(name, sql, rest))

    async def copy(self, conn: Connection, st: Statement, extended: bool) -> str:
        assert st.copy is not None
        try:
            cmd = parse_copy(st.copy)
            spool = await asyncio.to_thread(self.reader.spool, cmd, Path(self.config.spool_dir))
        except LoadError as exc:  # the COPY began loading: pg_last_copy_count() is 0 now
            self._set_copy_count(conn, 0)
            return error_sql(exc.message, exc.code)
        except Emulated as exc:  # refused for syntax or privileges: the previous count stays
            return error_sql(exc.message, exc.code)
        except Exception as exc:  # never drop the client's connection over an emulation problem
            log.exception("COPY emulation failed")
            return error_sql(f"COPY failed in the local endpoint: {type(exc).__name__}: {exc}", "XX000")
        conn.copies.append(CopyTransform(extended, cmd.table, spool))
        return spool_call(cmd, spool)

    # -- server to client -----------------------------------------------------------------------
    async def server_to_client(self, conn: Connection, sreader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        while True:
            kind, body = await wire.read_message(sreader)
            mode = conn.replies[0] if conn.replies else "pass"
            if kind == b"Z" and conn.replies:
                conn.replies.popleft()
            if mode == "swallow":
                if kind == b"Z":
                    conn.status = body.decode()
                elif kind == b"E":  # an injected statement failed: log it, the client's own will fail next
                    log.warning("injected statement failed: %s", wire.parse_fields(body).get("M"))
                continue
            if kind == b"Z" and mode == "pass_in_block":
                body = b"T"
            if kind == b"Z" and conn.drop_at_ready:  # injected fault: the reply never arrives
                cwriter.close()
                raise ConnectionResetError("injected fault: connection dropped after the statement ran")
            if kind in (b"1", b"3") and conn.acks:
                if conn.acks.popleft():
                    continue  # the reply to a Close/Parse of the proxy's own
            elif kind == b"Z":
                conn.acks.clear()  # after an error the server skipped to Sync: no reply is pending
            out = self.transform(conn, kind, body)
            if kind in (b"C", b"I", b"E", b"Z"):
                self._observe(conn, out)
            if out:
                cwriter.write(out)
                if kind in (b"Z", b"C", b"E"):
                    await cwriter.drain()

    def _observe(self, conn: Connection, out: bytes) -> None:
        """Tell the statement log what the client is about to see."""
        if not out:
            return
        kind, body = out[:1], out[5:]
        if kind == b"E":
            self.statement_log.observe(conn.log, kind, fields=wire.parse_fields(body))
        elif kind == b"C":
            self.statement_log.observe(conn.log, kind, tag=body.rstrip(b"\x00").decode("utf-8", "replace"))
        else:
            self.statement_log.observe(conn.log, kind)

    def transform(self, conn: Connection, kind: bytes, body: bytes) -> bytes:
        if kind == b"Z":
            conn.status = body.decode()
            return wire.message(kind, body)
        if kind == b"K" and len(body) >= 4:
            conn.backend_pid = struct.unpack("!i", body[:4])[0]
        rename = self.names.original if self.names.originals else None
        if kind == b"T" and not conn.copies:
            body, supers, texts = results.row_description(body, rename)
            conn.supers, conn.texts = set(supers), set(texts)
            return wire.message(kind, body)
        if kind == b"D" and (conn.supers or (rename and conn.texts)) and not conn.copies:
            return wire.message(kind, results.data_row(body, conn.supers, results.format_is_binary(conn.formats),
                                                       conn.texts, rename))
        if kind == b"S":
            name, _, value = body.partition(b"\x00")
            if name == b"server_version":
                return wire.message(kind, wire.cstring("server_version") + wire.cstring(REDSHIFT_VERSION))
            return wire.message(kind, body)
        copy = conn.copies[0] if conn.copies else None
        if copy is not None:
            if kind == b"T":
                return wire.message(b"n", b"") if copy.extended else b""
            if kind == b"D":
                copy.count = _count(wire.first_value(body))
                return b""
            if kind == b"C":
                conn.copies.popleft()
                self._drop_spool(copy)
                self._set_copy_count(conn, copy.count)
                return wire.message(b"C", wire.cstring(f"COPY {copy.count}"))
            if kind == b"N":
                fields = wire.parse_fields(body)
                if fields.get("M", "").startswith("rs_copy_skipped"):
                    self._record_load_errors(conn, copy, fields["M"].split(" ", 1)[1])
                    return b""
            if kind == b"E":
                conn.copies.popleft()
                self._drop_spool(copy)
                self._set_copy_count(conn, 0)
                return self._copy_error(conn, copy, wire.parse_fields(body))
        if kind == b"E" and rename is not None:
            fields = wire.parse_fields(body)
            fields.update({k: self.names.in_text(fields[k]) for k in ("M", "D") if k in fields})
            body = wire.build_fields(fields)
        if kind == b"E":
            fields = wire.parse_fields(body)
            if fields.get("W", "").startswith("PL/pgSQL function inline_code_block"):
                fields.pop("W")  # an emulated error: the DO block that raised it is an implementation detail
                return wire.message(b"E", wire.build_fields(fields))
            constraint = fields.get("n", "")
            if constraint.startswith("rs_bytes_"):
                size = constraint.split("_")[2]
                fields.update({"C": "22001", "M": f"value too long for type character varying({size})"})
                fields.pop("n", None)
                return wire.message(b"E", wire.build_fields(fields))
        return wire.message(kind, body)

    def _copy_error(self, conn: Connection, copy: CopyTransform, fields: dict[str, str]) -> bytes:
        if fields.get("M") != "rs_copy_failed":
            return wire.message(b"E", wire.build_fields(fields))
        errors = orjson.loads(fields.get("D") or "[]")
        errors = errors if isinstance(errors, list) else [errors]
        self._record_load_errors(conn, copy, orjson.dumps(errors).decode())
        first = errors[0] if errors else {}
        url, line = self._locate(copy, first)
        column = f", column {first['col']}" if first.get("col") else ""
        detail = f"{first.get('reason', 'load error')} (file {url}, line {line}{column})"
        if first.get("detail") and first.get("detail") != first.get("reason"):
            detail += f": {first['detail']}"
        fields.update({
            "C": "XX000",
            "M": f"Load into table '{table_name(copy.table)}' failed.  "
                 "Check 'stl_load_errors' system table for details.",
            "D": detail,
        })
        fields.pop("W", None)
        return wire.message(b"E", wire.build_fields(fields))

    @staticmethod
    def _locate(copy: CopyTransform, err: dict[str, Any]) -> tuple[str, int]:
        """The S3 url and line in it of an error: JSON errors name their file, PARQUET rows are counted."""
        line = int(err.get("line", 0) or 0)
        if copy.spool is None or not copy.spool.files:
            return "", line
        if err.get("file") is not None:
            return copy.spool.files[int(err["file"])][1], line
        start, url = copy.spool.files[0]
        for first, candidate in copy.spool.files:
            if first <= line:
                start, url = first, candidate
        return url, line - start + 1

    def _admin_conn(self, database: str) -> Any:
        import psycopg2

        conn = self._admin.get(database)
        if conn is None or conn.closed:
            conn = psycopg2.connect(**dict(self.config.admin_dsn, dbname=database or "dev"))
            conn.autocommit = True
            self._admin[database] = conn
        return conn

    def _set_copy_count(self, client: Connection, count: int) -> None:
        """What pg_last_copy_count() answers in the client's session from now on."""
        if not client.backend_pid:
            return
        try:
            with self._admin_conn(client.database).cursor() as cur:
                cur.execute(
                    "INSERT INTO rs_compat.copy_counts (pid, backend_start, n) SELECT %s, backend_start, %s "
                    "FROM pg_stat_activity WHERE pid = %s ON CONFLICT (pid) DO UPDATE "
                    "SET backend_start = EXCLUDED.backend_start, n = EXCLUDED.n",
                    (client.backend_pid, count, client.backend_pid),
                )
        except Exception:
            self._admin.pop(client.database, None)
            log.exception("could not record the COPY count")

    def _record_load_errors(self, client: Connection, copy: CopyTransform, errors_json: str) -> None:
        """stl_load_errors rows, written outside the client's (failed) transaction."""
        try:
            errors = orjson.loads(errors_json)
            with self._admin_conn(client.database).cursor() as cur:
                for err in errors:
                    url, line = self._locate(copy, err)
                    cur.execute(
                        "INSERT INTO rs_compat.stl_load_errors (userid, session, query, tbl, filename, line_number, "
                        "colname, type, col_length, raw_line, raw_field_value, err_code, err_reason) VALUES "
                        "((SELECT oid::integer FROM pg_roles WHERE rolname = %s), %s, %s, "
                        "to_regclass(%s)::oid::integer, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (client.user, client.backend_pid, copy.query_id, copy.table, url[:256], line,
                         str(err.get("col") or "")[:127], str(err.get("type") or "")[:10],
                         str(err.get("len") or "")[:10], str(err.get("raw") or "")[:1024],
                         None if err.get("value") is None else str(err["value"])[:1024],
                         int(err.get("code") or 1200), str(err.get("reason") or "")[:100]),
                    )
        except Exception:
            self._admin.pop(client.database, None)
            log.exception("could not record load errors")

    @staticmethod
    def _drop_spool(copy: CopyTransform) -> None:
        if copy.spool is not None:
            with contextlib.suppress(OSError):
                os.unlink(copy.spool.path)


def table_name(written: str) -> str:
    """The table's own name (no schema, no quotes), as Redshift's load error names it."""
    from shipload.local.proxy.sqltokens import tokenize

    names = [t.identifier for t in tokenize(written) if t.identifier is not None]
    return names[-1] if names else written


def _count(value: bytes | None) -> int:
    if value is None:
        return 0
    if value.isdigit():
        return int(value)
    if len(value) == 8:
        return struct.unpack("!q", value)[0]
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="shipload local Redshift endpoint: wire proxy")
    parser.add_argument("--config", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    proxy = Proxy(ProxyConfig.load(args.config))
    asyncio.run(proxy.serve())


if __name__ == "__main__":
    main()
