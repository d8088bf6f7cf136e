"""The dashboard: its page and assets, and the JSON views it draws.

The page and its script come from the package (no CDN; the dashboard works offline),
under a Content-Security-Policy that allows nothing but this origin: even if a string
slipped past escaping, the browser would run no injected script.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from pathlib import Path

import orjson
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from mlvigil.exceptions import InputError
from mlvigil.service import views
from mlvigil.service.api_models import ColumnDistribution, ModelView, Overview
from mlvigil.service.errors import error_responses
from mlvigil.service.monitor import MonitoringService, UnknownModelError

STATIC = Path(str(files("mlvigil.ui") / "static"))

#: Only this origin's scripts, styles and data; no framing.
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

#: Headers of every page the service serves (the dashboard, reports).
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def static_assets() -> StaticFiles:
    """The dashboard's script and stylesheet, to mount at ``/ui``."""
    return StaticFiles(directory=STATIC)


def router(service: MonitoringService) -> APIRouter:
    """Routes of the dashboard page and its JSON views."""
    routes = APIRouter(tags=["dashboard"])

    @routes.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(
            STATIC / "index.html",
            headers={"Content-Security-Policy": DASHBOARD_CSP, **SECURITY_HEADERS},
        )

    @routes.get("/api/v1/overview")
    async def overview() -> Overview:
        """Every model's health at a glance (the dashboard's first page)."""
        view = await run_in_threadpool(views.overview, service)
        return Overview.model_validate(view)

    @routes.get(
        "/api/v1/models/{model}/dashboard",
        response_model=ModelView,
        responses=error_responses(UnknownModelError),
    )
    async def model_dashboard(model: str) -> Response:
        """Per-window drift share, drift scores per column, quality, performance, alerts."""
        service.model(model)
        view = await run_in_threadpool(views.model_view, service, model)
        # orjson directly, documented by ModelView but not validated on the way out:
        # validating and encoding ~100,000 scores would take several times as long.
        return Response(orjson.dumps(view), media_type="application/json")

    @routes.get(
        "/api/v1/models/{model}/distribution",
        responses=error_responses(InputError, UnknownModelError),
    )
    async def distribution(
        model: str, column: str, window: datetime | None = None
    ) -> ColumnDistribution:
        """Reference vs current shares of one column in the window holding ``window``.

        Without ``window``, the latest window.
        """
        service.model(model)
        view = await run_in_threadpool(
            views.column_distribution_view, service, model, column, window
        )
        return ColumnDistribution.model_validate(view)

    return routes
