"""Volume: the row count against a fixed range and against previous windows."""

from __future__ import annotations

import math
import statistics

from mlvigil.checks.quality._common import percent, verdict
from mlvigil.checks.quality.options import VolumeConfig
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity

__all__ = ["check_volume"]

CHECK = CheckKind.VOLUME


def _range_result(rows: int, config: VolumeConfig, severity: Severity) -> CheckResult:
    low, high = config.min_rows, config.max_rows
    too_few = low is not None and rows < low
    too_many = high is not None and rows > high
    # The threshold is the bound that was crossed, else the upper bound if there is one.
    threshold = low if too_few or high is None else high
    if too_few:
        message = f"{rows} rows, fewer than the minimum {low}"
    elif too_many:
        message = f"{rows} rows, more than the maximum {high}"
    else:
        message = f"{rows} rows, within [{low or 0}, {'inf' if high is None else high}]"
    return CheckResult(
        check=CHECK,
        metric="row_count",
        column=None,
        value=float(rows),
        threshold=None if threshold is None else float(threshold),
        status=CheckStatus.FAILED if too_few or too_many else CheckStatus.PASSED,
        severity=severity,
        message=message,
        details={"rows": rows, "min_rows": low, "max_rows": high},
    )


def _history_result(rows: int, config: VolumeConfig, severity: Severity) -> CheckResult:
    median = statistics.median(config.history)
    # A zero median means most previous windows were empty: any rows at all are news.
    empty_news = 0.0 if rows == 0 else math.inf
    deviation = abs(rows - median) / median if median > 0 else empty_news
    direction = "more" if rows > median else "fewer"
    return CheckResult(
        check=CHECK,
        metric="row_count_deviation",
        column=None,
        value=deviation,
        threshold=config.max_deviation,
        status=verdict(deviation, config.max_deviation),
        severity=severity,
        message=(
            f"{rows} rows, {percent(deviation)} {direction} than the median {median:g} of "
            f"{len(config.history)} previous windows (max {percent(config.max_deviation)})"
            if rows != median
            else f"{rows} rows, the median of {len(config.history)} previous windows"
        ),
        details={"rows": rows, "median": median, "windows": len(config.history)},
    )


def check_volume(
    rows: int, config: VolumeConfig, *, severity: Severity = Severity.ERROR
) -> list[CheckResult]:
    """Check a row count (of data or of a profile).

    Gives a ``row_count`` result when ``config`` sets ``min_rows`` or
    ``max_rows``, and a ``row_count_deviation`` result when it has a history:
    ``|rows - median(history)| / median(history)``, which fails above
    ``max_deviation``. The median keeps one odd window (an outage, a backfill)
    from moving the expectation, as it would move a mean.

    Examples
    --------
    >>> config = VolumeConfig(min_rows=100, history=[1000, 1000, 1020, 5], max_deviation=0.5)
    >>> [(r.metric, r.value, r.passed) for r in check_volume(400, config)]
    [('row_count', 400.0, True), ('row_count_deviation', 0.6, False)]
    """
    results = []
    if config.min_rows is not None or config.max_rows is not None:
        results.append(_range_result(rows, config, severity))
    if config.history:
        results.append(_history_result(rows, config, severity))
    return results
