"""Probes and metrics: liveness, readiness and the Prometheus exposition."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CollectorRegistry

from mlvigil.service.api_models import Health, Readiness
from mlvigil.service.monitor import MonitoringService
from mlvigil.telemetry.exposition import render_metrics


def router(service: MonitoringService, registry: CollectorRegistry) -> APIRouter:
    """Routes of ``/healthz``, ``/readyz`` and ``/metrics`` (the latter from ``registry``)."""
    routes = APIRouter(tags=["health"])

    @routes.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        body, content_type = await run_in_threadpool(
            render_metrics, request.headers.get("accept"), registry
        )
        return Response(body, media_type=content_type)

    @routes.get("/healthz")
    async def healthz() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @routes.get(
        "/readyz", responses={503: {"model": Readiness, "description": "The store is closed."}}
    )
    async def readyz(response: Response) -> Readiness:
        """Readiness: the store is open."""
        if not service.ready:
            response.status_code = 503
            return Readiness(status="closed")
        return Readiness(status="ready")

    return routes
