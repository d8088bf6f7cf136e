"""Judging a window from a profile alone: the windows Spark jobs push profiles for.

Drift compares the window's profile with the reference's profile (categories exactly,
numbers on their sketches, each result stating its error bound), with the same
methods, thresholds and learned limits as rows get; data-quality checks run on the
profile. What needs rows (performance, multivariate drift, estimation, segments,
latency) has no result for such a window: the profile does not carry them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from mlvigil.checks._common import error_result
from mlvigil.checks.drift import profile_drift
from mlvigil.checks.drift_results import drift_check_results
from mlvigil.checks.explained import explain_drift
from mlvigil.checks.quality.runner import run_quality_checks_on_profile
from mlvigil.checks.result import CheckKind, CheckResult, Severity
from mlvigil.checks.thresholds import apply_drift_limits
from mlvigil.profile import DatasetProfile
from mlvigil.service.config import ModelConfig
from mlvigil.service.evaluation import Evaluation, failure
from mlvigil.service.reference import Reference
from mlvigil.service.store import WindowRecord

__all__ = ["evaluate_profile"]

_log = logging.getLogger("mlvigil.service")


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


def evaluate_profile(
    config: ModelConfig,
    profile: DatasetProfile,
    start: datetime,
    end: datetime,
    *,
    reference: Reference | None,
    now: datetime,
) -> Evaluation:
    """Run the checks a profile can answer on the window ``[start, end)``."""
    record = WindowRecord(start, end, profile.row_count, 0, now, labels_final=False)
    where = f"model {config.name!r}, window {start.isoformat()} (pushed profile)"
    results: list[CheckResult] = []

    def step(kind: CheckKind, metric: str, what: str, run: Callable[[], list[CheckResult]]) -> None:
        try:
            results.extend(run())
        except Exception as error:  # one step's failure is its own error result
            _log.exception("%s failed (%s)", what, where)
            results.append(failure(kind, metric, what, error))

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
    return Evaluation(record, profile.serialize(), tuple(explain_drift(results)))
