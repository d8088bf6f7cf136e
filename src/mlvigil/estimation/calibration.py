"""Isotonic recalibration of a classifier's probabilities, fitted on the reference when it helps.

Confidence-based estimation reads probabilities as frequencies, so they must be
calibrated: of the rows scored 0.8, eight in ten positive. Many models are not (boosted
trees, SVMs, naive Bayes, class weights). :func:`choose_calibration` fits an isotonic
regression of the reference's labels on its scores (scikit-learn's
``IsotonicRegression``), one class against the rest for multiclass models, rows then
renormalised to sum to 1.

Recalibration is not free: on scores that are calibrated already it only adds the
noise of the fit. So, in ``auto`` mode, it is kept only when it helps: the reference is
split into stratified folds (seeded); on each fold the calibrator is fitted on the
other folds and the expected calibration error (:func:`expected_calibration_error`,
10 equal-count bins) of the held-out raw and calibrated scores is compared. The
calibrator is used when it lowers the error on every fold. It is skipped outright for a
reference with a single class (nothing to learn) and for scores that separate the
classes almost perfectly (ROC AUC above 0.999: nothing to correct).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

from mlvigil.checks.metrics import roc_auc
from mlvigil.exceptions import InputError

__all__ = [
    "BINS",
    "FOLDS",
    "SEPARABLE_AUC",
    "Calibration",
    "CalibrationMode",
    "Calibrator",
    "choose_calibration",
    "expected_calibration_error",
]

CalibrationMode = Literal["auto", "always", "never"]

#: Equal-count bins of the expected calibration error.
BINS = 10
#: Stratified folds on which recalibration must help.
FOLDS = 5
#: Scores separating the classes better than this need no recalibration.
SEPARABLE_AUC = 0.999

FloatArray = npt.NDArray[np.float64]


def expected_calibration_error(
    actual: ArrayLike, probability: ArrayLike, *, bins: int = BINS
) -> float:
    """Expected calibration error over equal-count bins of the probability.

    The rows are sorted by probability and cut into ``bins`` bins of (nearly) equal
    size; the error is the mean over rows of ``|share of positives - mean probability|``
    of their bin.

    Examples
    --------
    >>> round(expected_calibration_error([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], bins=2), 6)
    0.15
    """
    y = np.asarray(actual, dtype=np.float64)
    p = np.asarray(probability, dtype=np.float64)
    if p.size == 0:
        raise InputError("no rows to measure calibration on")
    order = np.argsort(p, kind="mergesort")
    count = min(bins, p.size)
    sizes = np.full(count, p.size // count)
    sizes[: p.size % count] += 1  # as numpy.array_split cuts them
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    gap = np.add.reduceat(y[order], starts) - np.add.reduceat(p[order], starts)
    return float(np.sum(np.abs(gap)) / p.size)


def _isotonic(score: FloatArray, actual: FloatArray) -> Any:
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, actual)


@dataclass(frozen=True)
class Calibrator:
    """Isotonic maps from raw to calibrated probabilities, one per column (none: identity).

    Attributes
    ----------
    models
        One fitted ``IsotonicRegression`` per probability column, or empty for the
        identity.
    """

    models: tuple[Any, ...] = ()

    @classmethod
    def fit(cls, raw: ArrayLike, actual: ArrayLike) -> Calibrator:
        """Fit one calibrator per column of ``raw`` (``n`` or ``n x classes``) on 0/1 ``actual``."""
        scores, labels = _columns(raw), _columns(actual)
        return cls(tuple(_isotonic(scores[:, c], labels[:, c]) for c in range(scores.shape[1])))

    @property
    def identity(self) -> bool:
        """Whether the probabilities are left as they are."""
        return not self.models

    def apply(self, raw: ArrayLike) -> FloatArray:
        """Calibrated probabilities, in the shape of ``raw``; multiclass rows sum to 1.

        Examples
        --------
        >>> Calibrator().apply([0.2, 0.7]).tolist()
        [0.2, 0.7]
        """
        values = np.asarray(raw, dtype=np.float64)
        if self.identity:
            return values
        scores = _columns(values)
        out = np.column_stack([m.predict(scores[:, c]) for c, m in enumerate(self.models)])
        if out.shape[1] > 1:
            totals = out.sum(axis=1, keepdims=True)
            # A row every calibrator put at 0 keeps its raw probabilities.
            out = np.where(totals > 0, out / np.where(totals > 0, totals, 1.0), scores)
        return out.reshape(values.shape)


def _columns(values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(-1, 1) if array.ndim == 1 else array


@dataclass(frozen=True)
class Calibration:
    """What :func:`choose_calibration` decided, and why.

    Attributes
    ----------
    calibrator
        The map to apply to every window's probabilities.
    reason
        Why the scores are (or are not) recalibrated, in words.
    raw_error, calibrated_error
        Mean held-out expected calibration error of the raw and recalibrated scores,
        when the folds were compared.
    """

    calibrator: Calibrator
    reason: str
    raw_error: float | None = None
    calibrated_error: float | None = None

    @property
    def calibrated(self) -> bool:
        """Whether the probabilities are recalibrated."""
        return not self.calibrator.identity


def _mean_error(actual: FloatArray, probability: FloatArray) -> float:
    return float(
        np.mean(
            [expected_calibration_error(actual[:, c], probability[:, c])
             for c in range(actual.shape[1])]
        )
    )  # fmt: skip


def choose_calibration(
    raw: ArrayLike, actual: ArrayLike, *, mode: CalibrationMode = "auto", seed: int = 0
) -> Calibration:
    """Decide whether to recalibrate, and fit the calibrator on all the rows if so.

    Parameters
    ----------
    raw
        Positive-class probabilities (``n``), or one column per class (``n x classes``).
    actual
        Whether each row is positive (``n``), or one 0/1 column per class.
    mode
        ``auto`` (when it helps on every held-out fold), ``always`` or ``never``.
    seed
        Seed of the stratified folds.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(4000)
    >>> y = rng.random(4000) < p
    >>> choose_calibration(p, y).calibrated            # calibrated already
    False
    >>> choose_calibration(p**3, y).calibrated         # far too low
    True
    """
    scores, labels = _columns(raw), _columns(actual)
    if mode == "never":
        return Calibration(Calibrator(), "recalibration is off")
    strata = labels[:, 0] if labels.shape[1] == 1 else np.argmax(labels, axis=1)
    counts = np.unique(strata, return_counts=True)[1]
    if counts.size < 2:
        return Calibration(Calibrator(), "the reference has a single class: nothing to calibrate")
    if mode == "always":
        return Calibration(Calibrator.fit(scores, labels), "recalibration is always on")
    aucs = [roc_auc(labels[:, c] > 0, scores[:, c]) for c in range(scores.shape[1])]
    if all(a > SEPARABLE_AUC for a in aucs if not np.isnan(a)):
        return Calibration(Calibrator(), "the scores separate the classes (ROC AUC > 0.999)")
    folds = min(FOLDS, int(counts.min()))
    if folds < 2:
        return Calibration(Calibrator(), "a class has a single row: calibration not tested")
    from sklearn.model_selection import StratifiedKFold

    raw_errors, calibrated_errors = [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, held in splitter.split(scores, strata):
        fitted = Calibrator.fit(scores[train], labels[train])
        raw_errors.append(_mean_error(labels[held], scores[held]))
        calibrated_errors.append(_mean_error(labels[held], _columns(fitted.apply(scores[held]))))
    raw_error, calibrated_error = float(np.mean(raw_errors)), float(np.mean(calibrated_errors))
    helps = all(c < r for c, r in zip(calibrated_errors, raw_errors, strict=True))
    summary = f"held-out calibration error {raw_error:.4f} raw, {calibrated_error:.4f} recalibrated"
    if not helps:
        return Calibration(
            Calibrator(), f"recalibration does not help ({summary})", raw_error, calibrated_error
        )
    return Calibration(
        Calibrator.fit(scores, labels), f"recalibrated ({summary})", raw_error, calibrated_error
    )
