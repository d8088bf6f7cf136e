"""Model performance once labels arrive: classification and regression metrics.

Pure functions on arrays (no scikit-learn needed; the tests agree with it), and
:func:`performance_results`, which turns them into :class:`CheckResult` rows judged
against a baseline: a metric fails when it is worse than its baseline by more than the
allowed degradation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from mlvigil.checks.result import CheckResult, CheckStatus, Severity
from mlvigil.exceptions import ConfigError, InputError

Task = Literal["classification", "regression"]
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2")
# Metrics where a larger value is worse; the rest are better when larger.
_LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse", "mape"})
_EPS = 1e-15


def _binary(values: ArrayLike, positive: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.asarray(np.asarray(values, dtype=object) == positive, dtype=np.bool_)


def classification_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    y_score: ArrayLike | None = None,
    positive_label: Any = 1,
) -> dict[str, float]:
    """Binary classification metrics for the ``positive_label`` class.

    Parameters
    ----------
    y_true, y_pred
        True and predicted labels, compared as values (``1`` is not ``"1"``).
    y_score
        Probability of the positive class, for ``roc_auc`` and ``log_loss``.
    positive_label
        The class precision, recall and F1 are about.

    Returns
    -------
    ``accuracy``, ``precision``, ``recall``, ``f1`` and, with scores, ``roc_auc``
    (NaN when only one class is present) and ``log_loss``. Precision or recall with
    a zero denominator is 0, as in scikit-learn's ``zero_division=0``.

    Examples
    --------
    >>> m = classification_metrics([1, 0, 1, 1], [1, 0, 0, 1], y_score=[0.9, 0.2, 0.4, 0.8])
    >>> m["accuracy"], m["recall"], m["roc_auc"]
    (0.75, 0.6666666666666666, 1.0)
    """
    truth = np.asarray(y_true, dtype=object)
    if truth.size == 0:
        raise InputError("no labelled predictions to compute metrics on")
    actual = _binary(truth, positive_label)
    predicted = _binary(y_pred, positive_label)
    true_positive = float(np.sum(actual & predicted))
    predicted_positive = float(np.sum(predicted))
    actual_positive = float(np.sum(actual))
    precision = true_positive / predicted_positive if predicted_positive else 0.0
    recall = true_positive / actual_positive if actual_positive else 0.0
    metrics = {
        "accuracy": float(np.mean(truth == np.asarray(y_pred, dtype=object))),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
    }
    if y_score is not None:
        score = np.asarray(y_score, dtype=np.float64)
        metrics["roc_auc"] = roc_auc(actual, score)
        clipped = np.clip(score, _EPS, 1 - _EPS)
        metrics["log_loss"] = float(-np.mean(np.where(actual, np.log(clipped), np.log1p(-clipped))))
    return metrics


def roc_auc(actual: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve: the Mann–Whitney U statistic, ties counted half.

    Examples
    --------
    >>> roc_auc([True, False, True], [0.8, 0.3, 0.3])
    0.75
    """
    positive = np.asarray(actual, dtype=bool)
    values = np.asarray(score, dtype=np.float64)
    n_positive = int(positive.sum())
    n_negative = positive.size - n_positive
    if n_positive == 0 or n_negative == 0:
        return math.nan
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size, dtype=np.float64)
    sorted_values = values[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    u = ranks[positive].sum() - n_positive * (n_positive + 1) / 2.0
    return float(u / (n_positive * n_negative))


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """``mae``, ``rmse``, ``mape`` (rows with a zero target left out) and ``r2``.

    Examples
    --------
    >>> m = regression_metrics([3.0, 5.0, 2.0], [2.5, 5.0, 3.0])
    >>> round(m["mae"], 3), round(m["r2"], 3)
    (0.5, 0.732)
    """
    truth = np.asarray(y_true, dtype=np.float64)
    predicted = np.asarray(y_pred, dtype=np.float64)
    if truth.size == 0:
        raise InputError("no labelled predictions to compute metrics on")
    error = predicted - truth
    nonzero = truth != 0
    spread = float(np.sum((truth - truth.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mape": float(np.mean(np.abs(error[nonzero] / truth[nonzero])))
        if nonzero.any()
        else math.nan,
        "r2": 1.0 - float(np.sum(error**2)) / spread if spread else math.nan,
    }


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
        Expected value per metric (e.g. from validation); without one a metric is
        reported but never fails.
    max_degradation
        How much worse than the baseline a metric may get, in the metric's own units
        (0.05 = five accuracy points).
    positive_label
        The positive class for precision, recall, F1, ROC AUC and log loss.
    min_labels
        Fewer labelled rows than this in a window gives an error result, not a verdict.
    severity
        Severity of a degradation.
    """

    task: Task = "classification"
    metrics: tuple[str, ...] = ()
    baseline: Mapping[str, float] = field(default_factory=dict)
    max_degradation: float = 0.05
    positive_label: Any = 1
    min_labels: int = 30
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        known = CLASSIFICATION_METRICS if self.task == "classification" else REGRESSION_METRICS
        if self.task not in ("classification", "regression"):
            raise ConfigError(f"task must be classification or regression, got {self.task!r}")
        chosen = self.metrics or known
        unknown = [m for m in (*chosen, *self.baseline) if m not in known]
        if unknown:
            raise ConfigError(
                f"unknown {self.task} metric(s) {unknown}; choose from {', '.join(known)}"
            )
        if self.max_degradation < 0:
            raise ConfigError(f"max_degradation must be >= 0, got {self.max_degradation}")
        object.__setattr__(self, "metrics", tuple(chosen))

    def limit(self, metric: str) -> tuple[float, bool] | None:
        """The worst allowed value of ``metric`` and whether lower is better.

        ``None`` when the metric has no baseline (it is reported but never fails).

        Examples
        --------
        >>> PerformanceConfig(baseline={"accuracy": 0.9}, max_degradation=0.05).limit("accuracy")
        (0.85, False)
        """
        baseline = self.baseline.get(metric)
        if baseline is None:
            return None
        lower_is_better = metric in _LOWER_IS_BETTER
        step = self.max_degradation if lower_is_better else -self.max_degradation
        return round(baseline + step, 12), lower_is_better


def performance_results(
    config: PerformanceConfig,
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    *,
    y_score: Sequence[float] | None = None,
    rows: int | None = None,
) -> list[CheckResult]:
    """Metrics of one window as check results, plus its label coverage.

    Parameters
    ----------
    config
        Metrics, baseline and tolerance.
    y_true, y_pred, y_score
        The labelled rows of the window.
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
    labelled = len(y_true)
    results = [
        CheckResult(
            check="performance",
            metric="label_coverage",
            column=None,
            value=labelled / rows if rows else None,
            threshold=None,
            status=CheckStatus.PASSED,
            severity=Severity.INFO,
            message=f"{labelled} of {rows if rows is not None else '?'} predictions labelled",
            details={"labelled": labelled, "rows": rows},
        )
    ]
    if labelled < config.min_labels:
        message = f"{labelled} labelled rows; at least {config.min_labels} needed for metrics"
        return results + [
            CheckResult(
                "performance",
                metric,
                None,
                None,
                None,
                CheckStatus.ERROR,
                config.severity,
                message,
                {"labelled": labelled},
            )
            for metric in config.metrics
        ]
    if config.task == "classification":
        values = classification_metrics(
            y_true, y_pred, y_score=y_score, positive_label=config.positive_label
        )
    else:
        values = regression_metrics(y_true, y_pred)
    results.extend(
        _judged(config, metric, values.get(metric, math.nan), labelled) for metric in config.metrics
    )
    return results


def _judged(config: PerformanceConfig, metric: str, value: float, labelled: int) -> CheckResult:
    baseline = config.baseline.get(metric)
    limit = config.limit(metric)
    details: dict[str, Any] = {"labelled": labelled, "baseline": baseline}
    if math.isnan(value):
        return CheckResult(
            "performance",
            metric,
            None,
            None,
            None,
            CheckStatus.ERROR,
            config.severity,
            f"{metric} is undefined on this window (e.g. a single class)",
            details,
        )
    if baseline is None or limit is None:
        return CheckResult(
            "performance",
            metric,
            None,
            value,
            None,
            CheckStatus.PASSED,
            config.severity,
            f"{metric} {value:.4g} (no baseline)",
            details,
        )
    threshold, lower_is_better = limit
    degraded = value > threshold if lower_is_better else value < threshold
    details["degradation"] = (value - baseline) if lower_is_better else (baseline - value)
    return CheckResult(
        "performance",
        metric,
        None,
        value,
        threshold,
        CheckStatus.FAILED if degraded else CheckStatus.PASSED,
        config.severity,
        f"{metric} {value:.4g} vs baseline {baseline:.4g} "
        f"({'worse than' if degraded else 'within'} the allowed {config.max_degradation:g})",
        details,
    )
