"""What every HTTP exchange goes through: request bodies bounded, responses not sniffed.

:class:`BodyGuard` reads each request body whole before the app sees it, and answers
for the app when the body is too large (413, ``max_body_bytes``), too slow (408,
``limits.body_timeout``) or when the bodies held by the process at once would pass
``limits.max_bodies_in_flight_bytes`` (503 with ``Retry-After``; the SDK's prediction
logger retries). A declared ``Content-Length`` is reserved from that budget before a
byte is read; a chunked body reserves as its chunks arrive. Without it, six concurrent
57 MiB bodies took the process to 1.6 GB.

:class:`NoSniff` marks every response ``X-Content-Type-Options: nosniff``, so a browser
never runs a JSON answer (which may echo client text) as a script or a page.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlvigil.exceptions import MlvigilError
from mlvigil.service.errors import (
    BodyTimeoutError,
    BodyTooLargeError,
    ServiceBusyError,
    error_response,
)

__all__ = ["BodyBudget", "BodyGuard", "NoSniff"]


class BodyBudget:
    """Bytes of request bodies the process may hold at once.

    Taken and given back on the event loop's thread only, so it needs no lock.

    Examples
    --------
    >>> budget = BodyBudget(100)
    >>> budget.take(60), budget.take(60), budget.held
    (True, False, 60)
    >>> budget.give_back(60); budget.held
    0
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, size: int) -> bool:
        """Reserve ``size`` bytes; ``False`` (nothing reserved) when they do not fit."""
        if self.held + size > self.limit:
            return False
        self.held += size
        return True

    def give_back(self, size: int) -> None:
        """Release bytes reserved with :meth:`take`."""
        self.held -= size


class BodyGuard:
    """ASGI middleware: each request body whole, within size, time and the budget.

    Parameters
    ----------
    app
        The application.
    max_body_bytes
        Largest body of one request.
    budget
        The process's budget of bodies in flight.
    body_timeout
        Seconds from the end of the headers to the end of the body.
    """

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, budget: BodyBudget, body_timeout: float
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.budget = budget
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body, then hand the request to the app (or answer for it)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        if declared == 0 or (declared is None and "transfer-encoding" not in headers):
            await self.app(scope, receive, send)  # no body
            return
        held = 0
        try:
            if declared is not None:
                if declared > self.max_body_bytes:
                    raise BodyTooLargeError(
                        f"body of {declared} bytes exceeds the limit of {self.max_body_bytes}"
                    )
                if not self.budget.take(declared):
                    raise _busy()
                held = declared
            chunks: list[bytes] = []
            size = 0
            deadline = asyncio.get_running_loop().time() + self.body_timeout
            more = True
            while more:
                message = await self._next(receive, deadline)
                if message["type"] == "http.disconnect":
                    return  # the client left: nobody to answer
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise BodyTooLargeError(
                        f"body exceeds the limit of {self.max_body_bytes} bytes"
                    )
                if declared is None:
                    if not self.budget.take(len(chunk)):
                        raise _busy()
                    held += len(chunk)
                chunks.append(chunk)
                more = message.get("more_body", False)
        except MlvigilError as error:
            self.budget.give_back(held)
            await _answer(error, scope, receive, send)
            return
        body = b"".join(chunks)
        del chunks
        try:
            await self.app(scope, _replay(body, receive), send)
        finally:
            self.budget.give_back(held)

    async def _next(self, receive: Receive, deadline: float) -> Message:
        """The next message of the body, or :class:`BodyTimeoutError` after the deadline."""
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(receive(), max(remaining, 0))
        except TimeoutError:
            raise BodyTimeoutError(
                f"the request body did not arrive within {self.body_timeout:g} s "
                "(limits.body_timeout)"
            ) from None


class NoSniff:
    """ASGI middleware: ``X-Content-Type-Options: nosniff`` on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hand the request to the app, stamping its response's headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("x-content-type-options", "nosniff")
            await send(message)

        await self.app(scope, receive, stamped)


def _busy() -> ServiceBusyError:
    return ServiceBusyError(
        "the service holds as many request bodies as limits.max_bodies_in_flight_bytes "
        f"allows; retry in {ServiceBusyError.retry_after} s"
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` giving the body read, then what the client sends next (a disconnect)."""
    pending: list[bytes] = [body]

    async def replay() -> MutableMapping[str, Any]:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay


async def _answer(error: MlvigilError, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer ``error`` for the app, closing the connection (its body may be unread)."""
    response = error_response(error)
    response.headers["Connection"] = "close"
    await response(scope, receive, send)
