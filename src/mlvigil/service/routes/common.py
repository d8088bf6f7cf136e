"""What the routes share: times from query parameters, JSON bodies written unvalidated."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from fastapi import Response
from pydantic import TypeAdapter

from mlvigil.exceptions import InputError

_ANY: Final = TypeAdapter(Any)


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive time is taken to be UTC already.

    Raises
    ------
    InputError
        When the time is outside the years 1 to 9999 once in UTC.

    Examples
    --------
    >>> utc(datetime(2026, 1, 1, 10)).isoformat()
    '2026-01-01T10:00:00+00:00'
    """
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise InputError(f"{moment.isoformat()} is outside the years 1 to 9999 in UTC") from None


def json_bytes(body: Any) -> bytes:
    """``body`` as JSON, encoded as FastAPI encodes it but not validated against a model.

    For the large lists (tens of thousands of result rows), whose routes declare their
    model for the schema only: validating each row would cost more than encoding it.

    Examples
    --------
    >>> json_bytes({"value": 0.5, "column": None})
    b'{"value":0.5,"column":null}'
    """
    return _ANY.dump_json(body)


def json_response(content: bytes) -> Response:
    """An ``application/json`` response of bytes already encoded."""
    return Response(content, media_type="application/json")
