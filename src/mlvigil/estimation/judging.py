"""Estimated metrics as :class:`~mlvigil.checks.result.CheckResult` rows, judged by learned limits.

Limits are learned from the estimate itself over reference chunks of a window's size
(``mean ± 3 std``, :class:`~mlvigil.checks.limits.LearnedLimits`), both sides, as the
realized performance checks judge theirs: an estimate on the worse side is a
degradation (status ``failed``), on the better side an improvement (reported, status
``passed``). Without limits an estimate is reported and never fails.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from mlvigil.checks._common import error_result
from mlvigil.checks.details import EstimationDetails
from mlvigil.checks.limits import LearnedLimits
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.estimation.sampling import band

__all__ = [
    "CLASSIFICATION_ESTIMATES",
    "LOSSES",
    "REGRESSION_ESTIMATES",
    "estimate_error",
    "estimate_result",
    "estimated_metrics",
    "learned_limits",
    "metric_bounds",
]

#: Metrics confidence-based estimation gives (all by default).
CLASSIFICATION_ESTIMATES = ("accuracy", "precision", "recall", "f1", "specificity", "roc_auc")
#: Metrics direct loss estimation gives (all by default).
REGRESSION_ESTIMATES = ("mae", "mse", "rmse", "mape")
#: Estimated metrics where larger is worse.
LOSSES = frozenset(REGRESSION_ESTIMATES)


def estimated_metrics(task: str) -> tuple[str, ...]:
    """The metrics a task's estimation gives.

    Examples
    --------
    >>> estimated_metrics("regression")
    ('mae', 'mse', 'rmse', 'mape')
    """
    return CLASSIFICATION_ESTIMATES if task == "classification" else REGRESSION_ESTIMATES


def metric_bounds(metric: str) -> tuple[float, float]:
    """The values an estimated metric can take (for bands and limits).

    Examples
    --------
    >>> metric_bounds("specificity"), metric_bounds("mae")
    ((0.0, 1.0), (0.0, inf))
    """
    return (0.0, math.inf) if metric in LOSSES else (0.0, 1.0)


def estimate_error(
    metric: str, message: str, *, severity: Severity, rows: int, method: str
) -> CheckResult:
    """The result of a metric that could not be estimated on a window."""
    return error_result(
        CheckKind.ESTIMATION, metric, None, message, severity=severity, rows=rows, method=method
    )


def _direction(metric: str, value: float, limits: LearnedLimits) -> tuple[str, float]:
    """``degraded``/``improved``/``within``, and the limit crossed (else the worse-side one)."""
    loss = metric in LOSSES
    below, above = value < limits.lower, value > limits.upper
    degraded, improved = (above, below) if loss else (below, above)
    worse_side = limits.upper if loss else limits.lower
    if degraded:
        return "degraded", worse_side
    if improved:
        return "improved", limits.lower if loss else limits.upper
    return "within", worse_side


def _message(
    metric: str,
    value: float,
    error: float | None,
    limits: LearnedLimits | None,
    direction: str | None,
    realized: float | None,
) -> str:
    text = f"estimated {metric} {value:.4g}"
    if error is not None:
        text += f" ±{3 * error:.2g}"
    if limits is not None:
        span = f"[{limits.lower:.4g}, {limits.upper:.4g}]"
        if direction == "within":
            text += f" within the reference range {span}"
        else:
            worse = "worse" if direction == "degraded" else "better"
            text += f" outside the reference range {span}: {worse} than the reference"
        if limits.note:
            text += f" ({limits.note})"
    else:
        text += " (no limits: give reference chunks to judge it)"
    if realized is not None:
        text += f"; realized {realized:.4g}"
    return text


def estimate_result(
    metric: str,
    value: float,
    *,
    rows: int,
    standard_error: float | None,
    limits: LearnedLimits | None,
    severity: Severity,
    method: str,
    realized: float | None = None,
    calibrated: bool | None = None,
    assumptions: Sequence[str] = (),
) -> CheckResult:
    """One estimated metric of a window, judged by its limits when it has them.

    Examples
    --------
    >>> limits = LearnedLimits.of([0.90, 0.91, 0.92, 0.91], chunk_rows=1000, high=1.0)
    >>> r = estimate_result("accuracy", 0.85, rows=1000, standard_error=0.01,
    ...                     limits=limits, severity=Severity.ERROR, method="confidence")
    >>> r.status.value, r.details.direction, round(r.threshold, 4)
    ('failed', 'degraded', 0.8855)
    """
    low, high = metric_bounds(metric)
    lower_band, upper_band = band(value, standard_error, low, high)
    direction, threshold = (None, None) if limits is None else _direction(metric, value, limits)
    return CheckResult(
        check=CheckKind.ESTIMATION,
        metric=metric,
        column=None,
        value=value,
        threshold=threshold,
        status=CheckStatus.FAILED if direction == "degraded" else CheckStatus.PASSED,
        severity=severity,
        message=_message(metric, value, standard_error, limits, direction, realized),
        details=EstimationDetails(
            method=method,
            rows=rows,
            standard_error=standard_error,
            lower_band=lower_band,
            upper_band=upper_band,
            limits=limits,
            direction=direction,
            realized=realized,
            calibrated=calibrated,
            assumptions=tuple(assumptions),
        ),
    )


def learned_limits(
    metrics: Sequence[str], values: Mapping[str, Sequence[float]], chunk_rows: int
) -> dict[str, LearnedLimits]:
    """Limits of each metric's estimate over reference chunks (metrics with < 2 values: none)."""
    found: dict[str, LearnedLimits] = {}
    for metric in metrics:
        low, high = metric_bounds(metric)
        limits = LearnedLimits.of(values.get(metric, []), chunk_rows=chunk_rows, low=low, high=high)
        if limits is not None:
            found[metric] = limits
    return found
