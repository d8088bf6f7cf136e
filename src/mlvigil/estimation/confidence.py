"""Confidence-based performance estimation: metrics from calibrated probabilities alone.

A calibrated probability ``p`` that a row is positive says how much of that row is
expected to be a true or a false positive: a row predicted positive adds ``p`` to the
true positives and ``1 - p`` to the false positives, a row predicted negative ``p`` to
the false negatives and ``1 - p`` to the true negatives. Summed over a window, this
*expected confusion matrix* gives accuracy, precision, recall, F1 and specificity as
they would be measured if the labels were drawn from those probabilities.

ROC AUC is read from the expected ROC curve: rows sorted by the model's own score
(high first), cumulative sums of ``p`` (expected positives) and ``1 - p`` (expected
negatives) trace true- and false-positive rates; rows with tied scores move together,
as they do on a real curve. With 0/1 probabilities (the labels themselves) every
figure here equals the realized metric.

Multiclass models are estimated one class against the rest and macro-averaged, and
accuracy as the mean probability of the predicted class.

All of it assumes calibrated probabilities and no concept shift (``P(y | x)`` as on the
reference): see :mod:`mlvigil.estimation.calibration`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

__all__ = [
    "binary_estimates",
    "confusion_metrics",
    "expected_confusion",
    "expected_roc_auc",
    "multiclass_estimates",
]

FloatArray = npt.NDArray[np.float64]


def _ratio(numerator: float, denominator: float) -> float:
    # scikit-learn's zero_division=0, as checks.metrics computes the realized metrics.
    return numerator / denominator if denominator > 0 else 0.0


def expected_confusion(
    probability: ArrayLike, predicted_positive: ArrayLike
) -> tuple[float, float, float, float]:
    """Expected true positives, false positives, false negatives and true negatives.

    Parameters
    ----------
    probability
        Calibrated probability that each row is positive.
    predicted_positive
        Whether each row was predicted positive.

    Examples
    --------
    >>> expected_confusion([0.9, 0.3, 0.2], [True, True, False])
    (1.2, 0.8, 0.2, 0.8)
    """
    p = np.asarray(probability, dtype=np.float64)
    predicted = np.asarray(predicted_positive, dtype=bool)
    tp = float(p[predicted].sum())
    fn = float(p[~predicted].sum())
    positives = int(predicted.sum())
    fp = positives - tp
    tn = (p.size - positives) - fn
    return round(tp, 12), round(fp, 12), round(fn, 12), round(tn, 12)


def confusion_metrics(tp: float, fp: float, fn: float, tn: float) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and specificity of a (possibly expected) confusion matrix.

    Zero denominators give 0, as scikit-learn's ``zero_division=0``.

    Examples
    --------
    >>> m = confusion_metrics(3, 1, 1, 5)
    >>> m["accuracy"], m["precision"], m["specificity"], m["f1"]
    (0.8, 0.75, 0.8333333333333334, 0.75)
    """
    total = tp + fp + fn + tn
    return {
        "accuracy": _ratio(tp + tn, total),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "specificity": _ratio(tn, tn + fp),
    }


def expected_roc_auc(probability: ArrayLike, score: ArrayLike) -> float:
    """Area under the expected ROC curve; NaN when no positive or no negative is expected.

    Parameters
    ----------
    probability
        Calibrated probability that each row is positive.
    score
        The model's raw score, which orders the rows (ties move together).

    Examples
    --------
    With the labels as probabilities it is the ROC AUC, ties counted half:

    >>> expected_roc_auc([1.0, 0.0, 1.0], [0.8, 0.3, 0.3])
    0.75
    >>> round(expected_roc_auc([0.9, 0.6, 0.2], [0.9, 0.6, 0.2]), 4)
    0.8167
    """
    p = np.asarray(probability, dtype=np.float64)
    values = np.asarray(score, dtype=np.float64)
    if p.size == 0:
        return math.nan
    order = np.argsort(-values, kind="mergesort")
    ordered = values[order]
    # The curve moves once per distinct score: at the last row of each tied run.
    last = np.r_[np.flatnonzero(ordered[1:] != ordered[:-1]), ordered.size - 1]
    tp = np.r_[0.0, np.cumsum(p[order])[last]]
    fp = np.r_[0.0, np.cumsum(1.0 - p[order])[last]]
    positives, negatives = tp[-1], fp[-1]
    if positives <= 1e-12 or negatives <= 1e-12:
        return math.nan
    area = float(np.sum((fp[1:] - fp[:-1]) * (tp[1:] + tp[:-1]))) / 2.0
    return float(min(1.0, max(0.0, area / float(positives * negatives))))


def binary_estimates(
    probability: ArrayLike, score: ArrayLike, predicted_positive: ArrayLike
) -> dict[str, float]:
    """Every estimated metric of a binary model's rows.

    Parameters
    ----------
    probability
        Calibrated probability of the positive class.
    score
        The raw score (positive-class probability before calibration), for the ROC
        curve's order.
    predicted_positive
        Whether each row was predicted positive.

    Examples
    --------
    >>> m = binary_estimates([0.9, 0.8, 0.3, 0.1], [0.9, 0.8, 0.3, 0.1],
    ...                      [True, True, False, False])
    >>> round(m["accuracy"], 3), round(m["recall"], 3), round(m["roc_auc"], 3)
    (0.825, 0.81, 0.863)
    """
    p = np.asarray(probability, dtype=np.float64)
    metrics = confusion_metrics(*expected_confusion(p, predicted_positive))
    metrics["roc_auc"] = expected_roc_auc(p, score)
    return metrics


def multiclass_estimates(
    probabilities: ArrayLike, scores: ArrayLike, predicted: ArrayLike
) -> dict[str, float]:
    """Estimated metrics of a multiclass model: one-vs-rest macro averages.

    Parameters
    ----------
    probabilities
        Calibrated probabilities, one column per class (rows sum to 1).
    scores
        The raw probabilities (same shape), for each class's ROC curve.
    predicted
        The predicted class of each row, as a column number of ``probabilities``.

    Returns
    -------
    ``accuracy`` (mean probability of the predicted class); ``precision``, ``recall``,
    ``f1``, ``specificity`` and ``roc_auc`` averaged over the classes (``roc_auc``
    over the classes whose curve is defined).

    Examples
    --------
    >>> p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    >>> m = multiclass_estimates(p, p, [0, 1, 2])
    >>> round(m["accuracy"], 4), round(m["precision"], 4)
    (0.7333, 0.7333)
    """
    p = np.asarray(probabilities, dtype=np.float64)
    raw = np.asarray(scores, dtype=np.float64)
    chosen = np.asarray(predicted, dtype=np.intp)
    rows, classes = p.shape
    onehot = np.zeros((rows, classes), dtype=bool)
    onehot[np.arange(rows), chosen] = True
    tp = (p * onehot).sum(axis=0)
    fn = p.sum(axis=0) - tp
    fp = onehot.sum(axis=0) - tp
    tn = (rows - onehot.sum(axis=0)) - fn
    per_class = [confusion_metrics(*counts) for counts in zip(tp, fp, fn, tn, strict=True)]
    metrics = {
        name: float(np.mean([m[name] for m in per_class]))
        for name in ("precision", "recall", "f1", "specificity")
    }
    metrics["accuracy"] = float(p[np.arange(rows), chosen].mean()) if rows else math.nan
    aucs = [expected_roc_auc(p[:, c], raw[:, c]) for c in range(classes)]
    defined = [a for a in aucs if not math.isnan(a)]
    metrics["roc_auc"] = float(np.mean(defined)) if defined else math.nan
    return metrics
