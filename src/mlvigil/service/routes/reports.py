"""The self-contained HTML report of one window, under the reports' strict CSP."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from mlvigil.exceptions import InputError
from mlvigil.report.html import CONTENT_SECURITY_POLICY
from mlvigil.service import views
from mlvigil.service.errors import error_responses
from mlvigil.service.lookup_errors import UnknownModelError
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.routes.dashboard import SECURITY_HEADERS


def router(service: MonitoringService) -> APIRouter:
    """The route of the per-window HTML report."""
    routes = APIRouter(tags=["reports"])

    @routes.get(
        "/api/v1/models/{model}/report",
        # Documented by hand: a response class with a media type would document the
        # errors (JSON) as HTML too.
        response_class=Response,
        responses={
            200: {
                "description": "The report, one HTML page with its charts inline.",
                "content": {"text/html": {"schema": {"type": "string"}}},
            },
            **error_responses(InputError, UnknownModelError),
        },
    )
    async def report(model: str, window: datetime | None = None) -> HTMLResponse:
        """A self-contained HTML report of the window holding ``window`` (default: latest)."""
        service.model(model)
        html = await run_in_threadpool(views.window_report, service, model, window)
        return HTMLResponse(
            html, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, **SECURITY_HEADERS}
        )

    return routes
