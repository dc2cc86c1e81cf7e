"""Test-only fault injection in the wire proxy: errors and dropped connections on chosen statements.

Off unless the proxy starts with ``SHIPLOAD_PROXY_FAULTS=<rules file>`` in its environment (the
reliability suite restarts the proxy that way). The file, a JSON list, is re-read when it changes::

    [{"db": "rs3", "match": "^\\s*COMMIT", "nth": 2, "action": "error", "code": "XX000",
      "message": "1023 ..."}]

Each rule fires once, at the `nth` (default 1) simple-protocol statement of database `db` whose
text matches the regular expression `match` (counted only after a statement matching `after`, when
given: ``"after": "_sl_loads", "match": "^COMMIT"`` is the package's COMMIT); it is then written
to ``<rules file>.fired``.
Actions: ``error`` (the statement is not run and fails with `code` and `message`), ``drop`` (the
client's connection closes before the statement reaches the server) and ``drop_after`` (the
statement runs, then the connection closes before its reply reaches the client).

``SHIPLOAD_PROXY_S3_ENDPOINT=<url>`` makes the proxy's COPY read the bucket through another address
(the reliability suite puts a forwarder there that it can shut: the S3 server stops during COPY)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

ENV = "SHIPLOAD_PROXY_FAULTS"
S3_ENDPOINT_ENV = "SHIPLOAD_PROXY_S3_ENDPOINT"


@dataclass
class Rule:
    db: str
    match: re.Pattern[str]
    action: str
    nth: int = 1
    code: str = "XX000"
    message: str = "injected fault"
    after: re.Pattern[str] | None = None
    seen: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


class FaultInjector:
    def __init__(self, path: str) -> None:
        self.path = path
        self._mtime: float | None = None
        self.rules: list[Rule] = []

    @classmethod
    def from_env(cls) -> FaultInjector | None:
        path = os.environ.get(ENV)
        return cls(path) if path else None

    def _reload(self) -> None:
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            self._mtime, self.rules = None, []
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        with open(self.path, "rb") as fh:
            raw = orjson.loads(fh.read() or b"[]")
        self.rules = [Rule(r["db"], re.compile(r["match"], re.IGNORECASE | re.DOTALL), r["action"], int(r.get("nth", 1)),
                           r.get("code", "XX000"), r.get("message", "injected fault"),
                           re.compile(r["after"], re.IGNORECASE | re.DOTALL) if r.get("after") else None, raw=r)
                      for r in raw]

    def check(self, database: str, sql: str) -> Rule | None:
        """The rule that fires on this statement, if any."""
        self._reload()
        for rule in self.rules:
            if rule.db != database or rule.seen >= rule.nth:
                continue
            if rule.after is not None:
                if rule.after.search(sql):
                    rule.after = None  # armed: count matches from the next statement on
                continue
            if not rule.match.search(sql):
                continue
            rule.seen += 1
            if rule.seen == rule.nth:
                with open(self.path + ".fired", "ab") as out:
                    out.write(orjson.dumps(dict(rule.raw, sql=sql[:200])) + b"\n")
                return rule
        return None
