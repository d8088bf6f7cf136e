"""Judging a window from pushed summaries alone: the windows Spark jobs summarise.

Drift compares the window's profile with the reference's profile (categories exactly,
numbers on their sketches, each result stating its error bound), with the same
methods, thresholds and learned limits as rows get; data-quality checks run on the
profile. Performance comes from the window's pushed performance state (confusion
counts, error sums, score histograms), judged against the same baselines and limits
as rows. What needs rows (multivariate drift, estimation, segments, latency) has no
result for such a window: the summaries do not carry them.
"""

from __future__ import annotations

from datetime import datetime

from mlvigil.checks._common import error_result
from mlvigil.checks.drift import profile_drift
from mlvigil.checks.drift_results import drift_check_results
from mlvigil.checks.explained import explain_drift
from mlvigil.checks.performance_judging import in_classes, state_results
from mlvigil.checks.performance_state import PerformanceState
from mlvigil.checks.quality.runner import run_quality_checks_on_profile
from mlvigil.checks.result import CheckKind, CheckResult, Severity
from mlvigil.checks.thresholds import apply_drift_limits
from mlvigil.profile import DatasetProfile
from mlvigil.service.config import ModelConfig
from mlvigil.service.evaluation import Evaluation, steps
from mlvigil.service.reference import Reference
from mlvigil.service.store import Store, WindowRecord

__all__ = ["evaluate_profile", "evaluate_pushed"]


def _drift(
    config: ModelConfig, reference: Reference | None, profile: DatasetProfile
) -> list[CheckResult]:
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
    drift = config.drift
    assert drift is not None
    types = config.column_types
    wanted = config.drift_columns or tuple(types)
    columns = [c for c in wanted if c in reference.profile.columns and c in profile.columns]
    learned = reference.learned_drift
    report = profile_drift(
        reference.profile,
        profile,
        columns=columns,
        schema={c: types[c] for c in columns},
        config=learned.config(drift, columns),
    )
    return drift_check_results(apply_drift_limits(report, learned))


def _performance(
    config: ModelConfig, reference: Reference | None, state: PerformanceState
) -> list[CheckResult]:
    performance = reference.performance if reference is not None else None
    performance = performance or config.performance
    assert performance is not None
    classes = reference.classes if reference is not None else None
    if classes is not None:
        state = in_classes(state, classes)
    return state_results(performance, state, classes=classes)


def evaluate_profile(
    config: ModelConfig,
    profile: DatasetProfile,
    start: datetime,
    end: datetime,
    *,
    reference: Reference | None,
    now: datetime,
    performance: PerformanceState | None = None,
) -> Evaluation:
    """Run the checks pushed summaries can answer on the window ``[start, end)``.

    ``profile`` answers drift and data quality, ``performance`` (once pushed) the
    performance metrics.
    """
    labelled = performance.labelled if performance is not None else 0
    record = WindowRecord(start, end, profile.row_count, labelled, now, labels_final=False)
    where = f"model {config.name!r}, window {start.isoformat()} (pushed summaries)"
    results: list[CheckResult] = []

    step = steps(results, where)

    quality = config.quality
    if quality is not None:
        step(
            CheckKind.SCHEMA,
            "quality_checks",
            "data-quality checks",
            lambda: list(run_quality_checks_on_profile(profile, quality, now=end).results),
        )
    if config.drift is not None:
        step(CheckKind.DRIFT, "drift_share", "drift", lambda: _drift(config, reference, profile))
    if performance is not None and config.performance is not None:
        state = performance
        step(
            CheckKind.PERFORMANCE,
            "performance",
            "performance from the pushed state",
            lambda: _performance(config, reference, state),
        )
    return Evaluation(record, profile.serialize(), tuple(explain_drift(results)))


def evaluate_pushed(
    config: ModelConfig,
    store: Store,
    start: datetime,
    end: datetime,
    reference: Reference | None,
    now: datetime,
) -> Evaluation | None:
    """The window judged on the summaries pushed for it; ``None`` without a profile.

    A window is judged once its profile is there, with its performance state if one
    came too (a state alone waits for its profile).
    """
    profile = store.pushed_profile(config.name, start)
    if profile is None:
        return None
    performance = store.pushed_performance(config.name, start)
    return evaluate_profile(
        config, profile, start, end, reference=reference, now=now, performance=performance
    )
