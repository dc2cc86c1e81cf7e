"""A TCP forwarder a test can shut: in front of the S3 server, it makes "the S3 server stops" real
without stopping the shared one.

`TcpGate(port).start()` listens on a free loopback port and forwards every connection to `port`.
`down()` closes the listening socket (new connections are refused, as by a stopped server) and
resets every open connection (an upload or read in flight breaks off); `up()` listens again on the
same port. Every event goes to `log` (one line each: time, event, byte counts; never payloads)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from pathlib import Path


class TcpGate:
    def __init__(self, target_port: int, log: Path, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.log_path = log
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.is_up = False
        self.events: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _log(self, event: str) -> None:
        line = f"{time.time():.3f} {event}"
        self.events.append(event)
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    # -- the gate ----------------------------------------------------------------------------------
    def start(self) -> TcpGate:
        self._listen()
        return self

    def _listen(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._listener = sock
        self.is_up = True
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()
        self._log(f"up port={self.port} target={self.target[1]}")

    def down(self) -> None:
        """The server stops: refuse new connections, reset open ones."""
        with self._lock:
            if not self.is_up:
                return
            self.is_up = False
            listener, self._listener = self._listener, None
            open_now = list(self._open)
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for conn in open_now:
            _reset(conn)
        self._log(f"down reset={len(open_now)}")

    def up(self) -> None:
        with self._lock:
            if self.is_up:
                return
        self._listen()

    def close(self) -> None:
        self.down()
        self._log("closed")

    # -- forwarding --------------------------------------------------------------------------------
    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: down()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError as exc:
                self._log(f"upstream unreachable: {exc}")
                _reset(client)
                continue
            with self._lock:
                if not self.is_up:
                    _reset(client)
                    _reset(upstream)
                    continue
                self._open.update((client, upstream))
            for src, dst, direction in ((client, upstream, "up"), (upstream, client, "down")):
                threading.Thread(target=self._pump, args=(src, dst, direction), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
            with self._lock:
                gone = src in self._open and dst in self._open
                if direction == "down" and gone:
                    self._open.discard(src)
                    self._open.discard(dst)
            if direction == "down":
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): the peer sees "connection reset", as when a server dies."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()
