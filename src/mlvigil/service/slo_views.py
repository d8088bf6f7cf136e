"""``GET /api/v1/slos``: each SLO's objective, SLI, budget left and burn rates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import Field

from mlvigil.service.api_models import Number, _Body
from mlvigil.slo.budget import BudgetStatus
from mlvigil.slo.spec import SLO
from mlvigil.slo.windows import burn_windows, prometheus_duration

__all__ = ["SLOBody", "SLOList", "slo_list"]


class SLOWindow(_Body):
    """The SLI over one window ending now."""

    window: str = Field(description="As PromQL writes it: 5m, 1h, 30d.")
    error_ratio: Number | None = Field(description="Share of the window spent bad.")
    burn_rate: Number | None = Field(description="Error ratio ÷ error budget.")


class BurnCondition(_Body):
    """One multiwindow burn-rate alert condition."""

    severity: Literal["page", "ticket"]
    long: str
    short: str
    factor: Number


class BurnDownPoint(_Body):
    """The budget left over the period ending at ``time``."""

    time: datetime
    budget_remaining: Number | None


class SLOBody(_Body):
    """One SLO and, for model SLIs, where it stands now."""

    name: str
    model: str
    description: str
    sli: str = Field(description="availability, latency, drift, performance, ...")
    good_is: str = Field(description="What counts as good, in words.")
    objective: Number = Field(description="Share that must be good, e.g. 0.999.")
    period: str
    error_budget: Number
    evaluated_by: Literal["service", "prometheus"] = Field(
        description="Model SLIs are evaluated here; serving SLIs only by the exported "
        "Prometheus rules (`mlvigil slo export`), from the SDK's metrics."
    )
    good: bool | None = Field(description="Whether the newest verdict is good.")
    budget_remaining: Number | None
    page: bool = Field(description="A page condition holds now.")
    ticket: bool = Field(description="A ticket condition holds now.")
    windows: list[SLOWindow]
    conditions: list[BurnCondition]
    burn_down: list[BurnDownPoint]


class SLOList(_Body):
    """Every declared SLO."""

    slos: list[SLOBody]


def _finite(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _body(slo: SLO, status: BudgetStatus | None) -> SLOBody:
    return SLOBody(
        name=slo.name,
        model=slo.model,
        description=slo.description,
        sli=slo.sli.kind.value,
        good_is=slo.sli.describe(),
        objective=slo.objective,
        period=prometheus_duration(slo.period),
        error_budget=round(slo.error_budget, 10),
        evaluated_by="prometheus" if slo.sli.kind.is_serving else "service",
        good=status.good if status else None,
        budget_remaining=_finite(status.budget_remaining) if status else None,
        page=status.page if status else False,
        ticket=status.ticket if status else False,
        windows=[
            SLOWindow(window=w, error_ratio=_finite(r), burn_rate=_finite(status.burn_rates[w]))
            for w, r in status.error_ratios.items()
        ]
        if status
        else [],
        conditions=[
            BurnCondition(
                severity=b.severity,
                long=prometheus_duration(b.long),
                short=prometheus_duration(b.short),
                factor=b.factor,
            )
            for b in burn_windows(slo.period)
        ],
        burn_down=[
            BurnDownPoint(time=t.replace(microsecond=0), budget_remaining=_finite(v))
            for t, v in status.burn_down()
        ]
        if status
        else [],
    )


def slo_list(slos: Sequence[SLO], statuses: Sequence[BudgetStatus]) -> SLOList:
    """Every SLO in declared order, with the status of those the service evaluates."""
    by_name = {status.slo.name: status for status in statuses}
    return SLOList(slos=[_body(slo, by_name.get(slo.name)) for slo in slos])
