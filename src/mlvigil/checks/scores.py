"""What a classifier's scores mean, and whether the data agrees with what was declared.

ROC AUC and log loss need the probability of each class. Models report one of:

- ``positive_probability`` (the default): one column, the probability of the positive
  class, as scikit-learn's ``predict_proba(X)[:, 1]`` gives;
- ``confidence``: one column, the probability of the *predicted* class (binary models);
- one probability column per class (the schema's ``probabilities``), for multiclass
  models, as ``predict_proba(X)`` gives.

Declared semantics that the data contradicts give wrong figures without a sign (a
positive-class probability read as a confidence turns a 0.97 ROC AUC into 0.5), so
:func:`score_contradiction` checks the scores against the predictions: a confidence
of a binary model is never below 0.5, and a positive-class probability ranks the rows
predicted positive above the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlvigil.checks.metrics import roc_auc

__all__ = [
    "SCORE_SEMANTICS",
    "ScoreSemantics",
    "positive_probability",
    "probability_contradiction",
    "score_contradiction",
]

ScoreSemantics = Literal["positive_probability", "confidence"]
SCORE_SEMANTICS: tuple[ScoreSemantics, ...] = ("positive_probability", "confidence")

#: Share of rows that may break a rule (rounding, a hand-set threshold) before the
#: scores count as contradicting their declared meaning.
TOLERATED_SHARE = 0.01

#: A positive-class probability decides the prediction through a threshold, so it
#: separates the rows predicted positive from the others almost perfectly (AUC 1).
MIN_SEPARATION = 0.9

#: Rows of each predicted class needed before the separation says anything.
MIN_ROWS_PER_CLASS = 10

FloatArray = npt.NDArray[np.float64]


def positive_probability(
    semantics: ScoreSemantics, scores: Sequence[float] | FloatArray, predicted_positive: Any
) -> FloatArray:
    """The positive-class probability from scores of the declared semantics.

    Examples
    --------
    >>> positive_probability("confidence", [0.9, 0.7], np.array([True, False])).tolist()
    [0.9, 0.30000000000000004]
    """
    values = np.asarray(scores, dtype=np.float64)
    if semantics == "positive_probability":
        return values
    return np.where(np.asarray(predicted_positive, dtype=bool), values, 1.0 - values)


def _share(mask: npt.NDArray[np.bool_]) -> float:
    return float(mask.mean()) if mask.size else 0.0


def score_contradiction(
    semantics: ScoreSemantics,
    scores: Sequence[float] | FloatArray,
    predicted_positive: Sequence[bool] | npt.NDArray[np.bool_],
) -> str | None:
    """Why one binary score column cannot mean what ``semantics`` says, or ``None``.

    Parameters
    ----------
    semantics
        The declared meaning.
    scores
        The score of each row (finite).
    predicted_positive
        Whether each row was predicted to be the positive class.

    Examples
    --------
    >>> score_contradiction("confidence", [0.2, 0.9, 0.4, 0.1], [False, True, False, False])
    '75% of the scores are below 0.5, impossible for the confidence in the predicted class ...'
    >>> score_contradiction("confidence", [0.8, 0.9, 0.6], [False, True, False]) is None
    True
    """
    values = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(predicted_positive, dtype=bool)
    if semantics == "confidence":
        below = _share(values < 0.5 - 1e-9)
        if below > TOLERATED_SHARE:
            return (
                f"{below:.0%} of the scores are below 0.5, impossible for the confidence in the "
                "predicted class of a binary model: they look like positive-class "
                "probabilities; set score_is: positive_probability"
            )
        return None
    if min(int(positive.sum()), int((~positive).sum())) < MIN_ROWS_PER_CLASS:
        return None  # too few rows of one predicted class to judge
    separation = roc_auc(positive, values)
    if separation >= MIN_SEPARATION:
        return None
    if separation <= 1 - MIN_SEPARATION:
        return (
            f"the scores rank the predictions backwards (separation AUC {separation:.2f}): they "
            "look like the probability of the other class; check positive_label"
        )
    return (
        f"the scores do not decide the predictions as a positive-class probability does "
        f"(rows predicted positive are not the high scores: separation AUC {separation:.2f}); "
        "they look like the confidence in the predicted class: set score_is: confidence"
    )


def probability_contradiction(
    probabilities: Mapping[Any, Sequence[float] | FloatArray], y_pred: Sequence[Any]
) -> str | None:
    """Why per-class probability columns are not probabilities of the predictions.

    Each row's probabilities sum to 1, and the predicted class is the most probable one
    (up to :data:`TOLERATED_SHARE` of the rows); otherwise the columns are misnamed or
    are not probabilities.

    Examples
    --------
    >>> probability_contradiction({"a": [0.9, 0.2], "b": [0.1, 0.8]}, ["a", "b"]) is None
    True
    >>> probability_contradiction({"a": [0.9, 0.2], "b": [0.1, 0.8]}, ["b", "a"])
    'the predicted class is not the most probable one in 100% of the rows: ...'
    """
    labels = list(probabilities)
    matrix = np.column_stack([np.asarray(probabilities[c], dtype=np.float64) for c in labels])
    off = _share(np.abs(matrix.sum(axis=1) - 1.0) > 1e-3)
    if off > TOLERATED_SHARE:
        return (
            f"the class probabilities of {off:.0%} of the rows do not sum to 1: give one "
            "probability column per class, as predict_proba returns them"
        )
    most_probable = np.asarray(labels, dtype=object)[np.argmax(matrix, axis=1)]
    wrong = _share(most_probable != np.asarray(y_pred, dtype=object))
    if wrong > TOLERATED_SHARE:
        return (
            f"the predicted class is not the most probable one in {wrong:.0%} of the rows: "
            "are the probability columns assigned to the right classes?"
        )
    return None
