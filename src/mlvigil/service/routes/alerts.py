"""Alerts: those pending or firing, their history, test notifications, and silences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from mlvigil.alerts.notifiers import DeliveryError
from mlvigil.exceptions import InputError
from mlvigil.service.api_models import (
    ActiveAlerts,
    AlertHistory,
    NotificationSent,
    SilenceBody,
    SilenceList,
    SilenceRequest,
    TestNotificationRequest,
)
from mlvigil.service.errors import error_responses
from mlvigil.service.lookup_errors import UnknownReceiverError, UnknownSilenceError
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.routes.common import utc


def check_lengths(request: SilenceRequest, limit: int) -> None:
    """Refuse (422, as a too long field) text over ``limits.max_string_length``.

    Silences are stored and listed to everyone who reads them: a 10 MB comment would be
    served again with every list.

    Raises
    ------
    RequestValidationError
        Naming each field too long, its length and the limit.
    """
    fields = [
        (("body", "created_by"), request.created_by),
        (("body", "comment"), request.comment),
        *((("body", "matchers", label), label) for label in request.matchers),
        *((("body", "matchers", label), value) for label, value in request.matchers.items()),
    ]
    problems = [
        {
            "loc": where,
            "msg": f"{len(text)} characters; at most {limit} are accepted "
            "(limits.max_string_length)",
            "type": "string_too_long",
            "ctx": {"max_length": limit},
        }
        for where, text in fields
        if len(text) > limit
    ]
    if problems:
        raise RequestValidationError(problems)


def router(service: MonitoringService) -> APIRouter:
    """Routes reading alerts and their history, testing receivers, managing silences."""
    routes = APIRouter(tags=["alerts"])

    # Alert states are stored JSON: keys an older version saved stay as they were.
    @routes.get("/api/v1/alerts", response_model_exclude_unset=True)
    async def list_alerts() -> ActiveAlerts:
        """Alerts pending or firing now, with their labels, value and since when."""
        alerts = await run_in_threadpool(service.alerts)
        return ActiveAlerts.model_validate({"alerts": alerts})

    @routes.get("/api/v1/alerts/history", response_model_exclude_unset=True)
    async def alert_history(
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
    ) -> AlertHistory:
        """Alerts that fired or resolved, newest first."""
        events = await run_in_threadpool(service.store.alert_events, limit)
        return AlertHistory.model_validate({"events": events})

    @routes.post(
        "/api/v1/alerts/test", responses=error_responses(UnknownReceiverError, DeliveryError)
    )
    async def test_notification(request: TestNotificationRequest) -> NotificationSent:
        """Send a test notification to a receiver now; 502 if it does not accept it."""
        await run_in_threadpool(service.send_test, request.receiver)
        return NotificationSent(status="delivered", receiver=request.receiver)

    @routes.get("/api/v1/silences")
    async def list_silences() -> SilenceList:
        """Every silence, with whether it is active now."""
        now = service.clock()
        silences = await run_in_threadpool(service.silences)
        return SilenceList.model_validate({"silences": [s.to_dict(now) for s in silences]})

    @routes.post("/api/v1/silences", status_code=201, responses=error_responses(InputError))
    async def add_silence(request: SilenceRequest) -> SilenceBody:
        """Mute notifications of alerts matching ``matchers`` for ``duration``."""
        check_lengths(request, service.config.limits.max_string_length)
        silence = await run_in_threadpool(
            lambda: service.add_silence(
                request.matchers,
                duration=request.duration,
                created_by=request.created_by,
                comment=request.comment,
                starts_at=utc(request.starts_at) if request.starts_at else None,
            )
        )
        return SilenceBody.model_validate(silence.to_dict(service.clock()))

    @routes.delete("/api/v1/silences/{silence_id}", responses=error_responses(UnknownSilenceError))
    async def expire_silence(silence_id: str) -> SilenceBody:
        """End a silence now."""
        silence = await run_in_threadpool(service.expire_silence, silence_id)
        return SilenceBody.model_validate(silence.to_dict(service.clock()))

    return routes
