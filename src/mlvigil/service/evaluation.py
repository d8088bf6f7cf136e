"""Evaluate one window of one model: profile it once, then run its checks.

Quality checks run on the window's rows; drift compares the window's rows with the
reference's rows, exactly (features, prediction and scores, plus the labels when the
reference has a target), judged by the methods' thresholds or by limits learned from
the reference, for the whole window and per segment value; multivariate drift compares
how the features move together; estimation estimates performance from the scores
before labels arrive; performance joins the window's labels and is judged against the limits
or baselines from the reference, for the whole window and for each value of the
schema's segment columns; business outcomes give their rate or mean and sum; and a
window of several model versions gets each version's results and their comparisons
(:mod:`mlvigil.service.versions`). Every check yields :class:`~mlvigil.checks.result.CheckResult`
rows. The profile is kept for the dashboard, reports and merged references.

One failing step never costs the window its other results: a step that raises (a
check meeting data it cannot handle, a bug) gives an ``error`` result of its check
kind saying what failed, the traceback goes to the log, and the other steps run
(:func:`failure`). The built-in ``check_error`` alert rule pages on such results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks._common import error_result
from mlvigil.checks.business import Outcome, business_results
from mlvigil.checks.classes import ClassSet
from mlvigil.checks.drift import DriftConfig, detect_drift
from mlvigil.checks.drift_results import drift_check_results
from mlvigil.checks.explained import explain_drift
from mlvigil.checks.performance import PerformanceConfig, performance_results
from mlvigil.checks.quality.runner import run_quality_checks
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.checks.thresholds import apply_drift_limits
from mlvigil.profile import profile_table
from mlvigil.service.config import ERROR_COLUMN, VERSION_COLUMN, ModelConfig
from mlvigil.service.reference import Reference
from mlvigil.service.rows import performance_inputs
from mlvigil.service.segment_drift import segment_drift
from mlvigil.service.store import LABEL_COLUMN, WindowRecord
from mlvigil.service.versions import served_rows, version_results
from mlvigil.service.versions_config import outcomes_of

#: Quality checks of the whole window, not run again per model version.
_WINDOW_WIDE = frozenset({CheckKind.VOLUME, CheckKind.FRESHNESS})
_STORE_ONLY = (VERSION_COLUMN, "latency_ms", ERROR_COLUMN, "received_at", LABEL_COLUMN)
_log = logging.getLogger("mlvigil.service")

#: Values of each segment column whose performance is reported, most frequent first.
MAX_SEGMENT_VALUES = 20


@dataclass(frozen=True)
class Evaluation:
    """A window's record, its serialized profile and its results.

    ``previous`` is the window's record before this evaluation (``None`` the first
    time): the alert engine tells late rows from a mere re-evaluation by it.
    """

    window: WindowRecord
    profile: bytes | None
    results: tuple[CheckResult, ...]
    previous: WindowRecord | None = None


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


def evaluate_rows(
    config: ModelConfig,
    table: pa.Table,
    start: datetime,
    end: datetime,
    *,
    reference: Reference | None,
    now: datetime,
) -> Evaluation:
    """Run every configured check on ``table``, the rows of the window ``[start, end)``.

    ``table`` is as :meth:`~mlvigil.service.store.Store.window_table` reads it; no store
    is needed (:mod:`mlvigil.service.evaluation_pool` runs this in worker processes).
    """
    every_row = table
    table = served_rows(config, table)
    labels = table.column(LABEL_COLUMN)
    labelled = table.num_rows - labels.null_count
    record = WindowRecord(start, end, table.num_rows, labelled, now, labels_final=False)
    if table.num_rows == 0:
        return Evaluation(record, None, (_no_data(start, end),))
    # Outcomes are business results' own: often null for days, they are not data to check.
    arm = config.schema.experiment_arm
    kept_out = (*_STORE_ONLY, *config.schema.outcomes, *([arm] if arm else []))
    data = table.drop_columns([c for c in kept_out if c in table.column_names])
    where = f"model {config.name!r}, window {start.isoformat()}"
    results: list[CheckResult] = []

    step = steps(results, where)

    profile: bytes | None = None
    try:
        # Not the prediction ids: a key, every value once, was 40% of the profile's cost.
        profiled = data.drop_columns([config.schema.id])
        profile = profile_table(profiled, timestamp=config.schema.timestamp).serialize()
    except Exception as error:  # the checks below read the rows, not the profile
        _log.exception("profiling the window failed (%s)", where)
        results.append(failure(CheckKind.SCHEMA, "profile", "profiling the window", error))
    step(CheckKind.SERVING, "latency_ms", "latency and errors", lambda: _serving(table))
    quality = config.quality
    if quality is not None:
        step(
            CheckKind.SCHEMA,
            "quality_checks",
            "data-quality checks",
            lambda: list(run_quality_checks(data, quality, now=end).results),
        )
    classes = reference.classes if reference is not None else None
    drift = config.drift
    if drift is not None:
        step(
            CheckKind.DRIFT,
            "drift_share",
            "drift",
            lambda: _drift(config, drift, reference, table),
        )
        if reference is not None and reference.segments:
            known = reference
            step(
                CheckKind.DRIFT,
                "segment_drift",
                "drift per segment",
                lambda: segment_drift(
                    config, drift, known.segments, table, pa.table(_compared(config, known, table))
                ),
            )
    if reference is not None and reference.multivariate is not None:
        detector = reference.multivariate
        step(
            CheckKind.DRIFT,
            "multivariate",
            "multivariate drift",
            lambda: detector.evaluate(data),
        )
    if reference is not None and reference.estimator is not None:
        estimator = reference.estimator
        step(
            CheckKind.ESTIMATION,
            "estimation",
            "performance estimation",
            lambda: estimator.estimate(table, labels=LABEL_COLUMN),
        )
    performance = config.performance
    if performance is not None:
        if reference is not None and reference.performance is not None:
            performance = reference.performance
        judged = performance
        step(
            CheckKind.PERFORMANCE,
            "performance",
            "performance",
            lambda: _performance(config, judged, table, classes),
        )
        step(
            CheckKind.PERFORMANCE,
            "segment_performance",
            "performance per segment",
            lambda: _segment_performance(config, judged, table, classes),
        )
    outcomes = outcomes_of(config.schema.outcomes)
    if reference is not None and reference.outcomes:
        outcomes = dict(reference.outcomes)  # with the limits learned from it
    if outcomes:
        step(
            CheckKind.BUSINESS,
            "outcomes",
            "business outcomes",
            lambda: _business(config, outcomes, table),
        )
    versions = config.versions
    if versions is not None:

        def each_version(rows: pa.Table) -> list[CheckResult]:
            found = _serving(rows) + business_results(outcomes, rows)
            if performance is not None:
                found += _performance(config, performance, rows, classes)
            if drift is not None and reference is not None:
                found += _drift(config, drift, reference, rows)
            if quality is not None:
                # A version's own data: volume and freshness are the window's, not its.
                checked = run_quality_checks(rows.select(data.column_names), quality, now=end)
                found += [r for r in checked.results if r.check not in _WINDOW_WIDE]
            return found

        step(
            CheckKind.COMPARISON,
            "versions",
            "version comparison",
            lambda: version_results(
                config,
                versions,
                every_row,
                performance=performance,
                classes=classes,
                each_version=each_version,
                window_start=start,
            ),
        )
    return Evaluation(record, profile, tuple(explain_drift(results)))


def _business(
    config: ModelConfig, outcomes: Mapping[str, Outcome], table: pa.Table
) -> list[CheckResult]:
    """The window's business outcomes, and per value of each segment column."""
    results = business_results(outcomes, table)
    for column in config.schema.segments:
        for entry in _frequent(table, column):
            rows = table.filter(pc.equal(table.column(column), entry["values"]))
            segment = f"{column}={entry['values']}"
            results.extend(replace(r, segment=segment) for r in business_results(outcomes, rows))
    return results


def _frequent(table: pa.Table, column: str) -> list[dict[str, Any]]:
    """The :data:`MAX_SEGMENT_VALUES` most frequent values of ``column`` and their counts."""
    counts = pc.value_counts(table.column(column)).to_pylist()
    present = (c for c in counts if c["values"] is not None)
    return sorted(present, key=lambda c: -int(c["counts"]))[:MAX_SEGMENT_VALUES]


Step = Callable[[CheckKind, str, str, Callable[[], list[CheckResult]]], None]


def steps(results: list[CheckResult], where: str) -> Step:
    """A runner of a window's checks into ``results``: ``step(kind, metric, what, run)``.

    One step's failure is its own ``error`` result (:func:`failure`), logged with
    ``where``; the other steps go on.
    """

    def step(kind: CheckKind, metric: str, what: str, run: Callable[[], list[CheckResult]]) -> None:
        try:
            results.extend(run())
        except Exception as error:  # one step's failure is its own error result
            _log.exception("%s failed (%s)", what, where)
            results.append(failure(kind, metric, what, error))

    return step


def failure(kind: CheckKind, metric: str, what: str, error: Exception) -> CheckResult:
    """The ``error`` result of a step that raised: what failed, and the error in short.

    Examples
    --------
    >>> result = failure(CheckKind.DRIFT, "drift_share", "drift", ValueError("no rows"))
    >>> result.status.value, result.message
    ('error', 'drift failed: ValueError: no rows; the service log has the traceback')
    """
    text = str(error)
    text = text if len(text) <= 200 else text[:197] + "..."
    return error_result(
        kind,
        metric,
        None,
        f"{what} failed: {type(error).__name__}: {text}; the service log has the traceback",
        severity=Severity.WARNING,
    )


def _serving(table: pa.Table) -> list[CheckResult]:
    """The window's serving latency quantiles and error rate."""
    return _latency(table) + _error_rate(table)


def _error_rate(table: pa.Table) -> list[CheckResult]:
    """The share of the window's requests whose serving failed (the records' ``error``).

    Over the records that say (``error`` true or false); none when no record does.
    """
    if ERROR_COLUMN not in table.column_names:
        return []
    flags = pc.drop_null(table.column(ERROR_COLUMN))
    if len(flags) == 0:
        return []
    failed = int(pc.sum(flags.cast(pa.int64())).as_py() or 0)
    rate = failed / len(flags)
    return [
        CheckResult(
            CheckKind.SERVING,
            "error_rate",
            None,
            rate,
            None,
            CheckStatus.PASSED,
            Severity.INFO,
            f"{failed} of {len(flags)} requests failed ({rate:.2%})",
            details={"errors": failed, "flagged": len(flags)},
        )
    ]


def _latency(table: pa.Table) -> list[CheckResult]:
    """The window's serving latency quantiles (from the records' ``latency_ms``).

    Informational results with no verdict of their own: alert rules can watch them
    (``check: serving, metric: latency_p99_ms, condition: "> 250"``).
    """
    if "latency_ms" not in table.column_names:
        return []
    latency = table.column("latency_ms")
    # NaN or infinite latencies stored before ingest refused them are no measurement.
    latency = pc.filter(latency, pc.is_finite(latency))
    if len(latency) == 0:
        return []
    latencies = pc.quantile(latency, q=[0.5, 0.95, 0.99]).to_pylist()
    return [
        CheckResult(
            CheckKind.SERVING,
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
        CheckKind.VOLUME,
        "row_count",
        None,
        0.0,
        None,
        CheckStatus.FAILED,
        Severity.WARNING,
        f"no predictions between {start.isoformat()} and {end.isoformat()}",
    )


def _as_classes(values: pa.ChunkedArray, classes: ClassSet | None) -> pa.ChunkedArray:
    return values if classes is None else classes.map_column(values)


def _compared(
    config: ModelConfig, reference: Reference, table: pa.Table
) -> dict[str, pa.ChunkedArray]:
    """The window's columns drift compares, predictions mapped onto the reference's classes."""
    types = config.column_types
    wanted = config.drift_columns or tuple(types)
    columns = [c for c in wanted if c in reference.columns and c in table.column_names]
    current = {c: table.column(c) for c in columns}
    prediction = config.schema.prediction
    if prediction in current and types[prediction].is_categorical:
        current[prediction] = _as_classes(current[prediction], reference.classes)
    return current


def _drift(
    config: ModelConfig, drift: DriftConfig, reference: Reference | None, table: pa.Table
) -> list[CheckResult]:
    """Exact drift of the window's rows against the reference's rows."""
    if reference is None:
        return [
            error_result(
                CheckKind.DRIFT,
                "drift_share",
                None,
                "no reference yet: drift starts once the reference windows are evaluated",
                severity=Severity.INFO,
            )
        ]
    types = config.column_types
    current = _compared(config, reference, table)
    columns = list(current)
    learned = reference.learned_drift
    report = detect_drift(
        reference.prepared,
        pa.table(current),
        columns=columns,
        schema={c: types[c] for c in columns},
        config=learned.config(drift, columns),
    )
    results = drift_check_results(apply_drift_limits(report, learned))
    target = config.schema.target
    labels = pc.drop_null(table.column(LABEL_COLUMN))
    if target in reference.columns and len(labels) > 0:
        if config.target_type.is_categorical:
            labels = _as_classes(labels, reference.classes)
        label_report = detect_drift(
            reference.prepared,
            pa.table({target: labels}),
            columns=[target],
            schema={target: config.target_type},
            config=learned.config(drift, [target]),
        )
        label_report = apply_drift_limits(label_report, learned)
        results.extend(r for r in drift_check_results(label_report) if r.column == target)
    return results


def _segment_performance(
    config: ModelConfig,
    performance: PerformanceConfig,
    table: pa.Table,
    classes: ClassSet | None,
) -> list[CheckResult]:
    """Performance per value of each segment column (its most frequent values).

    A value with fewer labelled rows than ``min_labels`` gets no results rather than an
    error per metric: small slices come and go, and would only add noise.
    """
    labelled = table.filter(pc.is_valid(table.column(LABEL_COLUMN)))
    results: list[CheckResult] = []
    for column in config.schema.segments:
        for entry in _frequent(labelled, column):
            if entry["counts"] < performance.min_labels:
                continue
            value = entry["values"]
            rows = table.filter(pc.equal(table.column(column), value))
            segment = f"{column}={value}"
            results.extend(
                replace(r, segment=segment)
                for r in _performance(config, performance, rows, classes)
            )
    return results


def _performance(
    config: ModelConfig,
    performance: PerformanceConfig,
    table: pa.Table,
    classes: ClassSet | None,
) -> list[CheckResult]:
    y_true, y_pred, extra = performance_inputs(config, table, LABEL_COLUMN, classes)
    return performance_results(performance, y_true, y_pred, rows=table.num_rows, **extra)
