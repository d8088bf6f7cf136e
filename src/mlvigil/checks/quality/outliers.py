"""Outliers: the share of values outside z-score or IQR bounds.

Bounds come from the finite values of the batch itself; infinite values count as
outliers. The bound functions take summary statistics (mean and standard
deviation, or quartiles), so a profile's moments or quantile sketch give the
same bounds without the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from mlvigil.checks.quality._common import (
    error_result,
    extreme_examples,
    is_numeric,
    jsonable,
    numeric_values,
    percent,
    type_name,
    verdict,
)
from mlvigil.checks.quality.options import OutlierRule
from mlvigil.checks.result import CheckKind, CheckResult, Severity

__all__ = ["check_outliers", "evaluate_outliers", "iqr_bounds", "zscore_bounds"]

CHECK, METRIC = CheckKind.OUTLIERS, "outlier_rate"


def zscore_bounds(mean: float, std: float, n_std: float = 3.0) -> tuple[float, float]:
    """``mean ± n_std · std``.

    Examples
    --------
    >>> zscore_bounds(10.0, 2.0, 3.0)
    (4.0, 16.0)
    """
    return mean - n_std * std, mean + n_std * std


def iqr_bounds(q1: float, q3: float, k: float = 1.5) -> tuple[float, float]:
    """Tukey's fences ``[Q1 - k·IQR, Q3 + k·IQR]``.

    Examples
    --------
    >>> iqr_bounds(10.0, 20.0, 1.5)
    (-5.0, 35.0)
    """
    iqr = q3 - q1
    return q1 - k * iqr, q3 + k * iqr


def evaluate_outliers(
    column: str,
    *,
    rule: OutlierRule,
    lower: float,
    upper: float,
    non_null: int,
    outliers: float,
    examples: Sequence[Any] = (),
    estimated: bool = False,
    note: str | None = None,
    severity: Severity = Severity.WARNING,
) -> CheckResult:
    """Judge an outlier count against ``rule.max_rate``.

    Examples
    --------
    >>> r = evaluate_outliers("x", rule=OutlierRule("iqr"), lower=-5.0, upper=35.0,
    ...                       non_null=1000, outliers=30)
    >>> r.value, r.passed, r.details["lower"]
    (0.03, False, -5.0)
    """
    rate = outliers / non_null
    width = f"n_std={rule.n_std:g}" if rule.method == "zscore" else f"k={rule.k:g}"
    about = "about " if estimated else ""
    message = (
        f"{about}{percent(rate)} of values outside [{lower:.6g}, {upper:.6g}] "
        f"({rule.method}, {width}; max {percent(rule.max_rate)})"
    )
    if note:
        message += f"; {note}"
    return CheckResult(
        check=CHECK,
        metric=METRIC,
        column=column,
        value=rate,
        threshold=rule.max_rate,
        status=verdict(rate, rule.max_rate),
        severity=severity,
        message=message,
        details={
            "method": rule.method,
            **({"n_std": rule.n_std} if rule.method == "zscore" else {"k": rule.k}),
            "lower": lower,
            "upper": upper,
            "outliers": outliers,
            "values": non_null,
            "examples": [jsonable(e) for e in examples],
            "estimated": estimated,
        },
    )


def check_outliers(
    values: pa.ChunkedArray | pa.Array,
    *,
    column: str,
    rule: OutlierRule | None = None,
    severity: Severity = Severity.WARNING,
) -> CheckResult:
    """Share of a numerical column's values outside the rule's bounds.

    Parameters
    ----------
    values
        The column.
    column
        Its name.
    rule
        Method, width and maximum rate; default z-score with ``n_std=3``.
    severity
        Severity of a failure.

    Returns
    -------
    CheckResult
        Metric ``outlier_rate``, details with the bounds and the most extreme
        outliers; an error result for non-numeric, empty or all-missing columns.

    Examples
    --------
    >>> import pyarrow as pa
    >>> values = pa.array([10.0, 11.0, 12.0, 11.0, 10.0, 12.0, 11.0, 95.0])
    >>> r = check_outliers(values, column="latency", rule=OutlierRule("iqr", max_rate=0.2))
    >>> r.value, r.passed, r.details["examples"]
    (0.125, True, [95.0])
    """
    rule = rule or OutlierRule()
    if not (is_numeric(values.type) or pa.types.is_null(values.type)):
        return error_result(
            CHECK,
            METRIC,
            column,
            f"holds {type_name(values.type)} values; outlier checks need numbers",
            severity=severity,
            threshold=rule.max_rate,
        )
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    array = numeric_values(values)
    finite = array[np.isfinite(array)]
    if len(finite) == 0:
        reason = (
            "no rows"
            if len(values) == 0
            else f"no finite values among {len(values)} rows ({len(array)} infinite)"
        )
        return error_result(
            CHECK,
            METRIC,
            column,
            f"{reason}: nothing to check",
            severity=severity,
            threshold=rule.max_rate,
        )
    note = None
    if rule.method == "zscore":
        mean, std = float(finite.mean()), float(finite.std())
        lower, upper = zscore_bounds(mean, std, rule.n_std)
        centre = mean
        if std == 0:
            note = "the column is constant"
    else:
        q1, median, q3 = (float(q) for q in np.percentile(finite, [25, 50, 75]))
        lower, upper = iqr_bounds(q1, q3, rule.k)
        centre = median
        if q1 == q3:
            note = "the interquartile range is 0: any value off the middle quartiles is an outlier"
    outside = array[(array < lower) | (array > upper)]
    return evaluate_outliers(
        column,
        rule=rule,
        lower=lower,
        upper=upper,
        non_null=len(array),
        outliers=len(outside),
        examples=extreme_examples(outside, centre),
        note=note,
        severity=severity,
    )
