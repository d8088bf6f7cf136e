"""Performance of two versions on their own labelled rows: each metric's difference.

The metrics' values are :func:`mlvigil.checks.performance.measure`'s, so a comparison
shows the very numbers each version's performance results show, and inherits their
refusals (labels that share no value with the predictions, scores that contradict
their declared meaning). What this module adds is how sure the difference is:

- accuracy: the two-proportion z test;
- precision, recall, F1: a bootstrap of each side's confusion matrix;
- ROC AUC (binary): a stratified bootstrap of the scores;
- log loss, MAE, MSE, MAPE: Welch's t test on the per-row losses, whose means they are;
- RMSE: from the MSE's, by the delta method.

R² is not compared: it divides by the variance of each side's labels, which differs
between two versions' traffic without either model changing; MSE is what it compares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from mlvigil.checks.classes import ClassSet
from mlvigil.checks.metrics import metric_names
from mlvigil.checks.performance import PerformanceConfig, measure
from mlvigil.checks.scores import positive_probability
from mlvigil.experiments.bootstrap import (
    auc_replicates,
    bootstrap_difference,
    confusion_metric,
    confusion_replicates,
    generator,
)
from mlvigil.experiments.differences import (
    Difference,
    mean_difference,
    normal_difference,
    proportion_difference,
)
from mlvigil.stats.samples import DegenerateInputError

__all__ = ["Labelled", "labelled_differences"]

FloatArray = npt.NDArray[np.float64]

#: Clip of probabilities in per-row log loss, as :func:`mlvigil.checks.metrics.log_loss`.
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Labelled:
    """One version's labelled rows, as :func:`~mlvigil.checks.performance.measure` takes them.

    Attributes
    ----------
    truth, predicted
        Labels and predictions (class text for classification, numbers for regression).
    score
        One score per row (its meaning is the configuration's ``score_is``), or ``None``.
    probabilities
        One probability column per class, or ``None``.
    classes
        The classes labels and predictions are mapped onto, if known.
    """

    truth: Sequence[Any]
    predicted: Sequence[Any]
    score: Sequence[float] | None = None
    probabilities: Mapping[Any, Sequence[float]] | None = None
    classes: ClassSet | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.truth)

    @cached_property
    def truth_values(self) -> npt.NDArray[Any]:
        """The labels as an array (compared as values, as the metrics do)."""
        return np.asarray(self.truth, dtype=object)

    @cached_property
    def predicted_values(self) -> npt.NDArray[Any]:
        """The predictions as an array."""
        return np.asarray(self.predicted, dtype=object)

    @cached_property
    def is_multiclass(self) -> bool:
        """Whether ``measure`` takes these rows as multiclass (more than two classes)."""
        if self.probabilities is not None and len(self.probabilities) > 2:
            return True
        if self.classes is not None:
            return len(self.classes) > 2
        return len({*map(str, set(self.truth)), *map(str, set(self.predicted))}) > 2


@dataclass(frozen=True)
class _Options:
    confidence: float
    replicates: int
    seed: int


def labelled_differences(
    config: PerformanceConfig,
    baseline: Labelled,
    candidate: Labelled,
    *,
    confidence: float = 0.95,
    replicates: int = 200,
    seed: int = 0,
) -> tuple[dict[str, Difference], dict[str, str]]:
    """The difference of each of ``config``'s metrics, and why the others have none.

    Parameters
    ----------
    config
        Task, metrics (every metric of the task when empty), positive label, score
        semantics: as for the versions' performance results.
    baseline, candidate
        Each version's labelled rows.
    confidence
        Level of the intervals.
    replicates
        Bootstrap replicates per side, where a metric needs them.
    seed
        Seed of the bootstrap.

    Returns
    -------
    (differences, problems)
        Metric -> :class:`~mlvigil.experiments.differences.Difference`, and metric ->
        the reason it has none.

    Examples
    --------
    >>> config = PerformanceConfig(metrics=("accuracy",))
    >>> base = Labelled(["1", "0"] * 100, ["1", "0"] * 90 + ["0", "1"] * 10)
    >>> cand = Labelled(["1", "0"] * 100, ["1", "0"] * 80 + ["0", "1"] * 20)
    >>> found, problems = labelled_differences(config, base, cand)
    >>> round(found["accuracy"].difference, 2), problems
    (-0.1, {})
    """
    options = _Options(confidence, replicates, seed)
    metrics = config.metrics or tuple(metric_names(config.task))
    sides = (baseline, candidate)
    measured = [_measure(config, side) for side in sides]
    differences: dict[str, Difference] = {}
    problems: dict[str, str] = {}
    for metric in metrics:
        reasons = [
            f"{name}: {m.problems[metric]}"
            for name, m in zip(("baseline", "candidate"), measured, strict=True)
            if metric in m.problems
        ]
        if reasons:
            problems[metric] = "; ".join(reasons)
            continue
        values = (measured[0].values[metric], measured[1].values[metric])
        try:
            differences[metric] = _difference(config, metric, values, sides, options)
        except DegenerateInputError as error:
            problems[metric] = str(error)
    return differences, problems


def _measure(config: PerformanceConfig, side: Labelled) -> Any:
    return measure(
        config,
        side.truth,
        side.predicted,
        y_score=side.score,
        probabilities=side.probabilities,
        classes=side.classes,
    )


def _difference(
    config: PerformanceConfig,
    metric: str,
    values: tuple[float, float],
    sides: tuple[Labelled, Labelled],
    options: _Options,
) -> Difference:
    level = options.confidence
    if config.task == "regression":
        return _regression(metric, sides, level)
    if metric == "accuracy":
        counts = [(_right(side), len(side)) for side in sides]
        return proportion_difference(metric, counts[0], counts[1], confidence=level)
    if metric == "log_loss":
        losses = [_row_log_loss(config, side) for side in sides]
        return mean_difference(metric, losses[0], losses[1], confidence=level)
    rng = generator(options.seed, metric)
    if metric == "roc_auc":
        if any(side.is_multiclass for side in sides):
            raise DegenerateInputError(
                "roc_auc of a multiclass model is not compared; compare accuracy or f1"
            )
        replicated = [
            auc_replicates(*_positive_scores(config, side), options.replicates, rng)
            for side in sides
        ]
    else:
        replicated = [_confusion_replicates(config, metric, side, options, rng) for side in sides]
    sizes = (len(sides[0]), len(sides[1]))
    return bootstrap_difference(
        metric, values, (replicated[0], replicated[1]), sizes, confidence=level
    )


def _right(side: Labelled) -> int:
    return int(np.count_nonzero(side.truth_values == side.predicted_values))


def _confusion_replicates(
    config: PerformanceConfig,
    metric: str,
    side: Labelled,
    options: _Options,
    rng: np.random.Generator,
) -> FloatArray:
    truth, predicted = side.truth_values, side.predicted_values
    if side.is_multiclass:
        present = sorted({*truth.tolist(), *predicted.tolist()}, key=str)
        index = {label: i for i, label in enumerate(present)}
        rows = np.array([index[v] for v in truth.tolist()], dtype=np.int64)
        columns = np.array([index[v] for v in predicted.tolist()], dtype=np.int64)
        positive: int | None = None
    else:
        present = [False, True]
        rows = (truth == config.positive_label).astype(np.int64)
        columns = (predicted == config.positive_label).astype(np.int64)
        positive = 1
    size = len(present)
    confusion = np.bincount(rows * size + columns, minlength=size * size).reshape(size, size)
    drawn = confusion_replicates(confusion, options.replicates, rng)
    return confusion_metric(metric, drawn, positive=positive, present=np.ones(size, dtype=bool))


def _positive_scores(config: PerformanceConfig, side: Labelled) -> tuple[FloatArray, FloatArray]:
    """Whether each row is positive, and its positive-class probability (as ``measure``)."""
    positive = config.positive_label
    predicted_positive = side.predicted_values == positive
    if side.probabilities is not None:
        scores = np.asarray(side.probabilities[positive], dtype=np.float64)
    else:
        assert side.score is not None  # measure gave a value, so there is a score
        scores = positive_probability(config.score_is, side.score, predicted_positive)
    return side.truth_values == positive, scores


def _row_log_loss(config: PerformanceConfig, side: Labelled) -> FloatArray:
    """Each row's log loss: the log loss of the rows is their mean."""
    truth = side.truth_values
    if side.is_multiclass:
        assert side.probabilities is not None  # measure gave a value
        chosen = np.full(truth.size, np.nan)
        for label, column in side.probabilities.items():
            chosen = np.where(truth == label, np.asarray(column, dtype=np.float64), chosen)
    else:
        actual, probability = _positive_scores(config, side)
        chosen = np.where(actual, probability, 1.0 - probability)
    return np.asarray(-np.log(np.clip(chosen, _EPS, 1 - _EPS)))


def _regression(metric: str, sides: tuple[Labelled, Labelled], level: float) -> Difference:
    errors = [
        np.asarray(s.predicted, dtype=np.float64) - np.asarray(s.truth, dtype=np.float64)
        for s in sides
    ]
    if metric == "mae":
        return mean_difference(metric, np.abs(errors[0]), np.abs(errors[1]), confidence=level)
    if metric == "mape":
        relative = []
        for side, side_error in zip(sides, errors, strict=True):
            truth = np.asarray(side.truth, dtype=np.float64)
            relative.append(np.abs(side_error[truth != 0] / truth[truth != 0]))
        return mean_difference(metric, relative[0], relative[1], confidence=level)
    squared = mean_difference("mse", errors[0] ** 2, errors[1] ** 2, confidence=level)
    if metric == "mse":
        return squared
    if metric == "rmse":
        # Delta method: the standard error of sqrt(m) is that of m over 2 sqrt(m).
        roots = (math.sqrt(squared.baseline), math.sqrt(squared.candidate))
        each = [
            _mean_error(e**2) / (2 * r) if r else 0.0 for e, r in zip(errors, roots, strict=True)
        ]
        return normal_difference(
            metric,
            *roots,
            math.hypot(*each),
            n_baseline=squared.n_baseline,
            n_candidate=squared.n_candidate,
            method="delta method on Welch's MSE",
            confidence=level,
        )
    raise DegenerateInputError(
        f"{metric} is not compared between versions: it divides by each side's label "
        "variance, which their traffic sets; compare mse"
    )


def _mean_error(values: FloatArray) -> float:
    """Standard error of the mean of the finite values."""
    finite = values[np.isfinite(values)]
    return float(finite.std(ddof=1)) / math.sqrt(finite.size) if finite.size > 1 else math.nan
