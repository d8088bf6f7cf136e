"""The HTTP API of the monitoring service (FastAPI; OpenAPI at ``/docs``).

One router per area (:mod:`mlvigil.service.routes`), every body a model of
:mod:`mlvigil.service.api_models`, and one table from exceptions to statuses
(:mod:`mlvigil.service.errors`): client mistakes are 4xx with a message that names the
field or row: 400 a bad value or an untrusted host, 401 no or an unknown token, 403 a
token without the scope (:mod:`mlvigil.service.auth`, checked by
:mod:`mlvigil.service.gate` before a body is read), 404 unknown model, 413 body over
the limit, 415 a body without a supported content type, 422 bad records (the whole
batch is rejected, see :mod:`mlvigil.service.ingest`). A 2xx on an ingest endpoint
means the rows are committed to the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry, Counter

from mlvigil import __version__, catalog
from mlvigil.service.auth import Access, TrustedHosts
from mlvigil.service.errors import install_error_handlers
from mlvigil.service.gate import Gate, secure_openapi
from mlvigil.service.gauges import ResultGauges, SLOGauges
from mlvigil.service.http_guards import BodyBudget, BodyGuard, NoSniff
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.routes import (
    alerts,
    dashboard,
    health,
    ingest,
    reports,
    results,
    slos,
    versions,
)

__all__ = ["DOCS_ASSETS", "create_app"]

#: Where Swagger UI's script and stylesheet are served (open, like the dashboard's).
DOCS_ASSETS = "/ui/docs"


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
    registry.register(SLOGauges(service.slo_statuses))
    ingested, unknown_labels, rejected = (
        Counter(m.name, m.help, list(m.labels), registry=registry)
        for m in (catalog.ROWS_INGESTED, catalog.LABELS_UNKNOWN_IDS, catalog.ROWS_REJECTED)
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(service.run_scheduler()) if schedule else None
        yield
        if task is not None:
            service.stop_evaluating()  # a pass in progress ends after its current window
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # Swagger UI and ReDoc from the package, not a CDN: /docs works air-gapped.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="mlvigil",
        version=__version__,
        description="ML monitoring: ingest predictions and labels, evaluate windows, read results.",
        lifespan=lifespan,
    )
    # The dashboard's views run to hundreds of kilobytes of JSON for wide models.
    app.add_middleware(GZipMiddleware, minimum_size=4096)
    app.include_router(
        ingest.router(service, ingested=ingested, unknown_labels=unknown_labels, rejected=rejected)
    )
    app.include_router(results.router(service))
    app.include_router(alerts.router(service))
    app.include_router(dashboard.router(service))
    app.include_router(reports.router(service))
    app.include_router(slos.router(service))
    app.include_router(versions.router(service))
    app.include_router(health.router(service, registry))
    app.mount("/ui", dashboard.static_assets(), name="ui")
    install_error_handlers(app)
    limits = service.config.limits
    app.add_middleware(
        BodyGuard,
        max_body_bytes=service.config.max_body_bytes,
        budget=BodyBudget(limits.max_bodies_in_flight_bytes),
        body_timeout=limits.body_timeout.total_seconds(),
    )
    # Outermost: host, token and body type are checked before anything reads a body.
    security = service.config.security
    access = Access(security)
    app.add_middleware(Gate, access=access, hosts=TrustedHosts(security.trusted_hosts))
    secure_openapi(app, access)
    app.add_middleware(NoSniff)  # on every answer, the gate's refusals too
    return app
