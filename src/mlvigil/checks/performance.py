"""Model performance once labels arrive, as :class:`CheckResult` rows.

:func:`measure` computes a window's metrics (:mod:`mlvigil.checks.metrics`) after
checking that its inputs line up: labels and predictions must be of the classes the
reference knows, or at least share a value; scores must mean what ``score_is``
declares (:mod:`mlvigil.checks.scores`). Inputs that do not line up give results with
status ``error`` and the reason, never a metric that looks measured.

:func:`performance_results` judges each metric against its limits: learned from the
reference (``mean ± 3 std`` of the metric over reference chunks, two-sided: a value
below is a degradation, above an improvement, reported as such), or a fixed baseline
with a tolerance per metric, in the metric's own units.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from mlvigil.checks._common import error_result
from mlvigil.checks.classes import ClassSet
from mlvigil.checks.details import PerformanceDetails
from mlvigil.checks.limits import LearnedLimits
from mlvigil.checks.metrics import (
    CLASSIFICATION_METRICS,
    LOWER_IS_BETTER,
    REGRESSION_METRICS,
    classification_metrics,
    metric_names,
    multiclass_metrics,
    regression_metrics,
    roc_auc,
)
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.checks.scores import (
    SCORE_SEMANTICS,
    ScoreSemantics,
    positive_probability,
    probability_contradiction,
    score_contradiction,
)
from mlvigil.exceptions import ConfigError

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "Measurement",
    "PerformanceConfig",
    "classification_metrics",
    "judged_results",
    "measure",
    "metric_range",
    "performance_results",
    "regression_metrics",
    "roc_auc",
]

Task = Literal["classification", "regression"]
_SCORE_METRICS = ("roc_auc", "log_loss")


def metric_range(metric: str) -> tuple[float, float]:
    """The values a metric can take (for clipping learned limits)."""
    if metric in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        return 0.0, 1.0
    if metric == "r2":
        return -math.inf, 1.0
    return 0.0, math.inf


@dataclass(frozen=True)
class PerformanceConfig:
    """What to measure once labels arrive, and what counts as degraded.

    Parameters
    ----------
    task
        ``classification`` or ``regression``.
    metrics
        Which metrics to report; all of the task's by default.
    baseline
        Expected value per metric (e.g. from validation). A metric fails when it is
        worse than its baseline by more than its tolerance. Without a baseline or
        learned limits a metric is reported but never fails.
    max_degradation
        The tolerance: how much worse than the baseline a metric may get, in the
        metric's own units (0.05 = five accuracy points); one number for every metric,
        or one per metric (metrics left out of the mapping have no fixed limit).
    positive_label
        The positive class of a binary model, for precision, recall, F1, ROC AUC and
        log loss.
    min_labels
        Fewer labelled rows than this in a window gives an error result, not a verdict.
    severity
        Severity of a degradation.
    score_is
        What the score column holds: ``positive_probability`` (the probability of the
        positive class) or ``confidence`` (the probability of the predicted class).
    limits
        Limits learned from the reference, per metric; they take precedence over the
        baseline.
    """

    task: Task = "classification"
    metrics: tuple[str, ...] = ()
    baseline: Mapping[str, float] = field(default_factory=dict)
    max_degradation: float | Mapping[str, float] = 0.05
    positive_label: Any = 1
    min_labels: int = 30
    severity: Severity = Severity.ERROR
    score_is: ScoreSemantics = "positive_probability"
    limits: Mapping[str, LearnedLimits] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in ("classification", "regression"):
            raise ConfigError(f"task must be classification or regression, got {self.task!r}")
        known = metric_names(self.task)
        chosen = self.metrics or known
        tolerances = self.max_degradation if isinstance(self.max_degradation, Mapping) else {}
        unknown = [m for m in (*chosen, *self.baseline, *tolerances) if m not in known]
        if unknown:
            raise ConfigError(
                f"unknown {self.task} metric(s) {unknown}; choose from {', '.join(known)}"
            )
        for metric, tolerance in (
            tolerances.items() if tolerances else [("max_degradation", self.max_degradation)]
        ):
            if not isinstance(tolerance, int | float) or not tolerance >= 0:
                raise ConfigError(f"max_degradation of {metric} must be >= 0, got {tolerance}")
        if self.score_is not in SCORE_SEMANTICS:
            raise ConfigError(
                f"score_is must be one of {', '.join(SCORE_SEMANTICS)}, got {self.score_is!r}"
            )
        object.__setattr__(self, "metrics", tuple(chosen))

    def tolerance(self, metric: str) -> float | None:
        """How much worse than its baseline ``metric`` may get (``None``: no limit)."""
        if isinstance(self.max_degradation, Mapping):
            return self.max_degradation.get(metric)
        return float(self.max_degradation)

    def limit(self, metric: str) -> tuple[float, bool] | None:
        """The worst allowed value of ``metric`` by its baseline, and whether lower is better.

        ``None`` when the metric has no baseline or no tolerance.

        Examples
        --------
        >>> PerformanceConfig(baseline={"accuracy": 0.9}, max_degradation=0.05).limit("accuracy")
        (0.85, False)
        """
        baseline, tolerance = self.baseline.get(metric), self.tolerance(metric)
        if baseline is None or tolerance is None:
            return None
        lower_is_better = metric in LOWER_IS_BETTER
        step = tolerance if lower_is_better else -tolerance
        return round(baseline + step, 12), lower_is_better


@dataclass(frozen=True)
class Measurement:
    """A window's metrics, and why the others could not be computed."""

    values: Mapping[str, float]
    problems: Mapping[str, str]
    """Metric -> the reason it has no value."""


def _all(metrics: Sequence[str], reason: str) -> Measurement:
    return Measurement({}, dict.fromkeys(metrics, reason))


def _quoted(values: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _class_problem(truth: list[Any], predicted: list[Any], classes: ClassSet | None) -> str | None:
    if classes is not None:
        for side, values in (("labels", truth), ("predictions", predicted)):
            unknown = classes.unknown(values)
            if unknown:
                return (
                    f"the {side} hold classes the reference never had: {_quoted(unknown)} "
                    f"(reference classes: {_quoted(list(classes.classes))}); send the "
                    "reference's class values"
                )
        return None
    if not set(truth) & set(predicted):
        labels, preds = sorted({str(v) for v in truth}), sorted({str(v) for v in predicted})
        return (
            f"the labels share no value with the predictions (labels: {_quoted(labels)}; "
            f"predictions: {_quoted(preds)}); send both as the same class values"
        )
    return None


def measure(
    config: PerformanceConfig,
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    *,
    y_score: Sequence[float] | None = None,
    probabilities: Mapping[Any, Sequence[float]] | None = None,
    classes: ClassSet | None = None,
) -> Measurement:
    """The configured metrics of some labelled rows, or why each cannot be computed.

    Parameters
    ----------
    config
        Task, metrics, positive label and score semantics.
    y_true, y_pred
        Labels and predictions (class text for classification).
    y_score
        One score per row (see ``config.score_is``), or ``None``.
    probabilities
        One probability column per class, or ``None``.
    classes
        The classes the reference knows; without them labels and predictions must
        share at least one value.

    Examples
    --------
    >>> config = PerformanceConfig(metrics=("accuracy", "roc_auc"))
    >>> m = measure(config, ["1.0", "0.0"], ["1", "0"], y_score=[0.9, 0.2])
    >>> m.values, m.problems["accuracy"][:46]
    ({}, 'the labels share no value with the predictions')
    """
    wanted = config.metrics
    if not y_true:
        return _all(wanted, "no labelled predictions")
    if config.task == "regression":
        actual, estimate = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, np.float64)
        if not (np.isfinite(actual).all() and np.isfinite(estimate).all()):
            return _all(wanted, "labels or predictions hold non-finite values")
        return _chosen(wanted, regression_metrics(actual, estimate), {})
    truth, predicted = list(y_true), list(y_pred)
    problem = _class_problem(truth, predicted, classes)
    if problem is not None:
        return _all(wanted, problem)
    known = list(classes.classes) if classes else sorted({*map(str, truth), *map(str, predicted)})
    if len(known) > 2 or (probabilities is not None and len(probabilities) > 2):
        return _multiclass(config, truth, predicted, probabilities)
    return _binary(config, truth, predicted, y_score, probabilities)


def _chosen(
    wanted: Sequence[str], values: Mapping[str, float], problems: Mapping[str, str]
) -> Measurement:
    out, why = {}, {}
    for metric in wanted:
        if metric in problems:
            why[metric] = problems[metric]
        elif math.isnan(values.get(metric, math.nan)):
            why[metric] = f"{metric} is undefined on these rows (e.g. a single class)"
        else:
            out[metric] = values[metric]
    return Measurement(out, why)


def _binary(
    config: PerformanceConfig,
    truth: list[Any],
    predicted: list[Any],
    y_score: Sequence[float] | None,
    probabilities: Mapping[Any, Sequence[float]] | None,
) -> Measurement:
    positive = config.positive_label
    values = classification_metrics(truth, predicted, positive_label=positive)
    problems: dict[str, str] = {}
    predicted_positive = np.asarray(predicted, dtype=object) == positive
    if probabilities is not None:
        if positive not in probabilities:
            reason = f"no probability column for the positive class {positive!r}"
            return _chosen(config.metrics, values, dict.fromkeys(_SCORE_METRICS, reason))
        scores = np.asarray(probabilities[positive], dtype=np.float64)
        semantics: ScoreSemantics = "positive_probability"
    elif y_score is not None:
        scores, semantics = np.asarray(y_score, dtype=np.float64), config.score_is
    else:
        reason = "no score column: declare schema.score or schema.probabilities"
        return _chosen(config.metrics, values, dict.fromkeys(_SCORE_METRICS, reason))
    missing = int(np.count_nonzero(~np.isfinite(scores)))
    contradiction = (
        f"{missing} of the {scores.size} labelled rows have no score"
        if missing
        else score_contradiction(semantics, scores, predicted_positive)
    )
    if contradiction is not None:
        problems.update(dict.fromkeys(_SCORE_METRICS, contradiction))
    else:
        probability = positive_probability(semantics, scores, predicted_positive)
        scored = classification_metrics(
            truth, predicted, y_score=probability, positive_label=positive
        )
        values["roc_auc"] = scored["roc_auc"]
        if probability.min() < 0 or probability.max() > 1:
            problems["log_loss"] = "scores outside [0, 1] are not probabilities"
        else:
            values["log_loss"] = scored["log_loss"]
    return _chosen(config.metrics, values, problems)


def _multiclass(
    config: PerformanceConfig,
    truth: list[Any],
    predicted: list[Any],
    probabilities: Mapping[Any, Sequence[float]] | None,
) -> Measurement:
    problems: dict[str, str] = {}
    usable = None
    if probabilities is None:
        reason = (
            "a multiclass model needs one probability column per class for roc_auc and "
            "log_loss: declare schema.probabilities"
        )
        problems.update(dict.fromkeys(_SCORE_METRICS, reason))
    else:
        columns = {c: np.asarray(p, dtype=np.float64) for c, p in probabilities.items()}
        missing = sum(int(np.count_nonzero(~np.isfinite(p))) for p in columns.values())
        contradiction = (
            f"{missing} class probabilities of the labelled rows are missing"
            if missing
            else probability_contradiction(columns, predicted)
        )
        if contradiction is not None:
            problems.update(dict.fromkeys(_SCORE_METRICS, contradiction))
        else:
            usable = columns
    values = multiclass_metrics(truth, predicted, probabilities=usable)
    return _chosen(config.metrics, values, problems)


def performance_results(
    config: PerformanceConfig,
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    *,
    y_score: Sequence[float] | None = None,
    probabilities: Mapping[Any, Sequence[float]] | None = None,
    classes: ClassSet | None = None,
    rows: int | None = None,
) -> list[CheckResult]:
    """Metrics of one window as check results, plus its label coverage.

    Parameters
    ----------
    config
        Metrics, limits and tolerances.
    y_true, y_pred, y_score, probabilities, classes
        The labelled rows of the window, as :func:`measure` takes them.
    rows
        All predictions in the window, labelled or not, for ``label_coverage``.

    Examples
    --------
    >>> config = PerformanceConfig(metrics=("accuracy",), baseline={"accuracy": 0.9},
    ...                            min_labels=1)
    >>> [(r.metric, r.value, r.status.value) for r in
    ...  performance_results(config, [1, 0, 1, 1], [1, 0, 0, 1], rows=8)]
    [('label_coverage', 0.5, 'passed'), ('accuracy', 0.75, 'failed')]
    """
    return judged_results(
        config,
        len(y_true),
        rows,
        lambda: measure(
            config, y_true, y_pred, y_score=y_score, probabilities=probabilities, classes=classes
        ),
    )


def judged_results(
    config: PerformanceConfig,
    labelled: int,
    rows: int | None,
    measured: Callable[[], Measurement],
) -> list[CheckResult]:
    """Label coverage, then each metric ``measured()`` gives judged (rows or a state alike).

    With fewer than ``config.min_labels`` labels, every metric is an informational
    ``error`` result instead, and ``measured`` is not called.
    """
    results = [
        CheckResult(
            check=CheckKind.PERFORMANCE,
            metric="label_coverage",
            column=None,
            value=labelled / rows if rows else None,
            threshold=None,
            status=CheckStatus.PASSED,
            severity=Severity.INFO,
            message=f"{labelled} of {rows if rows is not None else '?'} predictions labelled",
            details=PerformanceDetails(labelled=labelled, rows=rows),
        )
    ]
    if labelled < config.min_labels:
        # Waiting for labels is not a fault: informational, so no alert by default.
        message = f"{labelled} labelled rows; at least {config.min_labels} needed for metrics"
        return results + [
            _error(config, metric, message, labelled, Severity.INFO) for metric in config.metrics
        ]
    measurement = measured()
    for metric in config.metrics:
        if metric in measurement.values:
            results.append(_judged(config, metric, measurement.values[metric], labelled))
        else:
            reason = measurement.problems[metric]
            results.append(_error(config, metric, reason, labelled, Severity.WARNING))
    return results


def _error(
    config: PerformanceConfig, metric: str, message: str, labelled: int, severity: Severity
) -> CheckResult:
    return error_result(
        CheckKind.PERFORMANCE, metric, None, message, severity=severity, labelled=labelled
    )


def _judged(config: PerformanceConfig, metric: str, value: float, labelled: int) -> CheckResult:
    learned = config.limits.get(metric)
    if learned is not None:
        return _judged_learned(config, metric, value, labelled, learned)
    baseline = config.baseline.get(metric)
    limit = config.limit(metric)
    if baseline is None or limit is None:
        why = "no baseline" if baseline is None else f"no tolerance; baseline {baseline:.4g}"
        return CheckResult(
            CheckKind.PERFORMANCE,
            metric,
            None,
            value,
            None,
            CheckStatus.PASSED,
            config.severity,
            f"{metric} {value:.4g} ({why})",
            PerformanceDetails(labelled=labelled, baseline=baseline),
        )
    threshold, lower_is_better = limit
    degraded = value > threshold if lower_is_better else value < threshold
    degradation = (value - baseline) if lower_is_better else (baseline - value)
    tolerance = config.tolerance(metric)
    return CheckResult(
        CheckKind.PERFORMANCE,
        metric,
        None,
        value,
        threshold,
        CheckStatus.FAILED if degraded else CheckStatus.PASSED,
        config.severity,
        f"{metric} {value:.4g} vs baseline {baseline:.4g} "
        f"({'worse than' if degraded else 'within'} the allowed {tolerance:g})",
        PerformanceDetails(
            labelled=labelled, baseline=baseline, limits="fixed", degradation=degradation
        ),
    )


def _judged_learned(
    config: PerformanceConfig, metric: str, value: float, labelled: int, learned: LearnedLimits
) -> CheckResult:
    lower_is_better = metric in LOWER_IS_BETTER
    below, above = value < learned.lower, value > learned.upper
    degraded = above if lower_is_better else below
    improved = below if lower_is_better else above
    direction = "degraded" if degraded else "improved" if improved else "within"
    span = f"[{learned.lower:.4g}, {learned.upper:.4g}]"
    if degraded or improved:
        side = "above" if above else "below"
        verdict = "worse than the reference" if degraded else "better than the reference"
        message = f"{metric} {value:.4g} {side} the reference range {span}: {verdict}"
    else:
        message = f"{metric} {value:.4g} within the reference range {span}"
    if learned.note:
        message += f" ({learned.note})"
    return CheckResult(
        CheckKind.PERFORMANCE,
        metric,
        None,
        value,
        learned.upper if lower_is_better else learned.lower,
        CheckStatus.FAILED if degraded else CheckStatus.PASSED,
        config.severity,
        message,
        PerformanceDetails(
            labelled=labelled,
            baseline=learned.mean,
            limits="learned",
            direction=direction,
            learned=learned,
        ),
    )
