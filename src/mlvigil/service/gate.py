"""The service's front door: host, credential and body type, before any route runs.

:class:`Gate` is ASGI middleware, so it answers before FastAPI reads or parses a body:

1. the ``Host`` header must be trusted (400; refuses DNS rebinding), except on the
   probes;
2. the request must carry the scope its method and path need
   (:func:`~mlvigil.service.auth.scope_needed`; 401 without or with an unknown token,
   403 with one lacking the scope);
3. a body must declare a supported ``Content-Type`` (415): JSON, Arrow IPC or
   Parquet, never a default. A page on another origin can send a body only without
   a preflight, that is as ``text/plain``, a form or no type at all; a JSON body needs a
   CORS preflight, which the service never grants (it sends no CORS headers).

Refusals are logged with the client's address; accepted ``admin`` actions with the name
of the token that took them (never its secret) and their status.
:func:`secure_openapi` documents the same in the OpenAPI schema: the bearer scheme, and
each operation's scope and refusals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlvigil.exceptions import MlvigilError
from mlvigil.service.auth import (
    PROBES,
    Access,
    TrustedHosts,
    UntrustedHostError,
    scope_needed,
)
from mlvigil.service.errors import UnsupportedMediaError, error_response, error_responses
from mlvigil.service.routes.ingest import media_kind

__all__ = ["Gate", "secure_openapi"]

_log = logging.getLogger("mlvigil.service.auth")

#: The OpenAPI security scheme of the service's tokens.
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "A secret of security.tokens in mlvigil.yaml, as Authorization: Bearer <token>.",
}


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return (length is not None and length.strip() != "0") or "transfer-encoding" in headers


class Gate:
    """ASGI middleware checking every HTTP request's host, scope and body type.

    Parameters
    ----------
    app
        The application behind the gate.
    access
        The tokens, and which scopes are open.
    hosts
        The host names the service answers to.
    """

    def __init__(self, app: ASGIApp, *, access: Access, hosts: TrustedHosts) -> None:
        self.app = app
        self.access = access
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a refused request at once; pass the others on (logging admin actions)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method, path = scope["method"], scope["path"]
        needed = scope_needed(method, path)
        try:
            if path not in PROBES:
                self.hosts.check(headers.get("host"))
            authorization = headers.get("authorization")
            token = None if needed is None else self.access.check(authorization, needed)
            if _has_body(headers):
                media_kind(headers.get("content-type"))
        except MlvigilError as error:
            refusal = error_response(error)
            client = scope.get("client")
            _log.warning(
                "refused %s %s: %s",
                method,
                path,
                error,
                extra={"client": client[0] if client else None, "status": refusal.status_code},
            )
            await refusal(scope, receive, send)
            return
        if needed != "admin" or token is None:
            await self.app(scope, receive, send)
            return
        logged = False

        def log(status: int) -> None:
            nonlocal logged
            logged = True
            _log.info(
                "admin action by token %r: %s %s answered %d",
                token.name,
                method,
                path,
                status,
                extra={"token": token.name, "method": method, "path": path, "status": status},
            )

        async def send_logging_first(message: Message) -> None:
            # Logged before the client has the answer: the record never lags the action.
            if message["type"] == "http.response.start" and not logged:
                log(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_logging_first)
        finally:
            if not logged:  # the app failed before answering; the server answers 500
                log(500)


def secure_openapi(app: FastAPI, access: Access) -> None:
    """Make ``app``'s OpenAPI schema declare the bearer scheme and each operation's scope.

    Each operation that needs a scope says which in its description, lists the bearer
    requirement (optional where the scope is open) and documents the refusals it can
    answer with: 401, 403, 400 for an untrusted host, 415 for a body of the wrong type.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = build()  # FastAPI keeps it: documented once
        if fresh:
            _document(schema, access)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def _document(schema: dict[str, Any], access: Access) -> None:
    schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = BEARER
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            needed = scope_needed(method, path)
            if needed is None:
                continue
            refusals: list[type[MlvigilError]] = [*access.refusals(needed), UntrustedHostError]
            if "requestBody" in operation:
                refusals.append(UnsupportedMediaError)
            if access.has_tokens:  # optional where a request without a token may read
                bearer: dict[str, list[str]] = {"bearer": []}
                operation["security"] = [{}, bearer] if access.is_open(needed) else [bearer]
            note = f"Needs a token with the `{needed}` scope."
            if access.is_open(needed):
                note = f"The `{needed}` scope, open to requests without a token here."
            operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
            responses = operation.setdefault("responses", {})
            for status, answer in error_responses(*refusals).items():
                documented = responses.get(str(status))
                if documented is None:
                    body = answer["model"].__name__
                    responses[str(status)] = {
                        "description": answer["description"],
                        "content": {
                            "application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}
                        },
                    }
                elif answer["description"] not in documented["description"]:
                    documented["description"] += f" Or: {answer['description']}"
