"""The HTTP API of the monitoring service (FastAPI; OpenAPI at ``/docs``).

One router per area (:mod:`mlvigil.service.routes`), every body a model of
:mod:`mlvigil.service.api_models`, and one table from exceptions to statuses
(:mod:`mlvigil.service.errors`): client mistakes are 4xx with a message that names the
field or row: 404 unknown model, 413 body over the limit, 415 unsupported content type,
422 bad records (the whole batch is rejected, see :mod:`mlvigil.service.ingest`). A 2xx
on an ingest endpoint means the rows are committed to the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from prometheus_client import CollectorRegistry, Counter

from mlvigil import __version__, catalog
from mlvigil.service.errors import install_error_handlers
from mlvigil.service.gauges import ResultGauges
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.routes import alerts, dashboard, health, ingest, reports, results

__all__ = ["create_app"]


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
    # The dashboard's views run to hundreds of kilobytes of JSON for wide models.
    app.add_middleware(GZipMiddleware, minimum_size=4096)
    app.include_router(ingest.router(service, ingested=ingested, unknown_labels=unknown_labels))
    app.include_router(results.router(service))
    app.include_router(alerts.router(service))
    app.include_router(dashboard.router(service))
    app.include_router(reports.router(service))
    app.include_router(health.router(service, registry))
    app.mount("/ui", dashboard.static_assets(), name="ui")
    install_error_handlers(app)
    return app
