"""Seeded bootstrap of the metrics with no closed-form test: ROC AUC, precision, recall, F1.

Both sides are resampled independently, ``replicates`` times, and the difference's
interval is the percentile interval of the replicated differences around the exact
one; its tests take the
difference as normal with the replicates' standard deviation as standard error (a
percentile p-value would be too coarse for a corrected level).

- ROC AUC: stratified, as pROC does: positives and negatives are resampled
  separately, so every replicate has both classes; a replicate costs a pass over the
  scores' histogram, not over the rows.
- Metrics of the confusion matrix: a replicate is a multinomial draw of the matrix's
  cells, which is what resampling the rows does to it.

The generator is seeded from ``seed`` and the metric's name: same input, same output,
whichever metrics are compared alongside.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

from mlvigil.experiments.differences import Difference, normal_difference
from mlvigil.stats.samples import DegenerateInputError

__all__ = [
    "auc_replicates",
    "bootstrap_difference",
    "confusion_metric",
    "confusion_replicates",
    "generator",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Score bins of the ROC AUC bootstrap, at most (its replicates cost this, not the rows).
MAX_BINS = 1024


def generator(seed: int, metric: str) -> np.random.Generator:
    """The generator of one metric's replicates: from the seed and the metric's name."""
    return np.random.default_rng([seed, zlib.crc32(metric.encode())])


def _binned(scores: FloatArray) -> tuple[IntArray, int]:
    """Each score's bin: its distinct value, or, past :data:`MAX_BINS` of them, its quantile."""
    distinct = np.unique(scores)
    if distinct.size <= MAX_BINS:
        return np.searchsorted(distinct, scores), distinct.size
    edges = np.unique(np.quantile(scores, np.linspace(0.0, 1.0, MAX_BINS + 1)[1:-1]))
    return np.searchsorted(edges, scores, side="right"), edges.size + 1


def auc_replicates(
    positive: npt.ArrayLike, score: npt.ArrayLike, replicates: int, rng: np.random.Generator
) -> FloatArray:
    """ROC AUC of ``replicates`` stratified resamples of the rows.

    Resampling a class's rows draws its scores from their histogram, so a replicate is
    a multinomial draw of each class's histogram: exact over the distinct scores, and
    over :data:`MAX_BINS` quantile bins past that many (pairs in one bin then count
    half, which moves every replicate alike: :func:`bootstrap_difference` centres the
    interval on the exact difference).

    Raises
    ------
    DegenerateInputError
        When a class is absent (the AUC is undefined).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(500) < 0.5
    >>> values = auc_replicates(truth, truth + rng.normal(0, 1, 500), 200, rng)
    >>> round(float(values.mean()), 2), round(float(values.std()), 2)
    (0.77, 0.02)
    """
    truth = np.asarray(positive, dtype=bool)
    scores = np.asarray(score, dtype=np.float64)
    n_positive, n_negative = int(truth.sum()), int((~truth).sum())
    if n_positive == 0 or n_negative == 0:
        raise DegenerateInputError("ROC AUC needs both classes among the labels")
    bins, size = _binned(scores)
    positives = np.bincount(bins[truth], minlength=size) / n_positive
    negatives = np.bincount(bins[~truth], minlength=size) / n_negative
    drawn_positives = rng.multinomial(n_positive, positives, size=replicates)
    drawn_negatives = rng.multinomial(n_negative, negatives, size=replicates)
    below = np.cumsum(drawn_negatives, axis=1) - drawn_negatives
    wins = np.einsum("ij,ij->i", drawn_positives, below + 0.5 * drawn_negatives)
    return np.asarray(wins / (float(n_positive) * float(n_negative)))


def confusion_replicates(
    confusion: npt.ArrayLike, replicates: int, rng: np.random.Generator
) -> IntArray:
    """``replicates`` multinomial draws of a confusion matrix (rows: truth, columns: predicted)."""
    counts = np.asarray(confusion, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        raise DegenerateInputError("no labelled rows to resample")
    cells = rng.multinomial(total, counts.ravel() / total, size=replicates)
    return cells.reshape(replicates, *counts.shape)


def _share(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """``numerator / denominator``, 0 where the denominator is (scikit-learn's zero_division=0)."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, 0.0)


def confusion_metric(
    metric: str, confusion: npt.ArrayLike, *, positive: int | None, present: npt.ArrayLike
) -> FloatArray:
    """``accuracy``, ``precision``, ``recall`` or ``f1`` of one or more confusion matrices.

    Parameters
    ----------
    metric
        The metric.
    confusion
        Matrices of shape ``(..., k, k)``, rows the truth and columns the prediction.
    positive
        Index of the positive class for a binary task; ``None`` for the macro average
        over the ``present`` classes (as :func:`mlvigil.checks.metrics.multiclass_metrics`).
    present
        Boolean mask of the classes the macro average is over.

    Examples
    --------
    >>> m = np.array([[50, 10], [5, 35]])
    >>> float(confusion_metric("recall", m, positive=1, present=[True, True]))
    0.875
    """
    counts = np.asarray(confusion, dtype=np.float64)
    diagonal = np.diagonal(counts, axis1=-2, axis2=-1)
    if metric == "accuracy":
        return np.asarray(diagonal.sum(axis=-1) / counts.sum(axis=(-2, -1)))
    precision = _share(diagonal, counts.sum(axis=-2))
    recall = _share(diagonal, counts.sum(axis=-1))
    values = {
        "precision": precision,
        "recall": recall,
        "f1": _share(2 * precision * recall, precision + recall),
    }[metric]
    if positive is not None:
        return np.asarray(values[..., positive])
    return np.asarray(values[..., np.asarray(present, dtype=bool)].mean(axis=-1))


def bootstrap_difference(
    metric: str,
    values: tuple[float, float],
    replicates: tuple[FloatArray, FloatArray],
    sizes: tuple[int, int],
    *,
    confidence: float = 0.95,
) -> Difference:
    """The difference of ``values`` (baseline, candidate) from each side's replicates.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> d = bootstrap_difference(
    ...     "m", (0.5, 0.6), (rng.normal(0.5, 0.02, 500), rng.normal(0.6, 0.02, 500)), (9, 9)
    ... )
    >>> round(d.standard_error, 3), d.p_increase < 0.001
    (0.028, True)
    """
    differences = replicates[1] - replicates[0]
    error = float(np.std(differences, ddof=1))
    tail = (1 - confidence) / 2
    # The replicates' spread around the exact difference (percentile interval, centred).
    spread = np.quantile(differences - differences.mean(), [tail, 1 - tail])
    low, high = (values[1] - values[0]) + spread
    normal = normal_difference(
        metric,
        values[0],
        values[1],
        error,
        n_baseline=sizes[0],
        n_candidate=sizes[1],
        method=f"bootstrap ({differences.size} replicates)",
        confidence=confidence,
    )
    return Difference(
        metric,
        values[0],
        values[1],
        float(low),
        float(high),
        error,
        normal.p_increase,
        normal.p_decrease,
        normal.method,
        sizes[0],
        sizes[1],
        confidence,
    )
