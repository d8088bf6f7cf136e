"""What the dashboard and window reports show: aggregates read from the store.

Every view is a handful of numbers per window or per column, computed in SQL from the
stored results and profiles; no view sends prediction rows. A model with 100 features
and 1,000 windows is one query of 100,000 small rows turned into a matrix.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.result import QUALITY_CHECKS, CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.exceptions import InputError
from mlvigil.profile import DatasetProfile, profile_table
from mlvigil.report import ReportData, column_distribution, distributions, render_report
from mlvigil.service import overview_queries
from mlvigil.service.label_free_views import (
    drift_explanation,
    estimation_series,
    multivariate_series,
    rounded,
)
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.startup_checks import format_duration
from mlvigil.service.store import LABEL_COLUMN, WindowRecord
from mlvigil.service.version_views import business_series, versions_view

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


#: Models on one overview page unless asked otherwise, and at most.
OVERVIEW_LIMIT, OVERVIEW_MAX_LIMIT = 100, 1000
#: A model's status on the overview, the most urgent first (``sort=status``).
STATUSES = ("alerting", "failing", "no_data", "ok")
#: How the overview orders models: as configured, by name, or the most urgent first.
SORTS = ("config", "name", "status")


def _alert_counts(alerts: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for alert in alerts:
        model = alert["labels"].get("model")
        if model is None:
            continue
        mine = counts.setdefault(model, {"firing": 0, "silenced": 0, "pending": 0})
        if alert["silenced"]:
            mine["silenced"] += 1
        elif alert["state"] == "firing":
            mine["firing"] += 1
        if alert["state"] == "pending":
            mine["pending"] += 1
    return counts


_NO_ALERTS = {"firing": 0, "silenced": 0, "pending": 0}


def _statuses(
    health: pa.Table, alerts: dict[str, dict[str, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each model's status (an index of :data:`STATUSES`), and whether failing, no data."""

    def flag(column: str) -> np.ndarray:
        return np.asarray(pc.fill_null(pc.greater(health.column(column), 0), False))

    drifted = np.asarray(pc.fill_null(pc.equal(health.column("drift_status"), "failed"), False))
    failing = drifted | flag("quality_failed") | flag("errors") | flag("performance_failed")
    no_data = np.asarray(pc.is_null(health.column("windows")))
    names = health.column("model").to_pylist()
    firing = np.array([alerts.get(name, _NO_ALERTS)["firing"] > 0 for name in names], bool)
    status = np.select([firing, failing, no_data], [0, 1, 2], default=3)  # the order of STATUSES
    return status, failing, no_data


def overview(
    service: MonitoringService,
    *,
    search: str | None = None,
    status: tuple[str, ...] = (),
    sort: str = "config",
    limit: int = OVERVIEW_LIMIT,
    offset: int = 0,
) -> dict[str, Any]:
    """Every model's health at a glance: the latest window's verdicts and the data's age.

    A page of models, in a few queries whatever their number (see
    :mod:`mlvigil.service.overview_queries`): at most ``limit`` of them from the
    ``offset``-th on, of those whose name contains ``search`` (in any case) and whose
    status is one of ``status``, in the order of ``sort`` (:data:`SORTS`). ``summary``
    counts every configured model, whatever the page; ``total`` those the search kept.
    """
    now = service.clock()
    names = list(service.config.models)
    health = overview_queries.model_health(service.store, names)
    counts = _alert_counts(overview_queries.active_alerts(service.store, service.silences(), now))
    statuses, failing, no_data = _statuses(health, counts)
    summary = {
        "models": len(names),
        "alerting": int(np.count_nonzero(statuses == 0)),
        "failing": int(np.count_nonzero(failing)),
        "no_data": int(np.count_nonzero(no_data)),
        "ok": int(np.count_nonzero(statuses == len(STATUSES) - 1)),
    }
    kept = list(range(len(names)))
    if search:
        needle = search.casefold()
        kept = [i for i in kept if needle in names[i].casefold()]
    if status:
        wanted = {STATUSES.index(s) for s in status}
        kept = [i for i in kept if statuses[i] in wanted]
    if sort == "name":
        kept.sort(key=lambda i: names[i])
    elif sort == "status":
        kept.sort(key=lambda i: (statuses[i], names[i]))
    page = kept[offset : offset + limit]
    rows = health.take(pa.array(page, pa.int64())).to_pylist()
    models = [
        _summary(service, row, STATUSES[statuses[i]], counts.get(names[i], _NO_ALERTS), now)
        for i, row in zip(page, rows, strict=True)
    ]
    following = offset + limit
    return {
        "now": _iso(now),
        "models": models,
        "total": len(kept),
        "offset": offset,
        "limit": limit,
        "next_offset": following if following < len(kept) else None,
        "summary": summary,
    }


def _summary(
    service: MonitoringService,
    health: dict[str, Any],
    status: str,
    alerts: dict[str, int],
    now: datetime,
) -> dict[str, Any]:
    """One model's row of the overview, from its row of ``model_health``."""
    name = health["model"]
    span = service.store.data_range(name)
    rows, labelled = health["covered_rows"], health["covered_labelled"]
    return {
        "name": name,
        "status": status,
        "windows": health["windows"] or 0,
        "latest_window": None
        if health["windows"] is None
        else {
            "start": _iso(health["start"]),
            "end": _iso(health["window_end"]),
            "rows": health["rows"],
            "labelled": health["labelled"],
            "labels_final": health["labels_final"],
        },
        "drift": None
        if health["drift_status"] is None
        else {
            "share": health["drift_share"],
            "threshold": health["drift_threshold"],
            "status": health["drift_status"],
        },
        "quality": {"failed": health["quality_failed"] or 0, "total": health["quality_total"] or 0},
        "performance": [
            {
                "metric": p["metric"],
                "value": rounded(p["value"]),
                "threshold": rounded(p["threshold"]),
                "status": p["status"],
                "window_start": _iso(p["window_start"]),
            }
            for p in health["performance"] or []
        ],
        "errors": [
            {**e, "window_start": _iso(e["window_start"])} for e in health["error_list"] or []
        ],
        "alerts": alerts,
        "last_prediction": None if span is None else _iso(span[1]),
        "data_age_seconds": None if span is None else (now - span[1]).total_seconds(),
        "label_coverage": None if rows is None else labelled / rows if rows else None,
    }


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
            drift_share[at] = rounded(value)
            share_threshold = rounded(threshold)
            continue
        series = performance.setdefault(
            metric, {"values": [None] * count, "threshold": None, "failed": [False] * count}
        )
        series["values"][at] = rounded(value)
        if threshold is not None:
            series["threshold"] = rounded(threshold)
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
        "business": business_series(store, model, index, count),
        "versions": versions_view(store, model, index, count),
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
