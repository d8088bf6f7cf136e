"""Reading what the service knows: models, a model's configuration, windows and results."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from mlvigil.checks.result import CheckResult
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
from mlvigil.service.lookup_errors import UnknownModelError
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.routes.common import json_bytes, json_response, utc

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def next_page(
    page: Sequence[CheckResult],
    following: Sequence[CheckResult],
    after: tuple[datetime, int] | None,
) -> str | None:
    """The cursor of the page after ``page``, or ``None`` when nothing follows.

    It names the window of the next row and how many rows of that window were given
    already: a page ends anywhere, also inside a window.
    """
    if not following or following[0].window_start is None:
        return None
    window = following[0].window_start
    given = sum(1 for r in page if r.window_start == window)
    if after is not None and after[0] == window:
        given += after[1]
    micros = (window - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}:{given}".encode()).decode().rstrip("=")


def parse_cursor(cursor: str) -> tuple[datetime, int]:
    """The window start and rows given that :func:`next_page` wrote into ``cursor``.

    Raises
    ------
    InputError
        When ``cursor`` is not one the service gave.

    Examples
    --------
    >>> parse_cursor("MDox")
    (datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), 1)
    """
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        micros, given = (int(part) for part in text.split(":"))
        if given < 0:
            raise ValueError(given)
        return _EPOCH + timedelta(microseconds=micros), given
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise InputError(
            f"cursor {cursor[:40]!r} is not one this service gave; pass the next_cursor of "
            "the previous page, or none for the first page"
        ) from None


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
        limit: Annotated[
            int | None,
            Query(ge=1, description="Rows per page; at most (and by default) the page size."),
        ] = None,
        cursor: Annotated[
            str | None, Query(description="The `next_cursor` of the previous page.")
        ] = None,
    ) -> Response:
        """Check results (the uniform CheckResult rows), filtered, a page at a time.

        Oldest window first; while ``next_cursor`` is not null, ask again with it (and
        the same filters) for the next page.
        """
        service.model(model)
        begin, finish = utc(start) if start else None, utc(end) if end else None
        size = service.config.limits.results_page_size
        if limit is not None and limit > size:
            raise InputError(
                f"limit {limit} is over the page size of {size} (limits.results_page_size); "
                "ask for fewer rows and follow next_cursor"
            )
        after = None if cursor is None else parse_cursor(cursor)
        wanted = limit or size

        def read() -> bytes:
            rows = service.store.results(
                model,
                check=check,
                column=column,
                start=begin,
                end=finish,
                after=after,
                limit=wanted + 1,  # one more says whether a next page exists
            )
            page, following = rows[:wanted], rows[wanted:]
            next_cursor = next_page(page, following, after)
            # Documented by ResultList, not validated row by row: a page is up to tens of
            # thousands of rows (validating them would double the encoding).
            return json_bytes({"results": [r.to_row() for r in page], "next_cursor": next_cursor})

        return json_response(await run_in_threadpool(read))

    return routes
