"""Completeness: the share of missing (null or NaN) values in a column."""

from __future__ import annotations

import pyarrow as pa

from mlvigil.checks.quality._common import error_result, null_count, percent, verdict
from mlvigil.checks.result import CheckKind, CheckResult, Severity

__all__ = ["check_completeness", "evaluate_completeness"]

CHECK, METRIC = CheckKind.COMPLETENESS, "null_rate"


def evaluate_completeness(
    column: str,
    *,
    rows: int,
    nulls: int,
    max_null_rate: float,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Judge a column's null rate from its counts (data or a profile).

    Parameters
    ----------
    column
        Column name.
    rows
        Rows in the table.
    nulls
        Missing values: nulls plus NaNs.
    max_null_rate
        Largest allowed ``nulls / rows``.
    severity
        Severity of a failure.

    Returns
    -------
    CheckResult
        Metric ``null_rate``; status error when there are no rows.

    Examples
    --------
    >>> evaluate_completeness("age", rows=200, nulls=30, max_null_rate=0.05).status.value
    'failed'
    >>> evaluate_completeness("age", rows=0, nulls=0, max_null_rate=0.05).message
    'no rows: the null rate is undefined'
    """
    if rows == 0:
        return error_result(
            CHECK,
            METRIC,
            column,
            "no rows: the null rate is undefined",
            severity=severity,
            threshold=max_null_rate,
        )
    rate = nulls / rows
    return CheckResult(
        check=CHECK,
        metric=METRIC,
        column=column,
        value=rate,
        threshold=max_null_rate,
        status=verdict(rate, max_null_rate),
        severity=severity,
        message=f"{percent(rate)} of {rows} values are missing (max {percent(max_null_rate)})",
        details={"rows": rows, "nulls": nulls},
    )


def check_completeness(
    values: pa.ChunkedArray | pa.Array,
    *,
    column: str,
    max_null_rate: float,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Null rate of a column's values: nulls and NaNs over rows.

    Examples
    --------
    >>> import pyarrow as pa
    >>> result = check_completeness(pa.array([1.0, None, float("nan"), 4.0]),
    ...                             column="x", max_null_rate=0.5)
    >>> result.value, result.passed
    (0.5, True)
    """
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    return evaluate_completeness(
        column,
        rows=len(values),
        nulls=null_count(values),
        max_null_rate=max_null_rate,
        severity=severity,
    )
