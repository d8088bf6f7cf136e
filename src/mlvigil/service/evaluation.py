"""Evaluate one window of one model: profile it once, then run its checks.

Quality checks run on the window's rows; drift compares the window's profile with the
reference profile (features, prediction and score, plus the label when the reference
has one); performance joins the window's labels and is judged against the baseline,
for the whole window and for each value of the schema's segment columns.
Every check yields :class:`~mlvigil.checks.result.CheckResult` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.drift import DriftConfig
from mlvigil.checks.performance import performance_results
from mlvigil.checks.quality.drift_results import drift_check_results
from mlvigil.checks.quality.runner import run_quality_checks
from mlvigil.checks.result import CheckResult, CheckStatus, Severity
from mlvigil.profile import DatasetProfile, profile_drift, profile_table
from mlvigil.service.config import ModelConfig
from mlvigil.service.store import LABEL_COLUMN, Store, WindowRecord

_STORE_ONLY = ("model_version", "latency_ms", "received_at", LABEL_COLUMN)

#: Values of each segment column whose performance is reported, most frequent first.
MAX_SEGMENT_VALUES = 20


@dataclass(frozen=True)
class Evaluation:
    """A window's record, its serialized profile and its results."""

    window: WindowRecord
    profile: bytes | None
    results: tuple[CheckResult, ...]


def window_bounds(moment: datetime, width: timedelta) -> tuple[datetime, datetime]:
    """The window (aligned to the Unix epoch) that contains ``moment``.

    Examples
    --------
    >>> start, end = window_bounds(datetime(2026, 1, 1, 10, 42, tzinfo=UTC), timedelta(hours=1))
    >>> start.isoformat(), end.isoformat()
    ('2026-01-01T10:00:00+00:00', '2026-01-01T11:00:00+00:00')
    """
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    index = (moment - epoch) // width
    start = epoch + index * width
    return start, start + width


def evaluate_window(
    config: ModelConfig,
    store: Store,
    start: datetime,
    end: datetime,
    *,
    reference: DatasetProfile | None,
    now: datetime,
) -> Evaluation:
    """Run every configured check on the window ``[start, end)`` of ``config``'s model."""
    table = store.window_table(config.name, start, end)
    labels = table.column(LABEL_COLUMN)
    labelled = table.num_rows - labels.null_count
    record = WindowRecord(
        start, end, table.num_rows, labelled, now, labels_final=now >= end + config.label_delay
    )
    if table.num_rows == 0:
        return Evaluation(record, None, (_no_data(start, end),))
    data = table.drop_columns([c for c in _STORE_ONLY if c in table.column_names])
    profile = profile_table(data, timestamp=config.schema.timestamp)
    results: list[CheckResult] = _latency(table)
    if config.quality is not None:
        results.extend(run_quality_checks(data, config.quality, now=end).results)
    if config.drift is not None:
        results.extend(_drift(config, config.drift, profile, reference, table))
    if config.performance is not None:
        results.extend(_performance(config, table))
        results.extend(_segment_performance(config, table))
    return Evaluation(record, profile.serialize(), tuple(results))


def _latency(table: pa.Table) -> list[CheckResult]:
    """The window's serving latency quantiles (from the records' ``latency_ms``).

    Informational results with no verdict of their own: alert rules can watch them
    (``check: serving, metric: latency_p99_ms, condition: "> 250"``).
    """
    if "latency_ms" not in table.column_names:
        return []
    latency = table.column("latency_ms")
    if latency.null_count == len(latency):
        return []
    latencies = pc.quantile(latency, q=[0.5, 0.95, 0.99]).to_pylist()
    return [
        CheckResult(
            "serving",
            f"latency_p{q}_ms",
            None,
            value,
            None,
            CheckStatus.PASSED,
            Severity.INFO,
            f"p{q} prediction latency {value:.3g} ms",
        )
        for q, value in zip((50, 95, 99), latencies, strict=True)
    ]


def _no_data(start: datetime, end: datetime) -> CheckResult:
    return CheckResult(
        "volume",
        "row_count",
        None,
        0.0,
        None,
        CheckStatus.FAILED,
        Severity.WARNING,
        f"no predictions between {start.isoformat()} and {end.isoformat()}",
    )


def _drift(
    config: ModelConfig,
    drift: DriftConfig,
    profile: DatasetProfile,
    reference: DatasetProfile | None,
    table: pa.Table,
) -> list[CheckResult]:
    if reference is None:
        return [
            CheckResult(
                "drift",
                "drift_share",
                None,
                None,
                None,
                CheckStatus.ERROR,
                Severity.INFO,
                "no reference yet: drift starts once the reference windows are evaluated",
            )
        ]
    types = config.column_types
    wanted = config.drift_columns or tuple(types)
    columns = [c for c in wanted if c in reference.columns and c in profile.columns]
    report = profile_drift(
        reference, profile, columns=columns, schema={c: types[c] for c in columns}, config=drift
    )
    results = drift_check_results(report)
    target = config.schema.target
    labels = pc.drop_null(table.column(LABEL_COLUMN))
    if target in reference.columns and len(labels) > 0:
        label_profile = profile_table(pa.table({target: labels}))
        label_report = profile_drift(
            reference,
            label_profile,
            columns=[target],
            schema={target: config.target_type},
            config=drift,
        )
        results.extend(r for r in drift_check_results(label_report) if r.column == target)
    return results


def _segment_performance(config: ModelConfig, table: pa.Table) -> list[CheckResult]:
    """Performance per value of each segment column (its most frequent values).

    A value with fewer labelled rows than ``min_labels`` gets no results rather than an
    error per metric: small slices come and go, and would only add noise.
    """
    performance = config.performance
    assert performance is not None
    labelled = table.filter(pc.is_valid(table.column(LABEL_COLUMN)))
    results: list[CheckResult] = []
    for column in config.schema.segments:
        counts = pc.value_counts(labelled.column(column))
        frequent = sorted(
            (c for c in counts.to_pylist() if c["values"] is not None),
            key=lambda c: -int(c["counts"]),
        )[:MAX_SEGMENT_VALUES]
        for entry in frequent:
            if entry["counts"] < performance.min_labels:
                continue
            value = entry["values"]
            rows = table.filter(pc.equal(table.column(column), value))
            segment = f"{column}={value}"
            results.extend(replace(r, segment=segment) for r in _performance(config, rows))
    return results


def _performance(config: ModelConfig, table: pa.Table) -> list[CheckResult]:
    performance = config.performance
    assert performance is not None
    schema = config.schema
    labelled = table.filter(pc.is_valid(table.column(LABEL_COLUMN)))
    y_true: list[Any] = labelled.column(LABEL_COLUMN).to_pylist()
    y_pred: list[Any] = labelled.column(schema.prediction).to_pylist()
    y_score = None
    if performance.task == "classification" and schema.score is not None:
        scores = labelled.column(schema.score).to_pylist()
        if all(s is not None for s in scores):
            positive = performance.positive_label
            # ROC AUC and log loss need the probability of the positive class; the SDK's
            # default score is the confidence in the predicted class.
            y_score = (
                scores
                if config.score_is == "positive_probability"
                else [s if p == positive else 1.0 - s for s, p in zip(scores, y_pred, strict=True)]
            )
    return performance_results(performance, y_true, y_pred, y_score=y_score, rows=table.num_rows)
