"""A TCP relay in front of a Postgres-protocol server that loses the reply to a COMMIT.

Once a simple query starting with `arm_on` was seen, the next statement starting with `cut_at`
(``COMMIT`` by default; the arming statement itself counts) is forwarded to the server, the relay
waits until the server answered (the work is committed), then cuts the client's connection without
passing the answer on: the server committed, the client sees a dropped connection.
Every other byte is relayed unchanged. Needs ``sslmode=disable`` (the relay reads the messages)."""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

_UNTYPED_REQUESTS = (80877103, 80877104)  # SSLRequest, GSSENCRequest: answered by one byte, startup goes on


class CommitDropLink:
    def __init__(self, host: str, port: int, arm_on: str, cut_at: str = "COMMIT", drops: int = 1) -> None:
        self.target = (host, port)
        self.arm_on = arm_on
        self.cut_at = cut_at.upper()
        self.remaining = drops
        self.dropped = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CommitDropLink:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop = True
        self._server.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        hold = threading.Event()
        answered = threading.Event()

        def server_to_client() -> None:
            try:
                while data := upstream.recv(65536):
                    if hold.is_set():
                        answered.set()  # the server's reply to COMMIT: dropped on the floor
                        continue
                    client.sendall(data)
            except OSError:
                pass
            finally:
                answered.set()

        threading.Thread(target=server_to_client, daemon=True).start()
        reader = _Reader(client)
        armed = False
        try:
            while True:  # startup: untyped messages
                length = struct.unpack("!I", reader.read(4))[0]
                body = reader.read(length - 4)
                upstream.sendall(struct.pack("!I", length) + body)
                if struct.unpack("!I", body[:4])[0] not in _UNTYPED_REQUESTS:
                    break
            while True:
                kind = reader.read(1)
                length = struct.unpack("!I", reader.read(4))[0]
                body = reader.read(length - 4)
                message = kind + struct.pack("!I", length) + body
                text = body.rstrip(b"\0").decode("utf-8", "replace") if kind == b"Q" else ""
                if text.lstrip().startswith(self.arm_on):
                    armed = True
                if kind == b"Q" and text.strip().upper().startswith(self.cut_at):
                    with self._lock:
                        drop = armed and self.remaining > 0
                        if drop:
                            self.remaining -= 1
                    if drop:
                        hold.set()
                        upstream.sendall(message)
                        answered.wait(10)
                        self.dropped += 1
                        return
                upstream.sendall(message)
        except (OSError, EOFError, struct.error):
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
