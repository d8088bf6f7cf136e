"""Service-level objectives: their budgets and burn rates now."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from mlvigil.service.monitor import MonitoringService
from mlvigil.service.slo_views import SLOList, slo_list


def router(service: MonitoringService) -> APIRouter:
    """The route of ``GET /api/v1/slos``."""
    routes = APIRouter(tags=["slos"])

    @routes.get("/api/v1/slos")
    async def list_slos() -> SLOList:
        """Every SLO of ``mlvigil.yaml`` with its objective and SLI.

        For model SLIs also the error budget left, the error ratio and burn rate per
        window, whether a page or ticket condition holds, and the budget's burn-down.
        """
        statuses = await run_in_threadpool(service.slo_statuses)
        return slo_list(service.config.slos, statuses)

    return routes
