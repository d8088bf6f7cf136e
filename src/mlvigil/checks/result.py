"""The one result type every check produces: :class:`CheckResult`.

Quality, drift, performance and serving checks all return it, and it stays the same
type all the way: the monitoring service stamps it with its model and window, the store
saves it and hands it back, the alert engine, the gauges, the dashboard's views and the
API read its fields. One path stores results, one turns them into Prometheus gauges,
one alert engine evaluates them and one dashboard draws them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from mlvigil.checks.details import Details

__all__ = ["QUALITY_CHECKS", "CheckKind", "CheckResult", "CheckStatus", "Severity"]


class CheckKind(StrEnum):
    """What a result is about: the check that produced it."""

    VOLUME = "volume"
    SCHEMA = "schema"
    COMPLETENESS = "completeness"
    UNIQUENESS = "uniqueness"
    OUTLIERS = "outliers"
    FRESHNESS = "freshness"
    DRIFT = "drift"
    PERFORMANCE = "performance"
    #: Performance estimated without labels (confidence-based, direct loss estimation).
    ESTIMATION = "estimation"
    SERVING = "serving"
    #: A service-level objective's error-budget burn (results of the service, not stored).
    SLO = "slo"
    #: A candidate model version against a baseline: differences, paired tests, drift.
    COMPARISON = "comparison"
    #: A canary's verdict from its guard metrics: pass, fail or inconclusive.
    CANARY = "canary"
    #: A business outcome per window: a rate (converted) or a mean (revenue), and its sum.
    BUSINESS = "business"

    def __repr__(self) -> str:
        # Shown as its text, as the check was named before it had a type.
        return repr(self.value)

    @property
    def is_quality(self) -> bool:
        """Whether it is a data-quality check (the rest: drift, performance, serving)."""
        return self in QUALITY_CHECKS


#: The data-quality checks.
QUALITY_CHECKS = frozenset(
    {
        CheckKind.VOLUME,
        CheckKind.SCHEMA,
        CheckKind.COMPLETENESS,
        CheckKind.UNIQUENESS,
        CheckKind.OUTLIERS,
        CheckKind.FRESHNESS,
    }
)


class Severity(StrEnum):
    """How bad a failed check is, as on-call engineers rank alerts."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def blocks(self) -> bool:
        """Whether a failure of this severity fails a run (``mlvigil check`` exit 1)."""
        return self in (Severity.ERROR, Severity.CRITICAL)


class CheckStatus(StrEnum):
    """Outcome of one check."""

    PASSED = "passed"
    FAILED = "failed"
    #: The check could not be evaluated (e.g. its column is missing); see the message.
    ERROR = "error"
    #: Evaluated, but the evidence decides neither way (a canary short of rows or of
    #: certainty); see the message.
    INCONCLUSIVE = "inconclusive"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Outcome of one check on one column (or on the whole dataset).

    Attributes
    ----------
    check
        Kind of check (:class:`CheckKind`; its text, e.g. ``"drift"``, is accepted).
    metric
        What ``value`` measures, e.g. ``null_rate`` or ``duplicate_rate``.
    column
        The column checked, or ``None`` for dataset-level checks.
    value
        The measured value (``None`` when the check could not run).
    threshold
        The limit ``value`` was compared with, when it is one number.
    status
        Passed, failed, or error.
    severity
        How bad a failure is.
    message
        One line a person can read.
    details
        Facts of the kind, JSON-serialisable: typed for drift and performance
        (:mod:`mlvigil.checks.details`, readable as mappings too), a mapping for the
        data-quality checks (allowed range, example values...).
    timestamp
        When the check ran (UTC).
    segment
        The slice of the data checked, as ``column=value`` (e.g. ``region=west``), or
        ``None`` for all of it.
    score
        How large the finding is on one scale for every method, 1 at the threshold
        (drift: statistic / threshold, log p / log alpha, or the statistic's magnitude
        over a learned limit), or ``None``. Computed once, by the check.
    model
        The monitored model, for results of the monitoring service.
    window_start, window_end
        The window ``[start, end)`` the result is about, for results of the service.
    """

    check: CheckKind
    metric: str
    column: str | None
    value: float | None
    threshold: float | None
    status: CheckStatus
    severity: Severity = Severity.ERROR
    message: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    timestamp: datetime = field(default_factory=_now)
    segment: str | None = None
    score: float | None = None
    model: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "check", CheckKind(self.check))
        if not isinstance(self.details, Details):  # typed details are frozen already
            object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def stamped(
        self, model: str, window_start: datetime, window_end: datetime, timestamp: datetime
    ) -> CheckResult:
        """A copy of the result as ``model``'s, of its window ``[window_start, window_end)``.

        ``dataclasses.replace`` without its cost (a window stamps dozens of results).
        """
        copy = object.__new__(CheckResult)
        for name in _FIELDS:
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "model", model)
        object.__setattr__(copy, "window_start", window_start)
        object.__setattr__(copy, "window_end", window_end)
        object.__setattr__(copy, "timestamp", timestamp)
        return copy

    @property
    def passed(self) -> bool:
        """Whether the check passed."""
        return self.status is CheckStatus.PASSED

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view; non-finite values become ``None``.

        Examples
        --------
        >>> r = CheckResult("completeness", "null_rate", "age", 0.1, 0.05, CheckStatus.FAILED)
        >>> r.to_dict()["passed"], r.to_dict()["severity"]
        (False, 'error')
        """
        data: dict[str, Any] = {
            "check": self.check.value,
            "metric": self.metric,
            "column": self.column,
            "value": _finite(self.value),
            "threshold": _finite(self.threshold),
            "passed": self.passed,
            "status": self.status.value,
            "severity": self.severity.value,
            "message": self.message,
            "details": plain_details(self.details),
            "timestamp": self.timestamp.isoformat(),
        }
        if self.segment is not None:
            data["segment"] = self.segment
        if self.score is not None:
            data["score"] = _finite(self.score)
        return data

    def to_row(self) -> dict[str, Any]:
        """Plain-JSON view of a stored result (the service's API): with its window.

        Examples
        --------
        >>> at = datetime(2026, 1, 1, tzinfo=UTC)
        >>> r = CheckResult("drift", "drift_share", None, 0.2, 0.5, CheckStatus.PASSED,
        ...                 model="m", window_start=at, window_end=at, timestamp=at)
        >>> row = r.to_row()
        >>> row["model"], row["window_start"], row["segment"], row["evaluated_at"]
        ('m', '2026-01-01T00:00:00+00:00', None, '2026-01-01T00:00:00+00:00')
        """
        data = self.to_dict()
        data.pop("timestamp")
        return {
            "model": self.model,
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            **data,
            "segment": self.segment,
            "score": _finite(self.score),
            "evaluated_at": self.timestamp.isoformat(),
        }


def plain_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as a plain JSON-ready mapping (typed details as their JSON view)."""
    return details.to_dict() if isinstance(details, Details) else dict(details)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


#: CheckResult's fields, copied by :meth:`CheckResult.stamped`.
_FIELDS = tuple(f.name for f in fields(CheckResult))


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None
