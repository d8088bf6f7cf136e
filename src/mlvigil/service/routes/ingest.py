"""Ingest: predictions and labels (JSON, Arrow IPC or Parquet), and evaluating windows now.

A 2xx on an ingest endpoint means the rows are committed to the store. A batch with a bad
record is rejected whole (422, naming row and field; see :mod:`mlvigil.service.ingest`),
its rows counted by reason; an idempotency key reused for another body is a 409.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

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
    ProfileStored,
)
from mlvigil.service.errors import (
    BodyTimeoutError,
    BodyTooLargeError,
    ServiceBusyError,
    UnsupportedMediaError,
    error_responses,
)
from mlvigil.service.lookup_errors import UnknownModelError
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.push import push_performance, push_profile
from mlvigil.service.routes.common import utc
from mlvigil.service.store import IdempotencyConflictError, LabelOutcome, PredictionOutcome

IDEMPOTENCY_HEADER = "idempotency-key"

Stored = TypeVar("Stored")

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
    InputError,
    UnknownModelError,
    BodyTooLargeError,
    BodyTimeoutError,  # these two answered by the body guard (service.http_guards)
    ServiceBusyError,
    UnsupportedMediaError,
    ingest.BadBatchError,
    IdempotencyConflictError,
)


def media_kind(content_type: str | None) -> str:
    """``json``, or the Arrow IPC or Parquet media type of a ``Content-Type`` header.

    No header is no type, never JSON by default: a browser page on another origin can
    send a body without one (or as ``text/plain``) and no preflight, so such a body is
    refused.

    Raises
    ------
    UnsupportedMediaError
        For any other content type, or none.

    Examples
    --------
    >>> media_kind("application/json; charset=utf-8"), media_kind("application/x-parquet")
    ('json', 'application/x-parquet')
    """
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ingest.JSON_TYPES or media.endswith("+json"):
        return "json"
    if media in (*ingest.ARROW_TYPES, *ingest.PARQUET_TYPES, *_SUMMARY_TYPES):
        return media
    raise UnsupportedMediaError(media)


_SUMMARY_TYPES = (ingest.PROFILE_TYPE, ingest.PERFORMANCE_TYPE)
#: The query parameters of a pushed summary (profile or performance state).
PushedWindow = Annotated[
    datetime, Query(description="Any moment of the window (ISO 8601; naive is UTC)")
]
PushSource = Annotated[
    str,
    Query(
        pattern=r"^[A-Za-z0-9._:-]{1,100}$",
        description="Who computed it (a job, a partition); a push again from the same "
        "source replaces what it pushed before",
    ),
]


def router(
    service: MonitoringService, *, ingested: Counter, unknown_labels: Counter, rejected: Counter
) -> APIRouter:
    """Routes storing predictions and labels, and evaluating windows on demand.

    Parameters
    ----------
    service
        Store, models and evaluation.
    ingested, unknown_labels, rejected
        Counters of rows stored (labels ``model``, ``kind``), of labels whose id
        matched no prediction (label ``model``) and of rows refused (``model``,
        ``reason``).
    """
    routes = APIRouter(tags=["ingest"])

    def admission(model: str) -> ingest.Admission:
        """The bounds a batch of ``model`` is held to, now."""
        return ingest.Admission.around(
            service.clock(),
            accept=service.config.accept,
            limits=service.config.limits,
            retention=service.model(model).retention,
        )

    async def counting_refusals(model: str, work: Callable[[], Stored]) -> Stored:
        """``work`` off the event loop; the rows of a refused batch counted by reason."""
        try:
            return await run_in_threadpool(work)
        except ingest.BadBatchError as error:
            for reason, rows in error.rejected.items():
                rejected.labels(model, reason).inc(rows)
            raise

    @routes.post(
        "/api/v1/models/{model}/predictions",
        status_code=201,
        openapi_extra=PREDICTIONS_BODY,
        responses=INGEST_ERRORS,
    )
    async def post_predictions(model: str, request: Request) -> PredictionsStored:
        """Store a batch of predictions (JSON, Arrow IPC or Parquet); 201 once committed."""
        config = service.model(model)
        kind = media_kind(request.headers.get("content-type"))
        if kind in _SUMMARY_TYPES:
            raise UnsupportedMediaError(kind)  # summaries go to /profiles, /performance
        # Read whole, within the size, time and in-flight budget, by BodyGuard already.
        body = await request.body()

        def parse_and_store() -> PredictionOutcome:
            table = ingest.read_predictions(body, kind, config, admission=admission(model))
            key = request.headers.get(IDEMPOTENCY_HEADER)
            digest = ingest.body_digest(body, kind)
            return service.store.insert_predictions(
                model, table, idempotency_key=key, body_hash=digest
            )

        outcome = await counting_refusals(model, parse_and_store)
        ingested.labels(model, "predictions").inc(outcome.stored)
        return PredictionsStored(
            stored=outcome.stored, replaced=outcome.replaced, duplicate_batch=outcome.duplicate
        )

    @routes.post(
        "/api/v1/models/{model}/labels",
        status_code=201,
        openapi_extra=LABELS_BODY,
        responses=INGEST_ERRORS,
    )
    async def post_labels(model: str, request: Request) -> LabelsStored:
        """Store labels joined to predictions by id; unknown ids are counted and reported."""
        config = service.model(model)
        kind = media_kind(request.headers.get("content-type"))
        if kind in _SUMMARY_TYPES:
            raise UnsupportedMediaError(kind)  # summaries go to /profiles, /performance
        # Read whole, within the size, time and in-flight budget, by BodyGuard already.
        body = await request.body()

        def parse_and_store() -> LabelOutcome:
            table = ingest.read_labels(body, kind, config, admission=admission(model))
            key = request.headers.get(IDEMPOTENCY_HEADER)
            digest = ingest.body_digest(body, kind)
            return service.store.insert_labels(model, table, idempotency_key=key, body_hash=digest)

        outcome = await counting_refusals(model, parse_and_store)
        ingested.labels(model, "labels").inc(outcome.stored)
        unknown_labels.labels(model).inc(outcome.unknown_ids)
        return LabelsStored(
            stored=outcome.stored,
            unknown_ids=outcome.unknown_ids,
            duplicate_batch=outcome.duplicate,
        )

    @routes.post(
        "/api/v1/models/{model}/profiles",
        status_code=201,
        openapi_extra={
            "requestBody": {"required": True, "content": {ingest.PROFILE_TYPE: _BINARY}}
        },
        responses=INGEST_ERRORS,
    )
    async def post_profile(
        model: str,
        request: Request,
        window: PushedWindow,
        source: PushSource = "default",
    ) -> ProfileStored:
        """Store a window's profile computed elsewhere (Spark) and evaluate the window now.

        The body is a profile in mlvigil's binary format (``DatasetProfile.serialize``,
        what ``mlvigil spark profile --push`` sends). The window's profile is the merge
        of every source's; drift and data quality are judged on it as on rows.
        """
        config = service.model(model)
        if media_kind(request.headers.get("content-type")) != ingest.PROFILE_TYPE:
            raise UnsupportedMediaError(request.headers.get("content-type") or "")
        body = await request.body()
        return await run_in_threadpool(push_profile, service, config, body, utc(window), source)

    @routes.post(
        "/api/v1/models/{model}/performance",
        status_code=201,
        openapi_extra={
            "requestBody": {"required": True, "content": {ingest.PERFORMANCE_TYPE: _BINARY}}
        },
        responses=INGEST_ERRORS,
    )
    async def post_performance(
        model: str,
        request: Request,
        window: PushedWindow,
        source: PushSource = "default",
    ) -> ProfileStored:
        """Store a window's performance state computed elsewhere (Spark).

        The body is a performance state in mlvigil's binary format
        (``PerformanceState.serialize``: confusion counts, error sums and score
        histograms of the window's labelled predictions, what ``mlvigil spark profile
        --push`` sends with labels). The window's state is the merge of every source's;
        its metrics are judged as rows' would be, once the window's profile is there.
        """
        config = service.model(model)
        if media_kind(request.headers.get("content-type")) != ingest.PERFORMANCE_TYPE:
            raise UnsupportedMediaError(request.headers.get("content-type") or "")
        body = await request.body()
        return await run_in_threadpool(push_performance, service, config, body, utc(window), source)

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
