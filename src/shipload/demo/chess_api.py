"""A local HTTP server shaped like the chess.com public API, serving data held in memory.

Routes (as on api.chess.com and www.chess.com)::

    /pub/player/{username}                      profile
    /pub/player/{username}/games/archives       {"archives": [<archive url>, ...]}
    /pub/player/{username}/games/{YYYY}/{MM}    {"games": [...]}
    /callback/user/popup/{username}             {"onlineStatus": ..., "lastLoginDate": ...}

Like chess.com it answers 403 to a User-Agent without contact details, and it can be told to
answer the next requests with an error (`fail_next(429, 2)`) to exercise retries."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

CONTACT_MARKERS = ("contact", "@", "username:")


def has_contact(user_agent: str) -> bool:
    ua = user_agent.lower()
    return any(m in ua for m in CONTACT_MARKERS)


@dataclass
class ChessData:
    """profiles by username; games by (username, "YYYY/MM"); online status by username."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    games: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    status: dict[str, dict[str, Any]] = field(default_factory=dict)

    def months(self, username: str) -> list[str]:
        return sorted(m for (u, m) in self.games if u == username)

    def add_game(self, username: str, month: str, game: dict[str, Any]) -> None:
        self.games.setdefault((username, month), []).append(game)

    def game_count(self) -> int:
        return len({g["uuid"] for games in self.games.values() for g in games})


_ROUTES = (
    (re.compile(r"^/pub/player/([^/]+)$"), "profile"),
    (re.compile(r"^/pub/player/([^/]+)/games/archives$"), "archives"),
    (re.compile(r"^/pub/player/([^/]+)/games/(\d{4})/(\d{2})$"), "games"),
    (re.compile(r"^/callback/user/popup/([^/]+)$"), "status"),
)


class ChessApiServer:
    """Serve `data` on a free loopback port; use as a context manager."""

    def __init__(self, data: ChessData, require_contact: bool = True) -> None:
        self.data = data
        self.require_contact = require_contact
        self.requests: list[tuple[str, str]] = []  # (path, user agent)
        self._faults: deque[tuple[int, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        self._active = 0
        self.max_active = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ----------------------------------------------------------------------------------
    def fail_next(self, status: int, count: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `count` requests with `status` (e.g. 429, 503)."""
        for _ in range(count):
            self._faults.append((status, dict(headers or {})))

    def stall_next(self, seconds: float, count: int = 1) -> None:
        """Answer the next `count` requests only after `seconds` (to exercise client timeouts)."""
        for _ in range(count):
            self._faults.append((0, {"stall": str(seconds)}))

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/pub/"

    def start(self) -> ChessApiServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="chess-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ChessApiServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- requests ---------------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        ua = req.headers.get("User-Agent", "")
        with self._lock:
            self.requests.append((req.path, ua))
            self._active += 1
            self.max_active = max(self.max_active, self._active)
            fault = self._faults.popleft() if self._faults else None
        try:
            if fault is not None and fault[0] == 0:
                time.sleep(float(fault[1]["stall"]))
                fault = None
            if fault is not None:
                self._send(req, fault[0], {"code": 0, "message": "injected error"}, fault[1])
            elif self.require_contact and not has_contact(ua):
                self._send(req, 403, {"code": 0, "message": "Forbidden: add contact details to your User-Agent"})
            else:
                status, body = self._route(req.path)
                self._send(req, status, body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            pass
        finally:
            with self._lock:
                self._active -= 1

    def _route(self, path: str) -> tuple[int, Any]:
        for pattern, kind in _ROUTES:
            m = pattern.match(path)
            if not m:
                continue
            user = m.group(1).lower()
            if kind == "profile" and user in self.data.profiles:
                return 200, self.data.profiles[user]
            if kind == "archives" and user in self.data.profiles:
                return 200, {"archives": [f"{self.api_url}player/{user}/games/{mo}" for mo in self.data.months(user)]}
            if kind == "games" and user in self.data.profiles:
                month = f"{m.group(2)}/{m.group(3)}"
                return 200, {"games": list(self.data.games.get((user, month), []))}
            if kind == "status" and user in self.data.status:
                return 200, self.data.status[user]
        return 404, {"code": 0, "message": f"Data provider not found for key \"{path}\"."}

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = orjson.dumps(body)
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(raw)
