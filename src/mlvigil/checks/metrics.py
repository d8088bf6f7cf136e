"""Classification and regression metrics on arrays, as scikit-learn defines them.

Pure numpy, no scikit-learn needed; the tests check agreement with scikit-learn to
1e-9. Labels are compared as values: the caller passes canonical class text (see
:mod:`mlvigil.checks.classes`), so ``1`` and ``1.0`` are one class by then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

from mlvigil.exceptions import InputError

__all__ = [
    "CLASSIFICATION_METRICS",
    "LOWER_IS_BETTER",
    "REGRESSION_METRICS",
    "classification_metrics",
    "log_loss",
    "multiclass_metrics",
    "regression_metrics",
    "roc_auc",
]

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "mse", "rmse", "mape", "r2")
#: Metrics where a larger value is worse; the rest are better when larger.
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "mse", "rmse", "mape"})

#: Probabilities are clipped to [eps, 1 - eps] before the logarithm (scikit-learn's eps).
_EPS = float(np.finfo(np.float64).eps)

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def _labels(values: ArrayLike) -> npt.NDArray[Any]:
    return np.asarray(values, dtype=object)


def _binary(values: ArrayLike, positive: Any) -> BoolArray:
    return np.asarray(_labels(values) == positive, dtype=np.bool_)


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, 0 when the denominator is 0 (``zero_division=0``)."""
    return numerator / denominator if denominator else 0.0


def _precision_recall_f1(actual: BoolArray, predicted: BoolArray) -> tuple[float, float, float]:
    true_positive = float(np.sum(actual & predicted))
    precision = _ratio(true_positive, float(np.sum(predicted)))
    recall = _ratio(true_positive, float(np.sum(actual)))
    return precision, recall, _ratio(2 * precision * recall, precision + recall)


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
    truth = _labels(y_true)
    if truth.size == 0:
        raise InputError("no labelled predictions to compute metrics on")
    actual = _binary(truth, positive_label)
    precision, recall, f1 = _precision_recall_f1(actual, _binary(y_pred, positive_label))
    metrics = {
        "accuracy": float(np.mean(truth == _labels(y_pred))),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }
    if y_score is not None:
        score = np.asarray(y_score, dtype=np.float64)
        metrics["roc_auc"] = roc_auc(actual, score)
        metrics["log_loss"] = log_loss(actual, score)
    return metrics


def multiclass_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    probabilities: Mapping[Any, ArrayLike] | None = None,
) -> dict[str, float]:
    """Multiclass metrics: macro averages of the one-vs-rest metrics of each class.

    Parameters
    ----------
    y_true, y_pred
        True and predicted labels.
    probabilities
        Probability of each class (one array per class, every class the labels can
        take), for ``roc_auc`` (one-vs-rest, macro) and ``log_loss``.

    Returns
    -------
    ``accuracy``; ``precision``, ``recall`` and ``f1`` averaged over the classes
    present in ``y_true`` or ``y_pred`` (scikit-learn's ``average="macro"``); with
    probabilities ``roc_auc`` over the classes that have both positive and negative
    labels (scikit-learn's ``multi_class="ovr"``, equal to it when every class is
    labelled) and ``log_loss`` (NaN when a label has no probability column).

    Examples
    --------
    >>> m = multiclass_metrics(["a", "b", "c", "a"], ["a", "b", "b", "a"])
    >>> round(m["accuracy"], 2), round(m["f1"], 4)
    (0.75, 0.5556)
    """
    truth, predicted = _labels(y_true), _labels(y_pred)
    if truth.size == 0:
        raise InputError("no labelled predictions to compute metrics on")
    present = sorted({*truth.tolist(), *predicted.tolist()}, key=str)
    per_class = np.array(
        [_precision_recall_f1(truth == label, predicted == label) for label in present]
    )
    metrics = {
        "accuracy": float(np.mean(truth == predicted)),
        "precision": float(per_class[:, 0].mean()),
        "recall": float(per_class[:, 1].mean()),
        "f1": float(per_class[:, 2].mean()),
    }
    if probabilities is not None:
        scores = {label: np.asarray(p, dtype=np.float64) for label, p in probabilities.items()}
        aucs = [roc_auc(truth == label, p) for label, p in scores.items()]
        defined = [a for a in aucs if not math.isnan(a)]
        metrics["roc_auc"] = float(np.mean(defined)) if defined else math.nan
        metrics["log_loss"] = _multiclass_log_loss(truth, scores)
    return metrics


def _multiclass_log_loss(truth: npt.NDArray[Any], scores: Mapping[Any, FloatArray]) -> float:
    chosen = np.full(truth.size, np.nan)
    for label, p in scores.items():
        rows = truth == label
        chosen[rows] = p[rows]
    if np.isnan(chosen).any():
        return math.nan
    return float(-np.mean(np.log(np.clip(chosen, _EPS, 1 - _EPS))))


def log_loss(actual: ArrayLike, probability: ArrayLike) -> float:
    """Binary log loss of the positive-class ``probability`` (natural log).

    As scikit-learn computes it: both classes' probabilities are clipped to
    ``[eps, 1 - eps]`` before the logarithm.

    Examples
    --------
    >>> round(log_loss([True, False], [0.9, 0.2]), 6)
    0.164252
    """
    positive = np.asarray(actual, dtype=bool)
    p = np.asarray(probability, dtype=np.float64)
    chosen = np.where(positive, p, 1.0 - p)
    return float(-np.mean(np.log(np.clip(chosen, _EPS, 1 - _EPS))))


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
    """``mae``, ``mse``, ``rmse``, ``mape`` (rows with a zero target left out) and ``r2``.

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
    mse = float(np.mean(error**2))
    return {
        "mae": float(np.mean(np.abs(error))),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mape": float(np.mean(np.abs(error[nonzero] / truth[nonzero])))
        if nonzero.any()
        else math.nan,
        "r2": 1.0 - float(np.sum(error**2)) / spread if spread else math.nan,
    }


def metric_names(task: str) -> Sequence[str]:
    """Every metric of a task (``classification`` or ``regression``)."""
    return CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
