"""Request ids: one per request, on every log line, on the span, in the response.

The id comes from the incoming ``X-Request-ID`` header when it looks safe (so a
gateway's id carries through), or is generated. It lives in a context variable, so
concurrent requests never see each other's, and is bound into structlog's context so
every log line written while serving the request carries ``request_id``.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import structlog
from opentelemetry import trace

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# Anything else (spaces, quotes, newlines, very long values) could forge log lines.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mlvigil_request_id", default=None
)


def _accept_or_generate(candidate: str | None) -> str:
    if candidate is not None and _SAFE_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


def bind_request_id(candidate: str | None = None) -> str:
    """Make ``candidate`` (if safe, else a new id) the current request id, until changed.

    Prefer :func:`request_context`, which also restores the previous id.

    Returns
    -------
    The id now bound.
    """
    request_id = _accept_or_generate(candidate)
    _request_id.set(request_id)
    structlog.contextvars.bind_contextvars(request_id=request_id)
    return request_id


def current_request_id() -> str | None:
    """The request id bound in this context, if any."""
    return _request_id.get()


@contextmanager
def request_context(request_id: str | None = None) -> Iterator[str]:
    r"""Bind a request id for the duration of a block; yields the id.

    Examples
    --------
    >>> with request_context("req-42") as request_id:
    ...     current_request_id()
    'req-42'
    >>> current_request_id() is None
    True
    >>> with request_context("bad id\n{forged}") as request_id:
    ...     request_id != "bad id\n{forged}"
    True
    """
    bound = _accept_or_generate(request_id)
    token = _request_id.set(bound)
    tokens = structlog.contextvars.bind_contextvars(request_id=bound)
    try:
        yield bound
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
        _request_id.reset(token)


class CorrelationIdMiddleware:
    """ASGI middleware giving each HTTP request its request id.

    Takes the id from the request header (if safe) or generates one, binds it while
    the request is served, sets it as the ``request.id`` attribute of the current span,
    and returns it in the same response header.

    Parameters
    ----------
    app
        The ASGI application to wrap (``app.add_middleware(CorrelationIdMiddleware)``).
    header
        Header carrying the id, case-insensitive.
    """

    def __init__(self, app: ASGIApp, header: str = REQUEST_ID_HEADER) -> None:
        self.app = app
        self.header = header.lower()
        self._header_bytes = self.header.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next(
            (
                value.decode("latin-1")
                for name, value in scope.get("headers", ())
                if name.lower() == self._header_bytes
            ),
            None,
        )
        with request_context(incoming) as request_id:
            span = trace.get_current_span()
            if span.is_recording():
                span.set_attribute("request.id", request_id)
            encoded = request_id.encode("latin-1")

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = [
                        (name, value)
                        for name, value in message.get("headers", ())
                        if name.lower() != self._header_bytes
                    ]
                    message = {**message, "headers": [*headers, (self._header_bytes, encoded)]}
                await send(message)

            await self.app(scope, receive, send_with_id)
