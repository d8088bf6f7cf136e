"""The HTTP API of the monitoring service (FastAPI; OpenAPI at ``/docs``).

Client mistakes are 4xx with a message that names the field or row: 404 unknown model,
413 body over the limit, 415 unsupported content type, 422 bad records (the whole batch
is rejected, see :mod:`mlvigil.service.ingest`). A 2xx on an ingest endpoint means the
rows are committed to the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, Field

from mlvigil import __version__, catalog
from mlvigil.alerts.notifiers import DeliveryError
from mlvigil.exceptions import InputError
from mlvigil.service import ingest
from mlvigil.service.dashboard_routes import dashboard_router, static_assets
from mlvigil.service.gauges import ResultGauges
from mlvigil.service.monitor import (
    MonitoringService,
    UnknownModelError,
    UnknownReceiverError,
    UnknownSilenceError,
)
from mlvigil.service.store import LabelOutcome
from mlvigil.telemetry.exposition import render_metrics

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


class BodyTooLargeError(InputError):
    """The request body exceeds the configured limit."""


def create_app(service: MonitoringService, *, schedule: bool = True) -> FastAPI:
    """The service's FastAPI application.

    Parameters
    ----------
    service
        Store, models and evaluation.
    schedule
        Run the evaluation scheduler in the background while the app is up.
    """
    registry = CollectorRegistry()
    registry.register(ResultGauges(service.store))
    ingested, unknown_labels = (
        Counter(m.name, m.help, list(m.labels), registry=registry)
        for m in (catalog.ROWS_INGESTED, catalog.LABELS_UNKNOWN_IDS)
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(service.run_scheduler()) if schedule else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="mlvigil",
        version=__version__,
        description="ML monitoring: ingest predictions and labels, evaluate windows, read results.",
        lifespan=lifespan,
    )

    @app.exception_handler(ingest.BadBatchError)
    async def bad_batch(request: Request, error: ingest.BadBatchError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={
                "detail": str(error),
                "problems": [p.to_dict() for p in error.problems],
                "problem_count": error.total,
            },
        )

    @app.exception_handler(UnknownModelError)
    async def unknown_model(request: Request, error: UnknownModelError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(error)})

    @app.exception_handler(BodyTooLargeError)
    async def too_large(request: Request, error: BodyTooLargeError) -> JSONResponse:
        return JSONResponse(status_code=413, content={"detail": str(error)})

    @app.exception_handler(InputError)
    async def bad_input(request: Request, error: InputError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(error)})

    async def read_body(request: Request) -> bytes:
        limit = service.config.max_body_bytes
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
        content_type = request.headers.get("content-type", "application/json")
        media = content_type.split(";")[0].strip().lower()
        if media in ingest.JSON_TYPES or media.endswith("+json"):
            return "json"
        if media in ingest.ARROW_TYPES or media in ingest.PARQUET_TYPES:
            return media
        raise UnsupportedMediaError(media)

    @app.exception_handler(UnsupportedMediaError)
    async def unsupported(request: Request, error: UnsupportedMediaError) -> JSONResponse:
        return JSONResponse(status_code=415, content={"detail": str(error)})

    @app.post("/api/v1/models/{model}/predictions", status_code=201, openapi_extra=PREDICTIONS_BODY)
    async def post_predictions(model: str, request: Request) -> dict[str, Any]:
        """Store a batch of predictions (JSON, Arrow IPC or Parquet); 201 once committed."""
        config = service.model(model)
        kind = content_kind(request)
        body = await read_body(request)

        def parse_and_store() -> tuple[int, bool]:
            table = ingest.read_predictions(body, kind, config)
            key = request.headers.get(IDEMPOTENCY_HEADER)
            return service.store.insert_predictions(model, table, idempotency_key=key)

        stored, duplicate = await run_in_threadpool(parse_and_store)
        ingested.labels(model, "predictions").inc(stored)
        return {"stored": stored, "duplicate_batch": duplicate}

    @app.post("/api/v1/models/{model}/labels", status_code=201, openapi_extra=LABELS_BODY)
    async def post_labels(model: str, request: Request) -> dict[str, Any]:
        """Store labels joined to predictions by id; unknown ids are counted and reported."""
        config = service.model(model)
        kind = content_kind(request)
        body = await read_body(request)

        def parse_and_store() -> LabelOutcome:
            table = ingest.read_labels(body, kind, config)
            key = request.headers.get(IDEMPOTENCY_HEADER)
            return service.store.insert_labels(model, table, idempotency_key=key)

        outcome = await run_in_threadpool(parse_and_store)
        ingested.labels(model, "labels").inc(outcome.stored)
        unknown_labels.labels(model).inc(outcome.unknown_ids)
        return {
            "stored": outcome.stored,
            "unknown_ids": outcome.unknown_ids,
            "duplicate_batch": outcome.duplicate,
        }

    @app.post("/api/v1/models/{model}/evaluate")
    async def post_evaluate(
        model: str,
        start: Annotated[datetime, Query(description="ISO 8601; naive times are UTC")],
        end: Annotated[datetime, Query(description="ISO 8601, exclusive")],
    ) -> dict[str, Any]:
        """Evaluate the model's windows overlapping ``[start, end)`` now.

        A row-counted window still filling is closed with the rows it has. When no
        window matches, ``detail`` says why.
        """
        service.model(model)
        begin, finish = _utc(start), _utc(end)
        evaluations = await run_in_threadpool(service.evaluate, model, begin, finish)
        if not evaluations:
            reason = await run_in_threadpool(service.no_windows_reason, model, begin, finish)
            return {"windows": [], "detail": reason}
        return {
            "windows": [
                {
                    "start": e.window.start.isoformat(),
                    "end": e.window.end.isoformat(),
                    "rows": e.window.rows,
                    "labelled": e.window.labelled,
                    "revision": e.window.revision,
                    "results": len(e.results),
                    "failed": sum(1 for r in e.results if r.status.value == "failed"),
                }
                for e in evaluations
            ]
        }

    @app.get("/api/v1/models")
    async def list_models() -> dict[str, Any]:
        """Configured models with their row counts."""
        models = []
        for name in service.config.models:
            predictions, labels = await run_in_threadpool(service.store.counts, name)
            models.append({"name": name, "predictions": predictions, "labels": labels})
        return {"models": models}

    @app.get("/api/v1/models/{model}")
    async def get_model(model: str) -> dict[str, Any]:
        """A model's configuration, including its schema, so clients can build records."""
        config = service.model(model)
        reference = await run_in_threadpool(service.reference, model)
        return {
            "name": config.name,
            "schema": config.schema.model_dump(),
            "reference": None
            if reference is None
            else {
                "rows": reference.table.num_rows,
                "classes": list(reference.classes.classes) if reference.classes else None,
                "warnings": list(reference.warnings),
            },
            "window_seconds": config.window.total_seconds() if config.window else None,
            "window_rows": config.window_rows,
            "label_delay_seconds": config.label_delay.total_seconds(),
            "checks": {
                "drift": config.drift is not None,
                "quality": config.quality is not None,
                "performance": config.performance is not None,
            },
        }

    @app.get("/api/v1/models/{model}/windows")
    async def list_windows(model: str) -> dict[str, Any]:
        """Evaluated windows, oldest first."""
        service.model(model)
        windows = await run_in_threadpool(service.store.windows, model)
        return {
            "windows": [
                {
                    "start": w.start.isoformat(),
                    "end": w.end.isoformat(),
                    "rows": w.rows,
                    "labelled": w.labelled,
                    "evaluated_at": w.evaluated_at.isoformat(),
                    "labels_final": w.labels_final,
                    "revision": w.revision,
                    "late_rows": w.late_rows,
                    "late_labels": w.late_labels,
                }
                for w in windows
            ]
        }

    @app.get("/api/v1/models/{model}/results")
    async def list_results(
        model: str,
        check: str | None = None,
        column: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> dict[str, Any]:
        """Check results (the uniform CheckResult rows), filtered."""
        service.model(model)
        rows = await run_in_threadpool(
            lambda: service.store.results(
                model,
                check=check,
                column=column,
                start=_utc(start) if start else None,
                end=_utc(end) if end else None,
            )
        )
        return {"results": [r.to_row() for r in rows]}

    @app.get("/api/v1/alerts")
    async def list_alerts() -> dict[str, Any]:
        """Alerts pending or firing now, with their labels, value and since when."""
        return {"alerts": await run_in_threadpool(service.alerts)}

    @app.get("/api/v1/alerts/history")
    async def alert_history(
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
    ) -> dict[str, Any]:
        """Alerts that fired or resolved, newest first."""
        return {"events": await run_in_threadpool(service.store.alert_events, limit)}

    @app.post("/api/v1/alerts/test")
    async def test_notification(request: TestNotificationRequest) -> dict[str, str]:
        """Send a test notification to a receiver now; 502 if it does not accept it."""
        await run_in_threadpool(service.send_test, request.receiver)
        return {"status": "delivered", "receiver": request.receiver}

    @app.exception_handler(UnknownReceiverError)
    async def unknown_receiver(request: Request, error: UnknownReceiverError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(error)})

    @app.exception_handler(DeliveryError)
    async def not_delivered(request: Request, error: DeliveryError) -> JSONResponse:
        return JSONResponse(status_code=502, content={"detail": str(error)})

    @app.get("/api/v1/silences")
    async def list_silences() -> dict[str, Any]:
        """Every silence, with whether it is active now."""
        now = service.clock()
        silences = await run_in_threadpool(service.silences)
        return {"silences": [s.to_dict(now) for s in silences]}

    @app.post("/api/v1/silences", status_code=201)
    async def add_silence(request: SilenceRequest) -> dict[str, Any]:
        """Mute notifications of alerts matching ``matchers`` for ``duration``."""
        silence = await run_in_threadpool(
            lambda: service.add_silence(
                request.matchers,
                duration=request.duration,
                created_by=request.created_by,
                comment=request.comment,
                starts_at=_utc(request.starts_at) if request.starts_at else None,
            )
        )
        return silence.to_dict(service.clock())

    @app.delete("/api/v1/silences/{silence_id}")
    async def expire_silence(silence_id: str) -> dict[str, Any]:
        """End a silence now."""
        silence = await run_in_threadpool(service.expire_silence, silence_id)
        return silence.to_dict(service.clock())

    @app.exception_handler(UnknownSilenceError)
    async def unknown_silence(request: Request, error: UnknownSilenceError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(error)})

    # The dashboard's views run to hundreds of kilobytes of JSON for wide models.
    app.add_middleware(GZipMiddleware, minimum_size=4096)
    app.include_router(dashboard_router(service))
    app.mount("/ui", static_assets(), name="ui")

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        body, content_type = await run_in_threadpool(
            render_metrics, request.headers.get("accept"), registry
        )
        return Response(body, media_type=content_type)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Readiness: the store is open."""
        ready = service.ready
        return JSONResponse(
            status_code=200 if ready else 503, content={"status": "ready" if ready else "closed"}
        )

    return app


class TestNotificationRequest(BaseModel):
    """Which receiver to test."""

    model_config = ConfigDict(extra="forbid")

    receiver: str = Field(min_length=1)


class SilenceRequest(BaseModel):
    """A silence to create."""

    model_config = ConfigDict(extra="forbid")

    matchers: dict[str, str] = Field(min_length=1, examples=[{"alertname": "dataset_drift"}])
    duration: timedelta = Field(gt=timedelta(0), description="ISO 8601 duration or seconds")
    created_by: str = Field(min_length=1)
    comment: str = Field(min_length=1)
    starts_at: datetime | None = None


class UnsupportedMediaError(InputError):
    """A body in a format the endpoint does not read."""

    def __init__(self, media: str) -> None:
        super().__init__(
            f"unsupported content type {media!r}; send application/json, "
            f"{ingest.ARROW_TYPES[0]} or {ingest.PARQUET_TYPES[0]}"
        )


def _utc(moment: datetime) -> datetime:
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise InputError(f"{moment.isoformat()} is outside the years 1 to 9999 in UTC") from None
