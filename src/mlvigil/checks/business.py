"""Business outcomes of a window: a rate (converted, clicked) or a mean (revenue), and a sum.

An outcome column holds one value per prediction, null until it is known (a purchase
days after the recommendation). Per outcome the window gets its rate or mean over the
rows whose outcome is known, judged against the outcome's bounds, and its sum; a
window with no known outcome yet says so with an ``info`` error, which pages no one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks._common import error_result
from mlvigil.checks.limits import LearnedLimits
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity

__all__ = ["Outcome", "business_results", "outcome_metric"]


@dataclass(frozen=True)
class Outcome:
    """A business outcome column: its kind, and which way is better.

    Attributes
    ----------
    kind
        ``rate`` for 0/1 outcomes (clicked, converted): the share of 1s; ``mean`` for
        amounts (revenue, rating): the mean per prediction.
    higher_is_better
        Whether more is better (revenue: yes; refunds: no).
    minimum, maximum
        Bounds of a window's rate or mean: outside them its result fails.
    limits
        Learned from reference chunks of a window's size, for an outcome without
        bounds: a window beyond the limit on the worse side fails.
    """

    kind: Literal["rate", "mean"] = "mean"
    higher_is_better: bool = True
    minimum: float | None = None
    maximum: float | None = None
    limits: LearnedLimits | None = None


def outcome_metric(column: str, outcome: Outcome) -> str:
    """The name of an outcome's comparison: ``converted_rate``, ``revenue_mean``."""
    return f"{column}_{outcome.kind}"


def _judged(outcome: Outcome, value: float) -> tuple[CheckStatus, float | None, str]:
    """Status, the bound it was held to, and how it compares."""
    limits = outcome.limits
    if limits is not None and outcome.minimum is None and outcome.maximum is None:
        limit = limits.lower if outcome.higher_is_better else limits.upper
        worse = value < limit if outcome.higher_is_better else value > limit
        side = "below" if outcome.higher_is_better else "above"
        learned = f"its learned limit {limit:.4g} (reference {limits.mean:.4g} ± 3 sd)"
        if worse:
            return CheckStatus.FAILED, limit, f"{side} {learned}"
        return CheckStatus.PASSED, limit, f"within {learned}"
    if outcome.minimum is not None and value < outcome.minimum:
        return CheckStatus.FAILED, outcome.minimum, f"below {outcome.minimum:g}"
    if outcome.maximum is not None and value > outcome.maximum:
        return CheckStatus.FAILED, outcome.maximum, f"above {outcome.maximum:g}"
    bound = outcome.minimum if outcome.minimum is not None else outcome.maximum
    return CheckStatus.PASSED, bound, "within its bounds" if bound is not None else ""


def business_results(
    outcomes: Mapping[str, Outcome], table: pa.Table, *, severity: Severity = Severity.WARNING
) -> list[CheckResult]:
    """The rate or mean, and the sum, of each outcome column of ``table``.

    Examples
    --------
    >>> table = pa.table({"converted": [1.0, 0.0, None, 1.0]})
    >>> [r.value for r in business_results({"converted": Outcome("rate")}, table)]
    [0.6666666666666666, 2.0]
    """
    results: list[CheckResult] = []
    for column, outcome in outcomes.items():
        metric = outcome_metric(column, outcome)
        if column not in table.column_names:
            results.append(
                error_result(
                    CheckKind.BUSINESS,
                    metric,
                    column,
                    f"no column {column!r}",
                    severity=Severity.INFO,
                )
            )
            continue
        values = pc.drop_null(table.column(column).cast(pa.float64())).to_numpy()
        values = values[np.isfinite(values)]
        if values.size == 0:
            message = f"no {column} known yet in the window's {table.num_rows} rows"
            results.append(
                error_result(CheckKind.BUSINESS, metric, column, message, severity=Severity.INFO)
            )
            continue
        if outcome.kind == "rate" and not np.isin(values, (0.0, 1.0)).all():
            wrong = sorted(set(values[~np.isin(values, (0.0, 1.0))].tolist()))[:3]
            message = f"{column} is a rate: 0 or 1 per prediction, got {wrong}"
            results.append(
                error_result(CheckKind.BUSINESS, metric, column, message, severity=severity)
            )
            continue
        value, total = float(values.mean()), float(values.sum())
        status, bound, judged = _judged(outcome, value)
        details = {"known": int(values.size), "rows": table.num_rows, "sum": total}
        what = "rate" if outcome.kind == "rate" else "mean"
        shown = f"{value:.2%}" if outcome.kind == "rate" else f"{value:.4g}"
        results.append(
            CheckResult(
                CheckKind.BUSINESS,
                metric,
                column,
                value,
                bound,
                status,
                severity=severity,
                message=f"{column} {what} {shown} over {values.size} predictions {judged}".rstrip(),
                details=details,
            )
        )
        results.append(
            CheckResult(
                CheckKind.BUSINESS,
                f"{column}_sum",
                column,
                total if math.isfinite(total) else None,
                None,
                CheckStatus.PASSED,
                severity=Severity.INFO,
                message=f"{column} sum {total:.6g} over {values.size} predictions",
                details=details,
            )
        )
    return results
