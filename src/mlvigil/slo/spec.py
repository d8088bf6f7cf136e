"""What an SLO is: a name, an objective over a period, an SLI, and how it alerts.

Declared in ``mlvigil.yaml`` under ``slos:``, in the shape of Sloth's spec (name,
objective as a percentage, period, description, SLI, alerting with page and ticket
alerts), for two kinds of SLI:

- *serving* SLIs, events counted by the SDK's metrics in the model server:
  ``availability`` (share of predictions without error, from
  ``ml_prediction_requests_total``) and ``latency`` (share of predictions answered
  within ``bound`` seconds, from the ``ml_prediction_latency_seconds`` buckets);
- *model* SLIs on mlvigil's own results, judged per evaluated window: ``drift`` (no
  dataset drift), ``performance`` (a metric meets its target: realized once labels
  are final, estimated before), ``quality`` (every data-quality check passed),
  ``freshness`` (the freshness check passed) and ``label_coverage`` (at least
  ``min_coverage`` of the window's predictions labelled). A model SLI is time-based:
  at any moment the SLI is good or bad as the newest window with a verdict says, and
  its error ratio over a span is the share of that span spent bad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mlvigil.checks.quality.freshness import parse_duration
from mlvigil.telemetry.metrics import LATENCY_BUCKETS

__all__ = [
    "SERVING_SLIS",
    "SLI",
    "SLO",
    "SLIKind",
    "SLOAlert",
    "SLOModel",
]


class SLIKind(StrEnum):
    """What an SLI counts as good."""

    AVAILABILITY = "availability"
    LATENCY = "latency"
    DRIFT = "drift"
    PERFORMANCE = "performance"
    QUALITY = "quality"
    FRESHNESS = "freshness"
    LABEL_COVERAGE = "label_coverage"

    @property
    def is_serving(self) -> bool:
        """Whether the SDK's serving metrics count it (else mlvigil's results judge it)."""
        return self in SERVING_SLIS


#: SLIs counted from the SDK's metrics in the model server, not from the service.
SERVING_SLIS = frozenset({SLIKind.AVAILABILITY, SLIKind.LATENCY})


@dataclass(frozen=True)
class SLI:
    """An SLI: its kind and the parameters that kind takes.

    Attributes
    ----------
    kind
        What counts as good (:class:`SLIKind`).
    bound
        ``latency``: the answer time in seconds a good prediction stays within (one of
        the SDK's histogram buckets, so Prometheus can count it exactly).
    metric, threshold
        ``performance``: the metric, and the value it must reach (at least, or at most
        for error metrics such as ``mae``); without a threshold, the performance
        check's own verdict.
    min_coverage
        ``label_coverage``: the share of a window's predictions that must be labelled.
    """

    kind: SLIKind
    bound: float | None = None
    metric: str | None = None
    threshold: float | None = None
    min_coverage: float | None = None

    def describe(self) -> str:
        """One line saying what a good event or window is."""
        match self.kind:
            case SLIKind.AVAILABILITY:
                return "predictions served without error"
            case SLIKind.LATENCY:
                return f"predictions answered within {self.bound:g} s"
            case SLIKind.DRIFT:
                return "windows without dataset drift"
            case SLIKind.PERFORMANCE:
                target = "its check passes" if self.threshold is None else f"{self.threshold:g}"
                return f"windows whose {self.metric} meets {target}"
            case SLIKind.QUALITY:
                return "windows whose data-quality checks all pass"
            case SLIKind.FRESHNESS:
                return "windows whose data is fresh"
            case SLIKind.LABEL_COVERAGE:
                return f"windows with at least {self.min_coverage:.0%} of predictions labelled"
        raise AssertionError(self.kind)


@dataclass(frozen=True)
class SLOAlert:
    """One of an SLO's two burn-rate alerts (page or ticket): its labels and notes."""

    labels: MappingProxyType[str, str]
    annotations: MappingProxyType[str, str]
    enabled: bool = True


@dataclass(frozen=True)
class SLO:
    """One service-level objective, resolved from ``mlvigil.yaml``.

    Attributes
    ----------
    name
        Unique name (letters, digits, ``-`` and ``_``), the ``slo`` label of its series.
    model
        The monitored model whose SLI this is (its ``model`` label).
    objective
        Share of events (serving) or of time (model SLIs) that must be good, e.g. 0.999.
    period
        The span the objective is measured over (30 days by default).
    alert_name
        Name of its alerts; page and ticket alerts share it, told apart by ``severity``.
    """

    name: str
    model: str
    objective: float
    period: timedelta
    sli: SLI
    description: str
    alert_name: str
    labels: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    annotations: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    page: SLOAlert = field(
        default_factory=lambda: SLOAlert(MappingProxyType({}), MappingProxyType({}))
    )
    ticket: SLOAlert = field(
        default_factory=lambda: SLOAlert(MappingProxyType({}), MappingProxyType({}))
    )

    @property
    def error_budget(self) -> float:
        """Share of events or time allowed to be bad: ``1 - objective``."""
        return 1.0 - self.objective


# -- mlvigil.yaml ----------------------------------------------------------------------

_Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,99}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Empty(_Strict):
    pass


class _Latency(_Strict):
    bound: float = Field(gt=0)
    """Seconds; one of the SDK's latency histogram buckets."""

    @model_validator(mode="after")
    def _a_bucket(self) -> _Latency:
        if self.bound not in LATENCY_BUCKETS:
            buckets = ", ".join(f"{b:g}" for b in LATENCY_BUCKETS)
            raise ValueError(
                f"bound {self.bound:g} s is not a bucket of ml_prediction_latency_seconds, "
                f"so no count of predictions within it exists; use one of {buckets}"
            )
        return self


class _Performance(_Strict):
    metric: str
    threshold: float | None = None


class _Coverage(_Strict):
    min_coverage: float = Field(default=0.9, gt=0, le=1)


class SLIModel(_Strict):
    """Exactly one SLI kind, with its parameters."""

    availability: _Empty | None = None
    latency: _Latency | None = None
    drift: _Empty | None = None
    performance: _Performance | None = None
    quality: _Empty | None = None
    freshness: _Empty | None = None
    label_coverage: _Coverage | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SLIModel:
        given = [kind for kind in SLIKind if getattr(self, kind.value) is not None]
        if len(given) != 1:
            kinds = ", ".join(k.value for k in SLIKind)
            raise ValueError(f"give exactly one SLI kind ({kinds}); got {len(given)}")
        return self

    def resolve(self) -> SLI:
        """The SLI this section declares."""
        (kind,) = [k for k in SLIKind if getattr(self, k.value) is not None]
        if self.latency is not None:
            return SLI(kind, bound=self.latency.bound)
        if self.performance is not None:
            return SLI(kind, metric=self.performance.metric, threshold=self.performance.threshold)
        if self.label_coverage is not None:
            return SLI(kind, min_coverage=self.label_coverage.min_coverage)
        return SLI(kind)


class _AlertModel(_Strict):
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    disable: bool = False


class _AlertingModel(_Strict):
    name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    page_alert: _AlertModel = Field(default_factory=_AlertModel)
    ticket_alert: _AlertModel = Field(default_factory=_AlertModel)


class SLOModel(_Strict):
    """One entry of ``slos:`` in ``mlvigil.yaml``."""

    name: str
    model: str
    objective: float = Field(gt=0, lt=100)
    """Percent of events (serving SLIs) or of time (model SLIs) that must be good."""
    period: _Duration = timedelta(days=30)
    description: str = ""
    sli: SLIModel
    alerting: _AlertingModel = Field(default_factory=_AlertingModel)

    @model_validator(mode="after")
    def _valid(self) -> SLOModel:
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"name {self.name!r}: start with a letter; letters, digits, - and _ only"
            )
        if self.period < timedelta(hours=1):
            raise ValueError("period must be at least 1h (the burn-rate windows scale with it)")
        return self

    def resolve(self) -> SLO:
        """The SLO this entry declares, with its defaults filled in."""
        alerting = self.alerting
        page, ticket = alerting.page_alert, alerting.ticket_alert
        return SLO(
            name=self.name,
            model=self.model,
            objective=self.objective / 100.0,
            period=self.period,
            sli=self.sli.resolve(),
            description=self.description,
            alert_name=alerting.name or _camel(self.name) + "BudgetBurn",
            labels=MappingProxyType(dict(alerting.labels)),
            annotations=MappingProxyType(dict(alerting.annotations)),
            page=SLOAlert(
                MappingProxyType({"severity": "critical", **page.labels}),
                MappingProxyType(dict(page.annotations)),
                enabled=not page.disable,
            ),
            ticket=SLOAlert(
                MappingProxyType({"severity": "warning", **ticket.labels}),
                MappingProxyType(dict(ticket.annotations)),
                enabled=not ticket.disable,
            ),
        )


def _camel(name: str) -> str:
    """``credit-drift_free`` -> ``CreditDriftFree``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)
