"""What the dashboard and window reports show: aggregates read from the store.

Every view is a handful of numbers per window or per column, computed in SQL from the
stored results and profiles; no view sends prediction rows. A model with 100 features
and 1,000 windows is one query of 100,000 small rows turned into a matrix.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.result import QUALITY_CHECKS, CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.exceptions import InputError
from mlvigil.profile import DatasetProfile, profile_table
from mlvigil.report import ReportData, column_distribution, distributions, render_report
from mlvigil.service.label_free_views import (
    drift_explanation,
    estimation_series,
    multivariate_series,
)
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.startup_checks import format_duration
from mlvigil.service.store import LABEL_COLUMN, WindowRecord

__all__ = [
    "column_distribution_view",
    "model_view",
    "overview",
    "window_report",
]


# One drift score per column and window, comparable across methods: 1 at the threshold,
# above 1 when drifted (each drift result's own score, computed by the check).
_DRIFT_SCORES = """
    WITH numbered AS (
        SELECT window_start, row_number() OVER (ORDER BY window_start) - 1 AS window_index
        FROM windows WHERE model = ?
    )
    SELECT window_index, "column", score
    FROM results JOIN numbered USING (window_start)
    WHERE model = ? AND "check" = 'drift' AND "column" IS NOT NULL AND segment IS NULL
      AND status IN ('passed', 'failed')
"""

_SERIES = """
    SELECT window_start, "check", metric, value, threshold, status
    FROM results
    WHERE model = ? AND "column" IS NULL AND segment IS NULL
      AND ("check" = 'drift' AND metric = 'drift_share'
           OR "check" = 'performance' AND metric <> 'label_coverage')
    ORDER BY window_start
"""

_QUALITY_FAILURES = f"""
    SELECT window_start, count(*) FILTER (WHERE status <> 'passed')
    FROM results
    WHERE model = ? AND "check" IN ({", ".join(f"'{c.value}'" for c in sorted(QUALITY_CHECKS))})
    GROUP BY window_start
"""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _finite(value: Any, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _errors(results: list[CheckResult]) -> list[dict[str, Any]]:
    """Results that could not be computed (informational ones left out), for display."""
    return [
        {
            "check": r.check.value,
            "metric": r.metric,
            "column": r.column,
            "segment": r.segment,
            "message": r.message,
            "window_start": _iso(r.window_start) if r.window_start else None,
        }
        for r in results
        if r.status is CheckStatus.ERROR and r.severity is not Severity.INFO
    ]


def _model_alerts(service: MonitoringService, model: str) -> list[dict[str, Any]]:
    return [a for a in service.alerts() if a["labels"].get("model") == model]


def overview(service: MonitoringService) -> dict[str, Any]:
    """Every model's health at a glance: the latest window's verdicts and the data's age."""
    now = service.clock()
    latest = service.store.latest_results()
    alerts = service.alerts()
    models = []
    for name in service.config.models:
        mine = [r for r in latest if r.model == name]
        windows = service.store.windows(name)
        span = service.store.data_range(name)
        share = next((r for r in mine if r.metric == "drift_share"), None)
        quality = [r for r in mine if r.check.is_quality]
        performance = _latest_performance(service, name)
        # Coverage of the window performance was measured on, else of the latest one
        # whose labels are due: how much of the traffic the metrics speak for.
        measured = {p["window_start"] for p in performance}
        covered = [w for w in windows if _iso(w.start) in measured] or [
            w for w in windows if w.labels_final
        ]
        firing = [a for a in alerts if a["labels"].get("model") == name]
        models.append(
            {
                "name": name,
                "windows": len(windows),
                "latest_window": _window(windows[-1]) if windows else None,
                "drift": None
                if share is None
                else {
                    "share": share.value,
                    "threshold": share.threshold,
                    "status": share.status.value,
                },
                "quality": {
                    "failed": sum(1 for r in quality if not r.passed),
                    "total": len(quality),
                },
                "performance": performance,
                "errors": _errors(mine),
                "alerts": {
                    "firing": sum(
                        1 for a in firing if a["state"] == "firing" and not a["silenced"]
                    ),
                    "silenced": sum(1 for a in firing if a["silenced"]),
                    "pending": sum(1 for a in firing if a["state"] == "pending"),
                },
                "last_prediction": None if span is None else _iso(span[1]),
                "data_age_seconds": None if span is None else (now - span[1]).total_seconds(),
                "label_coverage": _coverage(covered[-1]) if covered else None,
            }
        )
    return {"now": _iso(now), "models": models}


_LATEST_PERFORMANCE = """
    SELECT metric, value, threshold, status, window_start FROM results
    WHERE model = ? AND "check" = 'performance' AND segment IS NULL
      AND metric <> 'label_coverage' AND window_start = (
        SELECT max(window_start) FROM results
        WHERE model = ? AND "check" = 'performance' AND metric <> 'label_coverage'
          AND status IN ('passed', 'failed'))
    ORDER BY metric
"""


def _latest_performance(service: MonitoringService, model: str) -> list[dict[str, Any]]:
    """Performance of the most recent window that had enough labels to measure it."""
    rows = service.store.read(_LATEST_PERFORMANCE, [model, model]).fetchall()
    return [
        {
            "metric": metric,
            "value": _finite(value),
            "threshold": _finite(threshold),
            "status": status,
            "window_start": _iso(start),
        }
        for metric, value, threshold, status, start in rows
    ]


def _coverage(window: WindowRecord) -> float | None:
    return window.labelled / window.rows if window.rows else None


def _window(window: WindowRecord) -> dict[str, Any]:
    return {
        "start": _iso(window.start),
        "end": _iso(window.end),
        "rows": window.rows,
        "labelled": window.labelled,
        "labels_final": window.labels_final,
    }


def model_view(service: MonitoringService, model: str) -> dict[str, Any]:
    """A model's page: its windows and, per window, drift, quality and performance."""
    config = service.model(model)
    store = service.store
    windows = store.windows(model)
    index = {w.start: i for i, w in enumerate(windows)}
    count = len(windows)

    columns = _drift_scores(store.read_table(_DRIFT_SCORES, [model, model]), count)
    order = [c for c in (*config.column_types, config.schema.target) if c in columns]
    order += sorted(c for c in columns if c not in order)

    drift_share: list[float | None] = [None] * count
    share_threshold: float | None = None
    performance: dict[str, dict[str, Any]] = {}
    for start, check, metric, value, threshold, status in store.read(_SERIES, [model]).fetchall():
        at = index.get(start.astimezone(UTC))
        if at is None:
            continue
        if check == "drift":
            drift_share[at] = _finite(value)
            share_threshold = _finite(threshold)
            continue
        series = performance.setdefault(
            metric, {"values": [None] * count, "threshold": None, "failed": [False] * count}
        )
        series["values"][at] = _finite(value)
        if threshold is not None:
            series["threshold"] = _finite(threshold)
        series["failed"][at] = status != "passed"

    quality_failed: list[int | None] = [None] * count
    for start, failed in store.read(_QUALITY_FAILURES, [model]).fetchall():
        at = index.get(start.astimezone(UTC))
        if at is not None:
            quality_failed[at] = int(failed)

    latest = store.results(model, latest_only=True)
    current = store.latest_results(model)
    return {
        "name": model,
        "columns": {
            "features": list(config.schema.features),
            "prediction": config.schema.prediction,
            "score": config.schema.score,
            "target": config.schema.target,
        },
        "windows": [_window(w) for w in windows],
        "drift_share": drift_share,
        "drift_share_threshold": share_threshold,
        "drift_scores": {"columns": order, "scores": [columns[c] for c in order]},
        "quality_failed": quality_failed,
        "quality_latest": [r.to_row() for r in latest if r.check.is_quality],
        "errors": _errors(current),
        "performance": performance,
        "estimation": estimation_series(store, model, index, count),
        "multivariate": multivariate_series(store, model, index, count),
        "drift_explained": drift_explanation(store, model),
        "alerts": _model_alerts(service, model),
        "silences": [
            s.to_dict(service.clock()) for s in service.silences() if s.active(service.clock())
        ],
    }


def _drift_scores(table: pa.Table, windows: int) -> dict[str, list[float | None]]:
    """Scores per column as one list per column, ``None`` where a window has none.

    Built with numpy: a model of 100 columns and 1,000 windows has 100,000 scores.
    """
    table = table.combine_chunks()
    names = pc.dictionary_encode(table.column("column")).combine_chunks()
    row = names.indices.to_numpy(zero_copy_only=False)
    column = table.column("window_index").to_numpy()
    scores = pc.fill_null(table.column("score"), float("nan")).to_numpy()
    matrix = np.full((len(names.dictionary), windows), np.nan)
    matrix[row, column] = np.round(scores, 3)
    matrix[~np.isfinite(matrix)] = np.nan
    return {
        name: [None if v != v else v for v in values]
        for name, values in zip(names.dictionary.to_pylist(), matrix.tolist(), strict=True)
    }


def _window_start(service: MonitoringService, model: str, window: datetime | None) -> WindowRecord:
    windows = service.store.windows(model)
    if not windows:
        raise InputError(f"model {model!r} has no evaluated windows yet")
    if window is None:
        return windows[-1]
    try:
        moment = window.astimezone(UTC) if window.tzinfo else window.replace(tzinfo=UTC)
    except OverflowError:
        raise InputError(f"{window.isoformat()} is outside the years 1 to 9999 in UTC") from None
    for record in windows:
        if record.start <= moment < record.end:
            return record
    raise InputError(
        f"model {model!r} has no evaluated window containing {moment.isoformat()}; "
        f"windows run from {windows[0].start.isoformat()} to {windows[-1].end.isoformat()}"
    )


def _profiles(
    service: MonitoringService, model: str, record: WindowRecord
) -> tuple[DatasetProfile, DatasetProfile]:
    reference = service.reference(model)
    if reference is None:
        raise InputError(f"model {model!r} has no reference profile yet")
    profile = reference.profile
    current = service.window_profile(model, record.start)
    if current is None:
        if record.rows:  # pruned: profiles are kept for retention.profiles
            raise InputError(
                f"the profile of the window starting {record.start.isoformat()} was deleted "
                f"after retention.profiles ({format_duration(service.config.retention.profiles)})"
            )
        raise InputError(f"the window starting {record.start.isoformat()} holds no rows")
    return profile, current


def _label_profile(service: MonitoringService, model: str, record: WindowRecord) -> DatasetProfile:
    target = service.model(model).schema.target
    labels = service.store.window_table(model, record.start, record.end).column(LABEL_COLUMN)
    return profile_table(pa.table({target: pc.drop_null(labels)}))


def column_distribution_view(
    service: MonitoringService, model: str, column: str, window: datetime | None
) -> dict[str, Any]:
    """Reference vs current shares of ``column`` in a window (the latest by default)."""
    config = service.model(model)
    record = _window_start(service, model, window)
    reference, current = _profiles(service, model, record)
    if column == config.schema.target:
        current = _label_profile(service, model, record)
    if column not in reference.columns and column not in current.columns:
        known = sorted({*reference.columns, *current.columns})
        raise InputError(f"model {model!r} has no column {column!r}; columns: {', '.join(known)}")
    distribution = column_distribution(
        column, reference.columns.get(column), current.columns.get(column)
    )
    return {"window": _window(record), **distribution.to_dict()}


def _span(start: datetime, end: datetime) -> str:
    """``2026-01-01 10:00 – 11:00``, with the end's date too when it is another day.

    Examples
    --------
    >>> _span(datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC))
    '2026-01-01 10:00 – 2026-01-03 00:00'
    """
    first, last = start.astimezone(UTC), end.astimezone(UTC)
    shown = f"{last:%H:%M}" if first.date() == last.date() else f"{last:%Y-%m-%d %H:%M}"
    return f"{first:%Y-%m-%d %H:%M} – {shown}"


def window_report(service: MonitoringService, model: str, window: datetime | None) -> str:
    """The HTML report of one window: its stored drift and quality results, with charts."""
    config = service.model(model)
    record = _window_start(service, model, window)
    reference, current = _profiles(service, model, record)
    results = service.store.results(model, start=record.start, end=record.end)
    names = [c for c in config.column_types if c in reference.columns and c in current.columns]
    charts = distributions(reference, current, names)
    target = config.schema.target
    if target in reference.columns and record.labelled:
        labels = _label_profile(service, model, record).columns.get(target)
        charts.append(column_distribution(target, reference.columns[target], labels))
    return render_report(
        ReportData(
            title=f"{model}: window {_span(record.start, record.end)} UTC",
            reference_label="reference profile",
            current_label=f"{record.start.isoformat()} to {record.end.isoformat()}",
            reference_rows=reference.row_count,
            current_rows=record.rows,
            results=[
                r.to_row()
                for r in results
                if r.check is not CheckKind.SERVING and r.segment is None
            ],
            distributions=charts,
        )
    )
