"""The dashboard: its page and assets, and the JSON views it draws.

The page and its script come from the package (no CDN; the dashboard works offline),
under a Content-Security-Policy that allows nothing but this origin: even if a string
slipped past escaping, the browser would run no injected script.
"""

from __future__ import annotations

import functools
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from mlvigil.exceptions import InputError
from mlvigil.service import views
from mlvigil.service.api_dashboard import ModelView
from mlvigil.service.api_models import ColumnDistribution, ModelStatus, Overview
from mlvigil.service.errors import error_responses
from mlvigil.service.lookup_errors import UnknownModelError
from mlvigil.service.monitor import MonitoringService

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
    async def overview(
        search: Annotated[
            str | None,
            Query(max_length=200, description="Models whose name contains this, in any case."),
        ] = None,
        status: Annotated[
            list[ModelStatus],
            Query(description="Models with one of these statuses (repeatable)."),
        ] = [],  # noqa: B006
        sort: Annotated[
            Literal["config", "name", "status"],
            Query(
                description="config: as in mlvigil.yaml; name; status: alerting, then "
                "failing, then no data, then ok (by name within each)."
            ),
        ] = "config",
        limit: Annotated[
            int, Query(ge=1, le=views.OVERVIEW_MAX_LIMIT, description="Models per page.")
        ] = views.OVERVIEW_LIMIT,
        offset: Annotated[
            int, Query(ge=0, description="Models to skip: the previous page's next_offset.")
        ] = 0,
    ) -> Overview:
        """Every model's health at a glance (the dashboard's first page), a page at a time.

        ``summary`` counts all the configured models, ``total`` those kept by
        ``search`` and ``status``; ``next_offset`` is null on the last page.
        """
        view = await run_in_threadpool(
            functools.partial(
                views.overview,
                service,
                search=search,
                status=tuple(status),
                sort=sort,
                limit=limit,
                offset=offset,
            )
        )
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
