"""A canary's verdict on demand: ``GET /api/v1/models/{model}/canary``, for deploy gates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from mlvigil.exceptions import InputError
from mlvigil.service.errors import error_responses
from mlvigil.service.lookup_errors import UnknownModelError
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.routes.common import utc
from mlvigil.service.versions import canary_between

#: Rows a verdict reads at most: the range is read into memory at once.
MAX_CANARY_ROWS = 5_000_000


class GuardBody(BaseModel):
    """How one guard decided."""

    metric: str
    max_degradation: float
    min_rows: int
    verdict: str = Field(description="pass, fail or inconclusive")
    degradation: float | None = Field(
        description="The candidate's worsening, in the metric's units"
    )
    p_fail: float | None = Field(description='P-value of "degraded beyond the tolerance"')
    p_pass: float | None = Field(description='P-value of "within the tolerance"')
    reason: str


class CanaryBody(BaseModel):
    """A canary's verdict over a time range, with each guard's and every comparison."""

    model: str
    baseline: str
    candidate: str
    start: str
    end: str
    verdict: str = Field(description="pass, fail or inconclusive")
    exit_code: int = Field(description="What `mlvigil canary` exits with: 0, 1 or 3")
    guards: list[GuardBody]
    comparisons: list[dict[str, Any]] = Field(
        description="The comparison results (CheckResult rows)"
    )


def router(service: MonitoringService) -> APIRouter:
    """The route of ``GET /api/v1/models/{model}/canary``."""
    routes = APIRouter(tags=["versions"])

    @routes.get(
        "/api/v1/models/{model}/canary",
        responses=error_responses(InputError, UnknownModelError),
    )
    async def canary(
        model: str,
        baseline: Annotated[str, Query(description="The version the canary is compared with")],
        candidate: Annotated[str, Query(description="The canary version")],
        start: Annotated[
            datetime | None, Query(description="From (ISO 8601); default: end minus a window")
        ] = None,
        end: Annotated[datetime | None, Query(description="Until (ISO 8601); default: now")] = None,
    ) -> CanaryBody:
        """The canary's verdict on the rows of ``[start, end)``, by the model's guards.

        Computed now from the stored rows and labels, as a deploy pipeline asks before
        promoting the canary: ``pass`` (every guard within its tolerance), ``fail``
        (some guard surely beyond it) or ``inconclusive`` (too few rows, or not sure
        yet).
        """
        config = service.model(model)
        finish = utc(end) if end else service.clock()
        begin = utc(start) if start else finish - (config.window or timedelta(hours=1))
        if finish <= begin:
            raise InputError(
                f"end ({finish.isoformat()}) must be after start ({begin.isoformat()})"
            )

        def judge() -> CanaryBody:
            rows = service.store.rows_between(model, begin, finish)
            if rows > MAX_CANARY_ROWS:
                raise InputError(
                    f"{begin.isoformat()} to {finish.isoformat()} holds {rows:,} rows, more "
                    f"than the {MAX_CANARY_ROWS:,} a verdict reads at once; narrow the range "
                    "(start and end; mlvigil canary --since and --until)"
                )
            reference = service.reference(model)
            table = service.store.window_table(model, begin, finish)
            comparison, verdict = canary_between(
                config,
                table,
                reference.performance if reference else None,
                reference.classes if reference else None,
                baseline=baseline,
                candidate=candidate,
            )
            return CanaryBody(
                model=model,
                baseline=baseline,
                candidate=candidate,
                start=begin.isoformat(),
                end=finish.isoformat(),
                verdict=verdict.verdict.value,
                exit_code=verdict.verdict.exit_code,
                guards=[GuardBody.model_validate(g.to_dict()) for g in verdict.guards],
                comparisons=[r.to_dict() for r in comparison.results()],
            )

        return await run_in_threadpool(judge)

    return routes
