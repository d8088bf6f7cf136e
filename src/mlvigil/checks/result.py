"""The one result type every check produces: :class:`CheckResult`.

Quality, drift and (later) performance checks all return it, so one path stores
results, one path turns them into Prometheus gauges, one alert engine evaluates
them and one dashboard draws them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = ["CheckResult", "CheckStatus", "Severity"]


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


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Outcome of one check on one column (or on the whole dataset).

    Attributes
    ----------
    check
        Kind of check: ``completeness``, ``uniqueness``, ``schema``, ``outliers``,
        ``freshness``, ``volume``, ``drift``...
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
        Extra facts (allowed range, example values, ...), JSON-serialisable.
    timestamp
        When the check ran (UTC).
    segment
        The slice of the data checked, as ``column=value`` (e.g. ``region=west``), or
        ``None`` for all of it.
    """

    check: str
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

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
        data = {
            "check": self.check,
            "metric": self.metric,
            "column": self.column,
            "value": _finite(self.value),
            "threshold": _finite(self.threshold),
            "passed": self.passed,
            "status": self.status.value,
            "severity": self.severity.value,
            "message": self.message,
            "details": dict(self.details),
            "timestamp": self.timestamp.isoformat(),
        }
        if self.segment is not None:
            data["segment"] = self.segment
        return data


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None
