"""The one mapping from mlvigil's exceptions to HTTP answers.

:data:`ERROR_STATUS` gives each exception class the service answers for its status; an
exception takes the status of the first of its classes (its own, then its bases) in the
table, so :class:`~mlvigil.exceptions.InputError` covers every client mistake without
a more precise entry. :func:`install_error_handlers` installs one handler for all of
them, and :func:`error_responses` documents the same statuses in the OpenAPI schema of
the routes that raise them. Every error body is ``{"detail": "..."}``; a bad batch adds
its ``problems`` (row, field, message) and ``problem_count``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mlvigil.alerts.notifiers import DeliveryError
from mlvigil.exceptions import InputError, MlvigilError
from mlvigil.service import ingest
from mlvigil.service.api_models import BadBatchBody, ErrorBody
from mlvigil.service.auth import CredentialError, ScopeError, UntrustedHostError
from mlvigil.service.lookup_errors import (
    ModelElsewhereError,
    UnknownModelError,
    UnknownReceiverError,
    UnknownSilenceError,
)
from mlvigil.service.store import IdempotencyConflictError

__all__ = [
    "ERROR_STATUS",
    "BodyTimeoutError",
    "BodyTooLargeError",
    "ServiceBusyError",
    "UnsupportedMediaError",
    "error_body",
    "error_response",
    "error_responses",
    "install_error_handlers",
    "status_of",
]


class BodyTooLargeError(InputError):
    """The request body exceeds the configured limit."""


class UnsupportedMediaError(InputError):
    """A body in a format the endpoint does not read."""

    def __init__(self, media: str) -> None:
        given = f"unsupported content type {media!r}" if media else "a body without a Content-Type"
        super().__init__(
            f"{given}; send application/json, {ingest.ARROW_TYPES[0]} or "
            f"{ingest.PARQUET_TYPES[0]} (and {ingest.PROFILE_TYPE} to /profiles, "
            f"{ingest.PERFORMANCE_TYPE} to /performance)"
        )


class BodyTimeoutError(InputError):
    """The request body did not arrive within the configured time."""


class ServiceBusyError(MlvigilError):
    """The service holds as many request bodies as it may; retry after Retry-After seconds."""

    #: Seconds a client should wait before it retries (the ``Retry-After`` header).
    retry_after = 1


#: HTTP status of each exception class the service answers for (most specific first).
ERROR_STATUS: Final[Mapping[type[MlvigilError], int]] = MappingProxyType(
    {
        ingest.BadBatchError: 422,
        ModelElsewhereError: 421,
        UnknownModelError: 404,
        UnknownReceiverError: 404,
        UnknownSilenceError: 404,
        BodyTooLargeError: 413,
        BodyTimeoutError: 408,
        ServiceBusyError: 503,
        UnsupportedMediaError: 415,
        IdempotencyConflictError: 409,
        UntrustedHostError: 400,
        CredentialError: 401,
        ScopeError: 403,
        DeliveryError: 502,
        InputError: 400,
    }
)


def status_of(error: MlvigilError) -> int:
    """The status of ``error``: that of the first of its classes in :data:`ERROR_STATUS`.

    Examples
    --------
    >>> status_of(UnsupportedMediaError("text/csv")), status_of(InputError("bad"))
    (415, 400)
    """
    for cls in type(error).__mro__:
        status = ERROR_STATUS.get(cls)
        if status is not None:
            return status
    raise TypeError(f"{type(error).__name__} has no HTTP status in ERROR_STATUS")


def error_body(error: MlvigilError) -> dict[str, Any]:
    """The JSON body answering ``error``: its message, and a bad batch's problems.

    Examples
    --------
    >>> error_body(BodyTooLargeError("body exceeds the limit of 10 bytes"))
    {'detail': 'body exceeds the limit of 10 bytes'}
    """
    body: dict[str, Any] = {"detail": str(error)}
    if isinstance(error, ingest.BadBatchError):
        body["problems"] = [p.to_dict() for p in error.problems]
        body["problem_count"] = error.total
    if isinstance(error, ModelElsewhereError):
        body["instance"] = error.instance
    return body


def error_response(error: MlvigilError) -> JSONResponse:
    """The answer to ``error``: its status and body; a 401 says to send a bearer token."""
    headers = (
        {"WWW-Authenticate": 'Bearer realm="mlvigil"'}
        if isinstance(error, CredentialError)
        else None
    )
    if isinstance(error, ServiceBusyError):
        headers = {"Retry-After": str(error.retry_after)}
    if isinstance(error, ModelElsewhereError):
        headers = {"Location": error.instance}
    return JSONResponse(status_code=status_of(error), content=error_body(error), headers=headers)


async def _answer(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, MlvigilError)  # installed for ERROR_STATUS's classes only
    return error_response(error)


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 for a request that fails validation, with a body that always encodes.

    Each problem echoes its input, and a non-finite number (``"duration": NaN``) is no
    JSON: the default answer failed to encode, a 500. Such inputs are echoed as text,
    and long texts shortened (a 10 MB field is not sent back).
    """
    assert isinstance(error, RequestValidationError)
    problems = jsonable_encoder(_encodable(error.errors()))
    return JSONResponse(status_code=422, content={"detail": problems})


def _encodable(value: Any) -> Any:
    """``value`` with non-finite floats as their JSON-ish names, long texts shortened.

    Examples
    --------
    >>> _encodable({"input": [float("nan"), float("-inf"), 1.5, "x" * 300]})["input"][:3]
    ['NaN', '-Infinity', 1.5]
    >>> len(_encodable("x" * 300))
    201
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str) and len(value) > _ECHOED:
        return value[:_ECHOED] + "…"
    if isinstance(value, Mapping):
        return {key: _encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(item) for item in value]
    return value


#: Characters of a bad input echoed in a 422.
_ECHOED = 200


def install_error_handlers(app: FastAPI) -> None:
    """Answer every exception class of :data:`ERROR_STATUS` with its status and body.

    Requests FastAPI cannot validate keep its 422 (``{"detail": [problems]}``).
    """
    for cls in ERROR_STATUS:
        app.add_exception_handler(cls, _answer)
    app.add_exception_handler(RequestValidationError, _invalid)


def error_responses(*errors: type[MlvigilError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a route that raises ``errors``: status, body, meaning.

    Classes sharing a status are described together, each by its docstring's first line.

    Examples
    --------
    >>> responses = error_responses(UnknownModelError, BodyTooLargeError)
    >>> sorted(responses), responses[413]["description"]
    ([404, 413], 'The request body exceeds the configured limit.')
    """
    described: dict[int, tuple[type[ErrorBody], list[str]]] = {}
    for cls in errors:
        status = ERROR_STATUS.get(cls)
        if status is None:
            raise TypeError(f"{cls.__name__} has no HTTP status in ERROR_STATUS")
        body = BadBatchBody if issubclass(cls, ingest.BadBatchError) else ErrorBody
        meaning = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
        described.setdefault(status, (body, []))[1].append(meaning)
    return {
        status: {"model": body, "description": " Or: ".join(meanings)}
        for status, (body, meanings) in described.items()
    }
