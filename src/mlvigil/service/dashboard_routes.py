"""Read-only routes behind the dashboard: its page and assets, its views, window reports.

The page and its script come from the package (no CDN; the dashboard works offline),
under a Content-Security-Policy that allows nothing but this origin: even if a string
slipped past escaping, the browser would run no injected script.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from mlvigil.report.html import CONTENT_SECURITY_POLICY
from mlvigil.service import views
from mlvigil.service.monitor import MonitoringService

STATIC = Path(str(files("mlvigil.ui") / "static"))

#: Only this origin's scripts, styles and data; no framing.
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def static_assets() -> StaticFiles:
    """The dashboard's script and stylesheet, to mount at ``/ui``."""
    return StaticFiles(directory=STATIC)


def dashboard_router(service: MonitoringService) -> APIRouter:
    """Routes of the dashboard page, its JSON views and the per-window report."""
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(
            STATIC / "index.html",
            headers={"Content-Security-Policy": DASHBOARD_CSP, **_SECURITY_HEADERS},
        )

    @router.get("/api/v1/overview")
    async def overview() -> dict[str, Any]:
        """Every model's health at a glance (the dashboard's first page)."""
        return await run_in_threadpool(views.overview, service)

    @router.get("/api/v1/models/{model}/dashboard")
    async def model_dashboard(model: str) -> Response:
        """Per-window drift share, drift scores per column, quality, performance, alerts."""
        service.model(model)
        view = await run_in_threadpool(views.model_view, service, model)
        # orjson directly: FastAPI's encoder takes ~0.3 s over 100,000 scores.
        return Response(orjson.dumps(view), media_type="application/json")

    @router.get("/api/v1/models/{model}/distribution")
    async def distribution(
        model: str, column: str, window: datetime | None = None
    ) -> dict[str, Any]:
        """Reference vs current shares of one column in the window holding ``window``.

        Without ``window``, the latest window.
        """
        service.model(model)
        return await run_in_threadpool(
            views.column_distribution_view, service, model, column, window
        )

    @router.get("/api/v1/models/{model}/report", response_class=HTMLResponse)
    async def report(model: str, window: datetime | None = None) -> HTMLResponse:
        """A self-contained HTML report of the window holding ``window`` (default: latest)."""
        service.model(model)
        html = await run_in_threadpool(views.window_report, service, model, window)
        return HTMLResponse(
            html, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, **_SECURITY_HEADERS}
        )

    return router
