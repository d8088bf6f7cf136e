"""Ingest: predictions and labels (JSON, Arrow IPC or Parquet), and evaluating windows now.

A 2xx on an ingest endpoint means the rows are committed to the store. A batch with a bad
record is rejected whole (422, naming row and field; see :mod:`mlvigil.service.ingest`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import Counter

from mlvigil.exceptions import InputError
from mlvigil.service import ingest
from mlvigil.service.api_models import (
    EvaluatedWindow,
    EvaluationOutcome,
    LabelsStored,
    PredictionsStored,
)
from mlvigil.service.errors import BodyTooLargeError, UnsupportedMediaError, error_responses
from mlvigil.service.monitor import MonitoringService, UnknownModelError
from mlvigil.service.routes.common import utc
from mlvigil.service.store import LabelOutcome

IDEMPOTENCY_HEADER = "idempotency-key"

_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _records_body(item: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI request body: JSON records, or Arrow IPC / Parquet with the same columns."""
    records = {
        "type": "object",
        "required": ["records"],
        "properties": {"records": {"type": "array", "minItems": 1, "items": item}},
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": records},
                ingest.ARROW_TYPES[0]: _BINARY,
                ingest.PARQUET_TYPES[0]: _BINARY,
            },
        }
    }


PREDICTIONS_BODY = _records_body(
    {
        "type": "object",
        "required": ["id", "timestamp", "prediction"],
        "properties": {
            "id": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
            "model_version": {"type": "string"},
            "features": {"type": "object", "additionalProperties": True},
            "prediction": {},
            "score": {"type": "number"},
            "latency_ms": {"type": "number"},
        },
    }
)
LABELS_BODY = _records_body(
    {
        "type": "object",
        "required": ["id", "label"],
        "properties": {
            "id": {"type": "string"},
            "label": {},
            "timestamp": {"type": "string", "format": "date-time"},
        },
    }
)

#: What an ingest endpoint answers besides 201.
INGEST_ERRORS = error_responses(
    InputError, UnknownModelError, BodyTooLargeError, UnsupportedMediaError, ingest.BadBatchError
)


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused as soon as it passes ``limit`` bytes.

    Raises
    ------
    BodyTooLargeError
        When the declared or actual length is over the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(f"body of {declared} bytes exceeds the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def content_kind(request: Request) -> str:
    """``json``, or the Arrow IPC or Parquet media type the body is sent as.

    Raises
    ------
    UnsupportedMediaError
        For any other content type.
    """
    content_type = request.headers.get("content-type", "application/json")
    media = content_type.split(";")[0].strip().lower()
    if media in ingest.JSON_TYPES or media.endswith("+json"):
        return "json"
    if media in ingest.ARROW_TYPES or media in ingest.PARQUET_TYPES:
        return media
    raise UnsupportedMediaError(media)


def router(service: MonitoringService, *, ingested: Counter, unknown_labels: Counter) -> APIRouter:
    """Routes storing predictions and labels, and evaluating windows on demand.

    Parameters
    ----------
    service
        Store, models and evaluation.
    ingested, unknown_labels
        Counters of rows stored (labels ``model``, ``kind``) and of labels whose id
        matched no prediction (label ``model``).
    """
    routes = APIRouter(tags=["ingest"])

    @routes.post(
        "/api/v1/models/{model}/predictions",
        status_code=201,
        openapi_extra=PREDICTIONS_BODY,
        responses=INGEST_ERRORS,
    )
    async def post_predictions(model: str, request: Request) -> PredictionsStored:
        """Store a batch of predictions (JSON, Arrow IPC or Parquet); 201 once committed."""
        config = service.model(model)
        kind = content_kind(request)
        body = await read_body(request, service.config.max_body_bytes)

        def parse_and_store() -> tuple[int, bool]:
            table = ingest.read_predictions(body, kind, config)
            key = request.headers.get(IDEMPOTENCY_HEADER)
            return service.store.insert_predictions(model, table, idempotency_key=key)

        stored, duplicate = await run_in_threadpool(parse_and_store)
        ingested.labels(model, "predictions").inc(stored)
        return PredictionsStored(stored=stored, duplicate_batch=duplicate)

    @routes.post(
        "/api/v1/models/{model}/labels",
        status_code=201,
        openapi_extra=LABELS_BODY,
        responses=INGEST_ERRORS,
    )
    async def post_labels(model: str, request: Request) -> LabelsStored:
        """Store labels joined to predictions by id; unknown ids are counted and reported."""
        config = service.model(model)
        kind = content_kind(request)
        body = await read_body(request, service.config.max_body_bytes)

        def parse_and_store() -> LabelOutcome:
            table = ingest.read_labels(body, kind, config)
            key = request.headers.get(IDEMPOTENCY_HEADER)
            return service.store.insert_labels(model, table, idempotency_key=key)

        outcome = await run_in_threadpool(parse_and_store)
        ingested.labels(model, "labels").inc(outcome.stored)
        unknown_labels.labels(model).inc(outcome.unknown_ids)
        return LabelsStored(
            stored=outcome.stored,
            unknown_ids=outcome.unknown_ids,
            duplicate_batch=outcome.duplicate,
        )

    @routes.post(
        "/api/v1/models/{model}/evaluate",
        response_model_exclude_unset=True,  # `detail` only when no window matched
        responses=error_responses(InputError, UnknownModelError),
    )
    async def post_evaluate(
        model: str,
        start: Annotated[datetime, Query(description="ISO 8601; naive times are UTC")],
        end: Annotated[datetime, Query(description="ISO 8601, exclusive")],
    ) -> EvaluationOutcome:
        """Evaluate the model's windows overlapping ``[start, end)`` now.

        A row-counted window still filling is closed with the rows it has. When no
        window matches, ``detail`` says why.
        """
        service.model(model)
        begin, finish = utc(start), utc(end)
        evaluations = await run_in_threadpool(service.evaluate, model, begin, finish)
        if not evaluations:
            reason = await run_in_threadpool(service.no_windows_reason, model, begin, finish)
            return EvaluationOutcome(windows=[], detail=reason)
        return EvaluationOutcome(
            windows=[
                EvaluatedWindow(
                    start=e.window.start.isoformat(),
                    end=e.window.end.isoformat(),
                    rows=e.window.rows,
                    labelled=e.window.labelled,
                    revision=e.window.revision,
                    results=len(e.results),
                    failed=sum(1 for r in e.results if r.status.value == "failed"),
                )
                for e in evaluations
            ]
        )

    return routes
