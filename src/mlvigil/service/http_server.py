"""Serving the app: uvicorn with a deadline on request headers, and a clean stop.

uvicorn times out idle kept-alive connections but not a client that opens a
connection and sends half a request line, or its headers a byte at a time: such a
client held a connection (and a file descriptor) for as long as it liked.
:class:`GuardedHttpToolsProtocol` gives each request's headers ``limits.header_timeout``
and at most :data:`MAX_HEADER_BYTES`, then answers 408 or 431 and closes the connection.
The body has its own deadline (:class:`~mlvigil.service.http_guards.BodyGuard`).

On SIGTERM or SIGINT, :func:`run` stops accepting connections, gives requests in flight
``limits.shutdown_timeout``, stops the scheduler and returns, so the caller can close
the service (checkpointing its store) and exit 0. uvicorn itself raises the signal
again once it has stopped, which killed the process (exit 143) before the store was
closed; a second signal still stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import HANDLED_SIGNALS

from mlvigil.service.policies import Limits

__all__ = ["MAX_HEADER_BYTES", "GuardedHttpToolsProtocol", "guarded_protocol", "run"]

#: Most bytes of a request line and headers (uvicorn's h11 parser allows 16 KiB; its
#: httptools parser has no limit).
MAX_HEADER_BYTES = 64 * 1024


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit on request headers."""

    #: Seconds a client has to send a request's line and headers (set by a subclass).
    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers_due: asyncio.TimerHandle | None = None
        self._header_bytes: int | None = None  # None while no headers are expected
        self._tail = b""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept the connection; its first request's headers are due."""
        super().connection_made(transport)
        self._expect_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline of a connection that is gone."""
        self._headers_done()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Count the bytes of headers, refusing them past :data:`MAX_HEADER_BYTES`."""
        if self._header_bytes is not None:
            # Up to the blank line ending the headers (it may straddle two reads).
            joined = self._tail + data
            end = joined.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            self._tail = joined[-3:]
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse(431, f"request line and headers exceed {MAX_HEADER_BYTES} bytes")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        """A request begins: on a kept-alive connection, its headers are due now."""
        super().on_message_begin()
        if self._headers_due is None:
            self._expect_headers()

    def on_headers_complete(self) -> None:
        """The headers arrived in time; the body has a deadline of its own."""
        self._headers_done()
        super().on_headers_complete()

    def _expect_headers(self) -> None:
        self._header_bytes, self._tail = 0, b""
        self._headers_due = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_done(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None
        self._header_bytes = None

    def _headers_late(self) -> None:
        self._headers_due = None
        cycle = getattr(self, "cycle", None)
        if cycle is not None and not cycle.response_complete:
            # A pipelined request waits behind one still answered: give it more time.
            self._headers_due = self.loop.call_later(self.header_timeout, self._headers_late)
            return
        self._refuse(
            408,
            f"request headers not received within {self.header_timeout:g} s "
            "(limits.header_timeout)",
        )

    def _refuse(self, status: int, detail: str) -> None:
        """Answer ``status`` (unless a response is under way) and close the connection."""
        self._headers_done()
        if self.transport.is_closing():
            return
        cycle = getattr(self, "cycle", None)
        if cycle is None or cycle.response_complete:
            body = orjson.dumps({"detail": detail})
            reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                b"x-content-type-options: nosniff\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (status, reason, len(body), body)
            )
        self.transport.close()


def guarded_protocol(limits: Limits) -> type[GuardedHttpToolsProtocol]:
    """The protocol class for uvicorn's ``http=``, with the configured header deadline."""

    class Configured(GuardedHttpToolsProtocol):
        header_timeout = limits.header_timeout.total_seconds()

    return Configured


class _Server(uvicorn.Server):
    """uvicorn's server, except that the signal that stopped it is not raised again."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run(app: Any, *, host: str, port: int, limits: Limits, log_level: str) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then return once it has stopped cleanly.

    Requests in flight get ``limits.shutdown_timeout`` to finish; the app's lifespan
    then stops the scheduler. A second signal stops at once.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(limits),
        log_config=None,
        log_level=log_level,
        timeout_graceful_shutdown=max(1, round(limits.shutdown_timeout.total_seconds())),
    )
    _Server(config).run()
