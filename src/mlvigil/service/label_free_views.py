"""The dashboard's series for estimated performance, multivariate drift and explained drift.

Read from the stored results in SQL, one query each, as lists aligned with the model's
windows (``None`` where a window has no value):

- estimated performance per metric: the estimate, its sampling band, the learned
  limits, and the realized value once the window's labels came;
- multivariate drift per method: the value and the limit it was judged by;
- the latest window's drift explained (columns ranked by their contribution) and its
  drift per segment value.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import orjson

from mlvigil.service.store import Store

__all__ = ["drift_explanation", "estimation_series", "multivariate_series", "rounded"]

_ESTIMATION = """
    SELECT window_start, metric, value, threshold, status,
           CAST(details->>'lower_band' AS DOUBLE), CAST(details->>'upper_band' AS DOUBLE),
           CAST(details->>'realized' AS DOUBLE),
           CAST(details->'limits'->>'lower' AS DOUBLE), CAST(details->'limits'->>'upper' AS DOUBLE)
    FROM results
    WHERE model = ? AND "check" = 'estimation' AND segment IS NULL AND "column" IS NULL
    ORDER BY window_start, metric
"""

_MULTIVARIATE = """
    SELECT window_start, metric, "column", value, threshold, status FROM results
    WHERE model = ? AND "check" = 'drift' AND segment IS NULL
      AND (metric IN ('reconstruction_error', 'domain_classifier_auc') AND "column" IS NULL
           OR metric = 'mmd' OR metric = 'domain_classifier_auc' AND "column" IS NOT NULL)
    ORDER BY window_start
"""

_LATEST_SHARES = """
    SELECT segment, value, status, details FROM results
    WHERE model = ? AND "check" = 'drift' AND metric = 'drift_share' AND window_start = (
        SELECT max(window_start) FROM results
        WHERE model = ? AND "check" = 'drift' AND metric = 'drift_share')
    ORDER BY segment NULLS FIRST
"""


def rounded(value: float | None, digits: int = 4) -> float | None:
    """``value`` rounded for the dashboard; ``None`` for no value or a non-finite one."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def estimation_series(
    store: Store, model: str, index: dict[datetime, int], count: int
) -> dict[str, dict[str, Any]]:
    """Per estimated metric: estimate, band, limits, realized and failed, per window."""
    series: dict[str, dict[str, Any]] = {}
    for row in store.read(_ESTIMATION, [model]).fetchall():
        start, metric, value, threshold, status, low, high, realized, lower, upper = row
        at = index.get(start.astimezone(UTC))
        if at is None:
            continue
        entry = series.setdefault(
            metric,
            {name: [None] * count for name in ("values", "band_lower", "band_upper", "realized")}
            | {"failed": [False] * count, "lower": None, "upper": None, "threshold": None},
        )
        entry["values"][at] = rounded(value)
        entry["band_lower"][at] = rounded(low)
        entry["band_upper"][at] = rounded(high)
        entry["realized"][at] = rounded(realized)
        entry["failed"][at] = status == "failed"
        if lower is not None or upper is not None:
            entry["lower"], entry["upper"] = rounded(lower), rounded(upper)
        if threshold is not None:
            entry["threshold"] = rounded(threshold)
    return series


def multivariate_series(
    store: Store, model: str, index: dict[datetime, int], count: int
) -> dict[str, dict[str, Any]]:
    """Per multivariate method: its value and limit per window, and which windows drifted.

    Keyed by the method's metric for the tabular columns, and ``metric:column`` for
    each embedding column's.
    """
    series: dict[str, dict[str, Any]] = {}
    rows = store.read(_MULTIVARIATE, [model]).fetchall()
    for start, metric, column, value, threshold, status in rows:
        at = index.get(start.astimezone(UTC))
        if at is None:
            continue
        entry = series.setdefault(
            metric if column is None else f"{metric}:{column}",
            {
                "metric": metric,
                "column": column,
                "values": [None] * count,
                "failed": [False] * count,
                "threshold": None,
            },
        )
        entry["values"][at] = rounded(value)
        entry["failed"][at] = status == "failed"
        if threshold is not None:
            entry["threshold"] = rounded(threshold)
    return series


def _details(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    data = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return data if isinstance(data, dict) else {}


def drift_explanation(store: Store, model: str) -> dict[str, Any]:
    """The latest window's drift: columns ranked by contribution, and drift per segment."""
    contributions: list[dict[str, Any]] = []
    segments: list[dict[str, Any]] = []
    for segment, value, status, raw in store.read(_LATEST_SHARES, [model, model]).fetchall():
        details = _details(raw)
        if segment is None:
            contributions = [
                {"column": c[0], "score": rounded(c[1], 3), "importance": rounded(c[2], 3)}
                for c in details.get("contributions", [])
                if isinstance(c, list) and len(c) == 3
            ]
            continue
        segments.append(
            {
                "segment": segment,
                "share": rounded(value),
                "status": status,
                "drifted_columns": list(details.get("drifted_columns", [])),
            }
        )
    return {"contributions": contributions, "segments": segments}
