"""The dashboard's versions side by side, and its business outcomes, from stored results.

A window holding several model versions stores each version's results with the segment
``model_version=<version>`` (:mod:`mlvigil.service.versions`); here they become one
line per version for every metric (performance, latency, errors, business outcomes,
the share of drifted columns), the canary verdict of each candidate per window, and
the latest window's differences with their intervals. Business outcomes of the whole
window are series like performance's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlvigil.service.label_free_views import rounded
from mlvigil.service.store import Store
from mlvigil.service.versions import VERSION_COLUMN

__all__ = ["business_series", "versions_view"]

_PREFIX = f"{VERSION_COLUMN}="

_VERSION_SERIES = f"""
    SELECT window_start, "check", metric, segment, value, message FROM results
    WHERE model = ? AND starts_with(segment, '{_PREFIX}')
      AND (("check" IN ('performance', 'serving', 'canary') AND "column" IS NULL)
           OR "check" = 'business'
           OR ("check" = 'drift' AND metric = 'drift_share'))
      AND metric <> 'label_coverage' AND status <> 'error'
    ORDER BY window_start, metric
"""

_LATEST_DIFFERENCES = """
    SELECT window_start, segment, metric, value, status, message,
           details->>'baseline_version',
           CAST(details->>'low' AS DOUBLE), CAST(details->>'high' AS DOUBLE)
    FROM results
    WHERE model = ? AND "check" = 'comparison' AND window_start = (
        SELECT max(window_start) FROM results WHERE model = ? AND "check" = 'comparison')
    ORDER BY segment, metric
"""

_BUSINESS = """
    SELECT window_start, metric, value, threshold, status FROM results
    WHERE model = ? AND "check" = 'business' AND segment IS NULL AND status <> 'error'
    ORDER BY window_start, metric
"""


def versions_view(
    store: Store, model: str, index: dict[datetime, int], count: int
) -> dict[str, Any]:
    """Each version's metrics per window, each candidate's canary verdicts, the differences.

    ``metrics`` maps a metric to one list per version; ``canary`` maps a candidate to its
    verdict per window (1 pass, 0 inconclusive, -1 fail) and the verdicts' messages.
    """
    versions: list[str] = []
    metrics: dict[str, dict[str, list[float | None]]] = {}
    canary: dict[str, dict[str, list[Any]]] = {}
    for start, check, metric, segment, value, message in store.read(
        _VERSION_SERIES, [model]
    ).fetchall():
        at = index.get(start.astimezone(UTC))
        if at is None:
            continue
        version = segment[len(_PREFIX) :]
        if version not in versions:
            versions.append(version)
        if check == "canary":
            verdicts = canary.setdefault(
                version, {"values": [None] * count, "messages": [None] * count}
            )
            verdicts["values"][at] = rounded(value)
            verdicts["messages"][at] = message
            continue
        lines = metrics.setdefault(metric, {})
        lines.setdefault(version, [None] * count)[at] = rounded(value)
    differences = []
    latest: str | None = None
    for row in store.read(_LATEST_DIFFERENCES, [model, model]).fetchall():
        start, segment, metric, value, status, message, baseline, low, high = row
        latest = start.astimezone(UTC).isoformat()
        differences.append(
            {
                "version": (segment or "")[len(_PREFIX) :],
                "baseline": baseline,
                "metric": metric,
                "value": rounded(value),
                "low": rounded(low),
                "high": rounded(high),
                "status": status,
                "message": message,
            }
        )
    return {
        "versions": sorted(versions),
        "metrics": metrics,
        "canary": canary,
        "latest_window": latest,
        "differences": differences,
    }


def business_series(
    store: Store, model: str, index: dict[datetime, int], count: int
) -> dict[str, dict[str, Any]]:
    """Per business metric of the whole window: its value, limit and failed windows."""
    series: dict[str, dict[str, Any]] = {}
    for start, metric, value, threshold, status in store.read(_BUSINESS, [model]).fetchall():
        at = index.get(start.astimezone(UTC))
        if at is None:
            continue
        entry = series.setdefault(
            metric, {"values": [None] * count, "threshold": None, "failed": [False] * count}
        )
        entry["values"][at] = rounded(value)
        entry["failed"][at] = status == "failed"
        if threshold is not None:
            entry["threshold"] = rounded(threshold)
    return series
