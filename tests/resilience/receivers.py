"""A scripted webhook receiver: holds requests until released, echoes secrets in errors.

:class:`ScriptedReceiver` is a real HTTP server on 127.0.0.1, like ``local_receiver``,
that can also

- hold each request until the test releases it, noticing when mlvigil gives up on one
  (its client closed the connection), so a test can tell what mlvigil did while a
  request was in flight;
- answer errors with a body that echoes the request's path and query, as many web
  frameworks' error pages do, so secrets in the URL reach mlvigil in the answer.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    """One request: its path, headers and body, and how it ended."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    """The status answered, ``None`` while held or when abandoned."""
    abandoned: bool = False
    """The client closed the connection before an answer was written."""
    holding: bool = False
    """Held right now, its client still waiting for the answer."""


class ScriptedReceiver:
    """A receiver answering ``respond(n)`` to its n-th request (0-based), holding some.

    Parameters
    ----------
    respond
        The status of the n-th request, given the request.
    hold
        Whether to hold the n-th request until :meth:`release` (or until the client
        gives up on it).
    """

    def __init__(
        self,
        respond: Callable[[int, Seen], int] = lambda n, seen: 200,
        hold: Callable[[int], bool] = lambda n: False,
    ) -> None:
        self.seen: list[Seen] = []
        self.max_held = 0
        self._held = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    n = len(receiver.seen)
                    seen = Seen(self.path, headers, body)
                    receiver.seen.append(seen)
                    held = hold(n) and not receiver._released.is_set()
                if held and not receiver._wait(self.connection, seen):
                    seen.abandoned = True
                    return
                status = respond(n, seen)
                reply = b"{}" if status < 400 else f"Cannot POST {self.path}".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                seen.status = status

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever)
        self._thread.start()

    def _wait(self, connection: socket.socket, seen: Seen) -> bool:
        """Hold until released (True) or until the client hangs up (False)."""
        with self._lock:
            self._held += 1
            self.max_held = max(self.max_held, self._held)
            seen.holding = True
        try:
            while not self._released.wait(0.02):
                readable, _, _ = select.select([connection], [], [], 0)
                if readable and connection.recv(1, socket.MSG_PEEK) == b"":
                    return False
            return True
        finally:
            with self._lock:
                self._held -= 1
                seen.holding = False

    @property
    def held(self) -> int:
        """Requests held right now whose client still waits for the answer."""
        with self._lock:
            return self._held

    def release(self) -> None:
        """Answer the held requests, and every later one at once."""
        self._released.set()

    def answered(self, status: int = 200) -> list[Seen]:
        """Requests answered ``status`` while their client still waited."""
        with self._lock:
            return [s for s in self.seen if s.status == status]

    def stop(self) -> None:
        """Shut the server down and release its port."""
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
