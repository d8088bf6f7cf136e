"""Sampling error of a metric at a window's size, from the reference's row-level spread.

A metric computed on ``n`` rows varies from window to window by chance alone. Most
metrics are a mean of a row-level quantity over some share of the rows (accuracy: the
0/1 correctness of every row; precision: of the rows predicted positive), so their
standard error at ``n`` rows is ``std / sqrt(n * share)``, with the standard
deviation and the share measured once on the labelled reference (the rule NannyML
uses):

- accuracy: correctness of every row; precision: of the rows predicted positive;
  recall: of the positive rows; specificity: of the negative rows;
- F1: over the rows that are a true positive, false positive or false negative, 1 for
  a true positive and 0 otherwise, scaled so that its mean is the F1;
- ROC AUC: over the rows of the smaller class, the share of the other class each one
  outranks (ties half): a Mann–Whitney term whose mean is the AUC;
- regression: ``|y - ŷ|`` (MAE), ``(y - ŷ)²`` (MSE), ``|y - ŷ| / |y|`` (MAPE); RMSE by
  the delta method, ``SE(MSE) / (2 RMSE)``.

Multiclass metrics are macro averages of ``K`` one-vs-rest terms:
``sqrt(sum SE_k²) / K``. The band ``value ± 3 SE`` (:func:`band`) is clipped to the
metric's range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

__all__ = [
    "BAND_SIGMAS",
    "Spread",
    "SpreadTerm",
    "band",
    "binary_spread",
    "multiclass_spread",
    "regression_spread",
]

#: Standard errors on each side of an estimate in its band.
BAND_SIGMAS = 3.0

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class SpreadTerm:
    """A row-level quantity's standard deviation, and the share of rows it is measured on."""

    std: float
    share: float

    def error(self, rows: int) -> float:
        """Standard error of its mean at ``rows`` rows (NaN when no row would count)."""
        counted = rows * self.share
        return self.std / math.sqrt(counted) if counted > 0 else math.nan


@dataclass(frozen=True, slots=True)
class Spread:
    """The terms a metric averages (one, or one per class for macro averages).

    Examples
    --------
    >>> Spread((SpreadTerm(0.4, 1.0),)).standard_error(400)
    0.02
    """

    terms: tuple[SpreadTerm, ...]

    def standard_error(self, rows: int) -> float | None:
        """Standard error of the metric at ``rows`` rows, or ``None`` when undefined."""
        if not self.terms:
            return None
        errors = [term.error(rows) for term in self.terms]
        if any(math.isnan(e) for e in errors):
            return None
        return math.sqrt(sum(e * e for e in errors)) / len(errors)


def band(
    value: float, standard_error: float | None, low: float, high: float
) -> tuple[float | None, float | None]:
    """``value ∓ 3 SE``, clipped to ``[low, high]``; ``(None, None)`` without an error.

    Examples
    --------
    >>> band(0.98, 0.01, 0.0, 1.0)
    (0.95, 1.0)
    """
    if standard_error is None:
        return None, None
    step = BAND_SIGMAS * standard_error
    return max(low, round(value - step, 12)), min(high, round(value + step, 12))


def _term(values: npt.NDArray[np.float64], rows: int) -> SpreadTerm | None:
    return SpreadTerm(float(values.std()), values.size / rows) if values.size else None


def _auc_term(actual: BoolArray, score: npt.NDArray[np.float64]) -> SpreadTerm | None:
    positive, values = actual, score
    if positive.mean() > 0.5:  # the smaller class's terms, as for the AUC of the other class
        positive, values = ~positive, -score
    others = np.sort(values[~positive])
    mine = values[positive]
    if others.size == 0 or mine.size == 0:
        return None
    below = np.searchsorted(others, mine, side="left")
    tied = np.searchsorted(others, mine, side="right") - below
    return _term((below + 0.5 * tied) / others.size, actual.size)


def _f1_term(actual: BoolArray, predicted: BoolArray) -> SpreadTerm | None:
    tp, fp, fn = actual & predicted, ~actual & predicted, actual & ~predicted
    relevant = tp | fp | fn
    counted = int(relevant.sum())
    if counted == 0:
        return None
    scale = counted / (int(tp.sum()) + 0.5 * (int(fp.sum()) + int(fn.sum())))
    return _term(tp[relevant].astype(np.float64) * scale, actual.size)


def _one_vs_rest(
    actual: BoolArray, predicted: BoolArray, score: npt.NDArray[np.float64]
) -> dict[str, SpreadTerm | None]:
    right = (actual == predicted).astype(np.float64)
    return {
        "precision": _term(right[predicted], actual.size),
        "recall": _term(right[actual], actual.size),
        "specificity": _term(right[~actual], actual.size),
        "f1": _f1_term(actual, predicted),
        "roc_auc": _auc_term(actual, score),
    }


def _spreads(terms: Mapping[str, Sequence[SpreadTerm | None]]) -> dict[str, Spread]:
    return {
        metric: Spread(tuple(t for t in found if t is not None))
        for metric, found in terms.items()
        if any(t is not None for t in found)
    }


def binary_spread(actual: ArrayLike, predicted: ArrayLike, score: ArrayLike) -> dict[str, Spread]:
    """The spread of each binary metric on labelled reference rows.

    Parameters
    ----------
    actual, predicted
        Whether each row is positive, and whether it was predicted positive.
    score
        The raw positive-class score (for ROC AUC).

    Examples
    --------
    >>> s = binary_spread([True, False, True, False], [True, False, False, False],
    ...                   [0.9, 0.1, 0.4, 0.3])
    >>> s["accuracy"].standard_error(4), s["roc_auc"].standard_error(4)
    (0.21650635094610965, 0.0)
    """
    y = np.asarray(actual, dtype=bool)
    y_hat = np.asarray(predicted, dtype=bool)
    terms: dict[str, list[SpreadTerm | None]] = {
        "accuracy": [_term((y == y_hat).astype(np.float64), y.size)]
    }
    for metric, term in _one_vs_rest(y, y_hat, np.asarray(score, np.float64)).items():
        terms[metric] = [term]
    return _spreads(terms)


def multiclass_spread(
    actual: ArrayLike, predicted: ArrayLike, scores: ArrayLike
) -> dict[str, Spread]:
    """The spread of each multiclass metric (one-vs-rest terms per class).

    Parameters
    ----------
    actual, predicted
        Class of each row and predicted class, as column numbers of ``scores``.
    scores
        Raw probabilities, one column per class.
    """
    y = np.asarray(actual, dtype=np.intp)
    y_hat = np.asarray(predicted, dtype=np.intp)
    raw = np.asarray(scores, dtype=np.float64)
    terms: dict[str, list[SpreadTerm | None]] = {
        "accuracy": [_term((y == y_hat).astype(np.float64), y.size)]
    }
    for column in range(raw.shape[1]):
        for metric, term in _one_vs_rest(y == column, y_hat == column, raw[:, column]).items():
            terms.setdefault(metric, []).append(term)
    return _spreads(terms)


def regression_spread(actual: ArrayLike, predicted: ArrayLike) -> dict[str, Spread]:
    """The spread of each regression metric on labelled reference rows.

    Examples
    --------
    >>> s = regression_spread([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 4.5])
    >>> round(s["mae"].standard_error(4), 4)
    0.1768
    """
    y = np.asarray(actual, dtype=np.float64)
    error = np.asarray(predicted, dtype=np.float64) - y
    squared = error**2
    rmse = math.sqrt(float(squared.mean())) if y.size else 0.0
    nonzero = y != 0
    terms: dict[str, list[SpreadTerm | None]] = {
        "mae": [_term(np.abs(error), y.size)],
        "mse": [_term(squared, y.size)],
        "rmse": [_term(squared / (2 * rmse), y.size) if rmse > 0 else None],
        "mape": [_term(np.abs(error[nonzero] / y[nonzero]), y.size)],
    }
    return _spreads(terms)
