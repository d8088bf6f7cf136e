"""Reading what the service knows: models, a model's configuration, windows and results."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from mlvigil.exceptions import InputError
from mlvigil.service.api_models import (
    EnabledChecks,
    ModelCounts,
    ModelInfo,
    ModelList,
    ModelSchemaBody,
    ReferenceSummary,
    ResultList,
    WindowBody,
    WindowList,
)
from mlvigil.service.errors import error_responses
from mlvigil.service.monitor import MonitoringService, UnknownModelError
from mlvigil.service.routes.common import json_bytes, json_response, utc


def router(service: MonitoringService) -> APIRouter:
    """Routes listing models, one model's configuration, its windows and its results."""
    routes = APIRouter(tags=["results"])

    @routes.get("/api/v1/models")
    async def list_models() -> ModelList:
        """Configured models with their row counts."""
        models = []
        for name in service.config.models:
            predictions, labels = await run_in_threadpool(service.store.counts, name)
            models.append(ModelCounts(name=name, predictions=predictions, labels=labels))
        return ModelList(models=models)

    @routes.get("/api/v1/models/{model}", responses=error_responses(InputError, UnknownModelError))
    async def get_model(model: str) -> ModelInfo:
        """A model's configuration, including its schema, so clients can build records."""
        config = service.model(model)
        reference = await run_in_threadpool(service.reference, model)
        return ModelInfo(
            name=config.name,
            schema=ModelSchemaBody.model_validate(config.schema.model_dump()),
            reference=None
            if reference is None
            else ReferenceSummary(
                rows=reference.table.num_rows,
                classes=list(reference.classes.classes) if reference.classes else None,
                warnings=list(reference.warnings),
            ),
            window_seconds=config.window.total_seconds() if config.window else None,
            window_rows=config.window_rows,
            label_delay_seconds=config.label_delay.total_seconds(),
            checks=EnabledChecks(
                drift=config.drift is not None,
                quality=config.quality is not None,
                performance=config.performance is not None,
            ),
        )

    @routes.get("/api/v1/models/{model}/windows", responses=error_responses(UnknownModelError))
    async def list_windows(model: str) -> WindowList:
        """Evaluated windows, oldest first."""
        service.model(model)
        windows = await run_in_threadpool(service.store.windows, model)
        return WindowList(
            windows=[
                WindowBody(
                    start=w.start.isoformat(),
                    end=w.end.isoformat(),
                    rows=w.rows,
                    labelled=w.labelled,
                    evaluated_at=w.evaluated_at.isoformat(),
                    labels_final=w.labels_final,
                    revision=w.revision,
                    late_rows=w.late_rows,
                    late_labels=w.late_labels,
                )
                for w in windows
            ]
        )

    @routes.get(
        "/api/v1/models/{model}/results",
        response_model=ResultList,
        responses=error_responses(InputError, UnknownModelError),
    )
    async def list_results(
        model: str,
        check: str | None = None,
        column: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Response:
        """Check results (the uniform CheckResult rows), filtered."""
        service.model(model)
        begin, finish = utc(start) if start else None, utc(end) if end else None

        def read() -> bytes:
            rows = service.store.results(model, check=check, column=column, start=begin, end=finish)
            # Documented by ResultList, not validated row by row: a model's whole history
            # is tens of thousands of rows (validating them would double the encoding).
            return json_bytes({"results": [r.to_row() for r in rows]})

        return json_response(await run_in_threadpool(read))

    return routes
