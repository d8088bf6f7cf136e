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

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mlvigil.alerts.notifiers import DeliveryError
from mlvigil.exceptions import InputError, MlvigilError
from mlvigil.service import ingest
from mlvigil.service.api_models import BadBatchBody, ErrorBody
from mlvigil.service.monitor import UnknownModelError, UnknownReceiverError, UnknownSilenceError

__all__ = [
    "ERROR_STATUS",
    "BodyTooLargeError",
    "UnsupportedMediaError",
    "error_body",
    "error_responses",
    "install_error_handlers",
    "status_of",
]


class BodyTooLargeError(InputError):
    """The request body exceeds the configured limit."""


class UnsupportedMediaError(InputError):
    """A body in a format the endpoint does not read."""

    def __init__(self, media: str) -> None:
        super().__init__(
            f"unsupported content type {media!r}; send application/json, "
            f"{ingest.ARROW_TYPES[0]} or {ingest.PARQUET_TYPES[0]}"
        )


#: HTTP status of each exception class the service answers for (most specific first).
ERROR_STATUS: Final[Mapping[type[MlvigilError], int]] = MappingProxyType(
    {
        ingest.BadBatchError: 422,
        UnknownModelError: 404,
        UnknownReceiverError: 404,
        UnknownSilenceError: 404,
        BodyTooLargeError: 413,
        UnsupportedMediaError: 415,
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
    return body


async def _answer(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, MlvigilError)  # installed for ERROR_STATUS's classes only
    return JSONResponse(status_code=status_of(error), content=error_body(error))


def install_error_handlers(app: FastAPI) -> None:
    """Answer every exception class of :data:`ERROR_STATUS` with its status and body."""
    for cls in ERROR_STATUS:
        app.add_exception_handler(cls, _answer)


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
