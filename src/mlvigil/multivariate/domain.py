"""Domain classifier: how well a model tells a window's rows from the reference's.

Reference rows are labelled 0 and window rows 1, and scikit-learn's
``HistGradientBoostingClassifier`` is trained with stratified k-fold cross-validation
(seeded); the score is the ROC AUC of the pooled out-of-fold predictions. 0.5 means the
two are indistinguishable; any change of the joint distribution a tree model can see
(shifts, new relations between columns) raises it.

**Cost.** Each side is subsampled (seeded) to at most ``max_rows`` rows, the reference
to no more rows than the window, and the classifier is small (:data:`ITERATIONS`
trees of at most :data:`LEAVES` leaves, no early stopping, so results do not depend on
an inner split). It runs on ``threads`` OpenMP threads, 1 by default: on a 2-core
machine shared with other work, 2 threads took 0.5-9 s for what 1 thread did in
0.11-0.35 s (OpenMP's threads wait for each other at every step, and a busy core
stalls them all), and on an idle machine 2 threads gained little at these sizes.

**Threshold.** Under no difference the AUC of a fixed scorer on ``n1`` and ``n2`` rows
has the Mann–Whitney standard error ``sqrt((n1 + n2 + 1) / (12 n1 n2))``. Cross-
validated AUCs can spread more, because the folds' models share training rows: on
same-distribution samples (500 to 5,000 rows a side, 2 to 64 columns, 30 to 40 draws
each) their spread was 1.0-1.4 times that error, and 0.94 times over 40 windows of
5,000 rows in ``bench/multivariate.py``. A window drifts above ``0.5 + 4 × error``
(:data:`NULL_SIGMAS`), at least 2.8 of the largest measured spreads: false alarms
under 1 in 300 windows (0 of 40 in the benchmark), where learned limits would need a
classifier per reference chunk (30 times a window's cost) to estimate the same spread
less precisely.

**Importances.** Per original column, the AUC lost when that column's values (all the
dimensions of an embedding together) are shuffled among the held-out rows of each fold
and the fold's model predicts again (grouped permutation importance on held-out data),
clipped at 0, largest first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

__all__ = [
    "ITERATIONS",
    "LEARNING_RATE",
    "LEAVES",
    "NULL_SIGMAS",
    "DomainResult",
    "domain_classifier",
    "auc_standard_error",
    "null_standard_error",
    "roc_auc",
]

#: Boosting iterations, leaves per tree and learning rate: on 5,000-row windows as
#: sensitive as 30 trees of 15 leaves at a rate of 0.1, in two thirds of the time.
ITERATIONS = 20
LEAVES = 7
LEARNING_RATE = 0.2
#: Null standard errors between 0.5 and the threshold (see the module docstring).
NULL_SIGMAS = 4.0


def null_standard_error(rows: int, reference_rows: int) -> float:
    """Standard error of an AUC on these rows when both sides are alike (Mann–Whitney).

    Examples
    --------
    >>> round(null_standard_error(5000, 5000), 5)
    0.00577
    """
    return math.sqrt((rows + reference_rows + 1) / (12.0 * rows * reference_rows))


def auc_standard_error(auc: float, rows: int, reference_rows: int) -> float:
    """Standard error of an observed AUC (Hanley & McNeil, 1982); the null one at 0.5.

    Examples
    --------
    >>> round(auc_standard_error(0.5, 5000, 5000), 5), round(auc_standard_error(0.8, 5000, 5000), 5)
    (0.00577, 0.00442)
    """
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc**2 / (1.0 + auc)
    variance = (
        auc * (1.0 - auc) + (rows - 1) * (q1 - auc**2) + (reference_rows - 1) * (q2 - auc**2)
    ) / (rows * reference_rows)
    return math.sqrt(max(variance, 0.0))


@dataclass(frozen=True)
class DomainResult:
    """A domain classifier's verdict on one window.

    Attributes
    ----------
    auc
        ROC AUC of the pooled out-of-fold predictions.
    threshold
        ``0.5 + NULL_SIGMAS × null_error``.
    null_error
        The AUC's standard error under no difference (:func:`null_standard_error`).
    standard_error
        The observed AUC's standard error (:func:`auc_standard_error`).
    rows, reference_rows
        Rows of each side after subsampling.
    importances
        ``(column, AUC lost when it is shuffled)``, largest first.
    """

    auc: float
    threshold: float
    null_error: float
    standard_error: float
    rows: int
    reference_rows: int
    importances: tuple[tuple[str, float], ...]

    @property
    def drifted(self) -> bool:
        """Whether the AUC is above the threshold."""
        return self.auc > self.threshold


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of 0/1 labels by scores, ties counting one half (as scikit-learn's).

    The Mann–Whitney rank form: scikit-learn's ``roc_auc_score`` computes the same
    number with input checks that cost more than the AUC itself here.

    Examples
    --------
    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    positive = labels == 1
    ranks = rankdata(scores)
    ones = int(positive.sum())
    zeros = len(labels) - ones
    return float((ranks[positive].sum() - ones * (ones + 1) / 2.0) / (ones * zeros))


def _sample(matrix: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if len(matrix) <= size:
        return matrix
    return matrix[np.sort(rng.choice(len(matrix), size, replace=False))]


def domain_classifier(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    groups: Sequence[str],
    folds: int = 3,
    max_rows: int = 5_000,
    seed: int = 0,
    threads: int = 1,
) -> DomainResult:
    """Cross-validated AUC of a classifier telling ``current`` rows from ``reference`` rows.

    Parameters
    ----------
    reference, current
        Rows × features of each side (the same features).
    groups
        The original column of each feature; importances are per column.
    folds
        Stratified cross-validation folds.
    max_rows
        Rows of each side at most (seeded subsample); the reference gets no more rows
        than the window.
    seed
        Seed of the subsamples, the folds, the classifier and the shuffles.
    threads
        OpenMP threads of the classifier (the limit holds for the whole process
        while it runs).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(size=(1000, 2))
    >>> current = np.column_stack([rng.normal(size=500), rng.normal(1.0, 1.0, 500)])
    >>> result = domain_classifier(reference, current, groups=["a", "b"])
    >>> result.drifted, result.importances[0][0], result.reference_rows
    (True, 'b', 500)
    """
    # Imported here: scikit-learn costs a process ~85 MB, and most never train this.
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(seed)
    window = _sample(current, max_rows, rng)
    base = _sample(reference, min(max_rows, len(window)), rng)
    features = np.vstack([base, window])
    labels = np.r_[np.zeros(len(base)), np.ones(len(window))]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = np.empty(len(labels))
    names = list(dict.fromkeys(groups))
    members = {n: np.flatnonzero(np.asarray(groups) == n) for n in names}
    shuffled = {n: np.empty(len(labels)) for n in names}
    with threadpool_limits(limits=threads, user_api="openmp"):
        for train, test in splitter.split(features, labels):
            _fold(features, labels, train, test, seed, rng, members, scores, shuffled)
    auc = roc_auc(labels, scores)
    drops = {n: max(0.0, auc - float(roc_auc(labels, shuffled[n]))) for n in names}
    error = null_standard_error(len(window), len(base))
    return DomainResult(
        auc=auc,
        threshold=0.5 + NULL_SIGMAS * error,
        null_error=error,
        standard_error=auc_standard_error(auc, len(window), len(base)),
        rows=len(window),
        reference_rows=len(base),
        importances=tuple(sorted(drops.items(), key=lambda item: (-item[1], item[0]))),
    )


def _fold(
    features: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    seed: int,
    rng: np.random.Generator,
    members: dict[str, np.ndarray],
    scores: np.ndarray,
    shuffled: dict[str, np.ndarray],
) -> None:
    """Train on one fold, score its held-out rows, and again with each column shuffled."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=ITERATIONS,
        max_leaf_nodes=LEAVES,
        learning_rate=LEARNING_RATE,
        early_stopping=False,
        random_state=seed,
    )
    model.fit(features[train], labels[train])
    held = features[test]
    scores[test] = model.predict_proba(held)[:, 1]
    permuted = held[rng.permutation(len(test))]
    for name, columns in members.items():
        original = held[:, columns].copy()
        held[:, columns] = permuted[:, columns]  # shuffle one column, predict, restore
        shuffled[name][test] = model.predict_proba(held)[:, 1]
        held[:, columns] = original
