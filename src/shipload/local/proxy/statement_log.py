"""The proxy's statement log: one JSON object per statement received, written when its outcome is
known (`ok` with the command tag, or `error` with SQLSTATE and message), secrets masked.

Entries wait in the connection's queue from the moment a statement arrives (Query or Parse) until
the server's CommandComplete or ErrorResponse for it passes back; statements of a simple query
that did not run because an earlier one failed are logged as `not run`. With `log_rewritten` the
SQL the proxy sent to PostgreSQL is logged too (`rewritten`)."""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from shipload.local.proxy.sqltokens import Token, render, tokenize

#: words whose following string literal is a secret (COPY/UNLOAD keys, user passwords, ...)
SECRET_WORDS = {"SECRET_ACCESS_KEY", "SESSION_TOKEN", "PASSWORD", "MASTER_SYMMETRIC_KEY"}
#: CREDENTIALS '...' strings: the parts that may stay readable
PUBLIC_CREDENTIAL_PARTS = {"aws_access_key_id", "aws_iam_role"}
#: statements that carry data, not options: no secret syntax to mask
DATA_STATEMENTS = {"INSERT", "SELECT", "UPDATE", "DELETE", "MERGE", "WITH", "VALUES"}
_HEAD = re.compile(r"\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*)*(\w+)", re.DOTALL)
_SECRET_HINT = re.compile(r"CREDENTIALS|SECRET_ACCESS_KEY|SESSION_TOKEN|PASSWORD|MASTER_SYMMETRIC_KEY", re.IGNORECASE)


def masked(sql: str) -> str:
    """`sql` with every secret it carries (COPY/UNLOAD credentials, `PASSWORD '...'` of CREATE/ALTER
    USER, master keys) replaced by ***, anywhere in the statement."""
    head = _HEAD.match(sql)
    if head and head.group(1).upper() in DATA_STATEMENTS:
        return sql  # no secret syntax in DML (and big INSERTs whose data says "password" are not tokenized)
    if not _SECRET_HINT.search(sql):
        return sql  # nothing to mask
    tokens = tokenize(sql)
    sig = [t for t in tokens if t.significant]
    for k, tok in enumerate(sig[:-1]):
        up = tok.upper
        if up not in SECRET_WORDS and up != "CREDENTIALS":
            continue
        nxt = _value_after(sig, k)
        if nxt is None:
            continue
        if up == "CREDENTIALS":
            parts = []
            for part in nxt.text[1:-1].split(";"):
                key, eq, _ = part.partition("=")
                parts.append(part if key.strip().lower() in PUBLIC_CREDENTIAL_PARTS else f"{key}{eq}***")
            nxt.text = "'" + ";".join(parts) + "'"
        else:
            nxt.text = "'***'"
    return render(tokens)


def _value_after(sig: list[Token], k: int) -> Token | None:
    """The string literal after the k-th token, skipping an optional AS / = (`PASSWORD = 'x'`)."""
    j = k + 1
    while j < len(sig) and (sig[j].is_word("AS") or sig[j].text == "="):
        j += 1
    if j < len(sig) and sig[j].kind in ("string", "dollar"):
        return sig[j]
    return None


@dataclass
class Pending:
    entry: dict[str, Any]
    protocol: str
    #: command replies the server sends for this statement (a TRUNCATE in a block is preceded by COMMIT)
    replies: int = 1


@dataclass
class LogState:
    """Per connection: statements waiting for their outcome."""

    pending: deque[Pending] = field(default_factory=deque)


class StatementLog:
    def __init__(self, path: str, log_rewritten: bool = False) -> None:
        self.path = path
        self.log_rewritten = log_rewritten

    def received(self, state: LogState, cid: int, database: str, protocol: str, original: str,
                 rewritten: str | None = None, replies: int = 1) -> None:
        entry: dict[str, Any] = {"t": round(time.time(), 6), "conn": cid, "db": database, "protocol": protocol,
                                 "sql": masked(original)}
        if self.log_rewritten and rewritten is not None:
            entry["rewritten"] = masked(rewritten)
        state.pending.append(Pending(entry, protocol, replies))

    def observe(self, state: LogState, kind: bytes, fields: dict[str, str] | None = None, tag: str = "") -> None:
        """A server message on its way to the client: CommandComplete (C), EmptyQueryResponse (I),
        ErrorResponse (E) or ReadyForQuery (Z)."""
        if kind in (b"C", b"I"):
            if state.pending:
                head = state.pending[0]
                head.replies -= 1
                if head.replies <= 0:
                    state.pending.popleft()
                    self._write(head.entry, outcome="ok", tag=tag)
        elif kind == b"E":
            if state.pending:
                head = state.pending.popleft()
                fields = fields or {}
                self._write(head.entry, outcome="error", code=fields.get("C", ""), message=fields.get("M", ""))
        elif kind == b"Z":
            # the rest of a simple query did not run (an earlier statement failed)
            while state.pending and state.pending[0].protocol == "Q":
                self._write(state.pending.popleft().entry, outcome="not run")

    def closed(self, state: LogState) -> None:
        while state.pending:
            self._write(state.pending.popleft().entry, outcome="no reply")

    def _write(self, entry: dict[str, Any], **outcome: str) -> None:
        entry.update({k: v for k, v in outcome.items() if v})
        entry["ms"] = round((time.time() - entry["t"]) * 1000, 3)
        with open(self.path, "ab") as out:
            out.write(orjson.dumps(entry) + b"\n")


def read_entries(path: str) -> list[dict[str, Any]]:
    """The log's complete entries; a last line still being written (no newline yet) is left out."""
    with open(path, "rb") as fh:
        data = fh.read()
    return [orjson.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines() if line]
