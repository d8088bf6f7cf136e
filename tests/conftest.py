"""Fixtures shared across the test tree."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class ReceivedRequest:
    """One POST a :class:`LocalReceiver` got, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int


class LocalReceiver:
    """A real HTTP server on 127.0.0.1 standing in for a remote service.

    Records every POST; ``respond(n, path)`` gives the status for the n-th request
    (0-based), 200 by default. Error answers carry a JSON ``detail``.
    """

    REJECTION = b'{"detail": "rejected by the test receiver"}'

    def __init__(self, respond: Callable[[int, str], int] = lambda n, path: 200) -> None:
        self.requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status = respond(len(receiver.requests), self.path)
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.requests.append(ReceivedRequest(self.path, headers, body, status))
                reply = b"{}" if status < 400 else receiver.REJECTION
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever)
        self._thread.start()

    def received(self, path_suffix: str = "") -> list[ReceivedRequest]:
        """Requests whose path ends with ``path_suffix``, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(path_suffix)]

    def stop(self) -> None:
        """Shut the server down and release its port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def local_receiver() -> Iterator[Callable[..., LocalReceiver]]:
    """Start :class:`LocalReceiver` servers; all are stopped after the test."""
    started: list[LocalReceiver] = []

    def start(respond: Callable[[int, str], int] = lambda n, path: 200) -> LocalReceiver:
        started.append(LocalReceiver(respond))
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()
