"""Confidence-based estimates: expected confusion matrix and ROC curve, by hand and vs sklearn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from mlvigil.estimation.confidence import (
    binary_estimates,
    confusion_metrics,
    expected_confusion,
    expected_roc_auc,
    multiclass_estimates,
)


def test_expected_confusion_adds_each_probability_to_its_cells() -> None:
    # predicted positive: TP += p, FP += 1 - p; predicted negative: FN += p, TN += 1 - p
    p = [0.9, 0.6, 0.3, 0.2, 0.05]
    predicted = [True, True, True, False, False]
    tp, fp, fn, tn = expected_confusion(p, predicted)
    assert (tp, fp, fn, tn) == pytest.approx((1.8, 1.2, 0.25, 1.75), abs=1e-12)
    assert tp + fp + fn + tn == pytest.approx(len(p))


def test_confusion_metrics_of_a_hand_matrix() -> None:
    m = confusion_metrics(tp=1.8, fp=1.2, fn=0.25, tn=1.75)
    assert m["accuracy"] == pytest.approx(3.55 / 5)
    assert m["precision"] == pytest.approx(1.8 / 3.0)
    assert m["recall"] == pytest.approx(1.8 / 2.05)
    assert m["specificity"] == pytest.approx(1.75 / 2.95)
    assert m["f1"] == pytest.approx(2 * 1.8 / (2 * 1.8 + 1.2 + 0.25))


def test_empty_denominators_give_zero_as_scikit_learn_does() -> None:
    m = confusion_metrics(tp=0.0, fp=0.0, fn=2.0, tn=3.0)
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)


def test_with_labels_as_probabilities_the_estimates_are_the_realized_metrics() -> None:
    rng = np.random.default_rng(5)
    y = rng.random(500) < 0.4
    score = np.round(rng.random(500), 1)  # coarse: many ties
    predicted = score > 0.45
    m = binary_estimates(y.astype(float), score, predicted)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert m["precision"] == pytest.approx(precision_score(y, predicted))
    assert m["recall"] == pytest.approx(recall_score(y, predicted))
    assert m["f1"] == pytest.approx(f1_score(y, predicted))
    assert m["specificity"] == pytest.approx(recall_score(~y, ~predicted))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_tied_scores_count_half_on_the_expected_curve() -> None:
    assert expected_roc_auc([1.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)
    assert expected_roc_auc([1.0, 0.0], [0.2, 0.9]) == 0.0


def test_expected_auc_is_undefined_without_an_expected_negative() -> None:
    assert math.isnan(expected_roc_auc([1.0, 1.0], [0.3, 0.4]))
    assert math.isnan(expected_roc_auc([], []))


def test_expected_auc_of_calibrated_probabilities_is_near_the_realized_auc() -> None:
    rng = np.random.default_rng(11)
    p = rng.beta(2, 2, 200_000)
    y = rng.random(p.size) < p
    assert expected_roc_auc(p, p) == pytest.approx(roc_auc_score(y, p), abs=0.003)


def test_multiclass_with_labels_as_probabilities_matches_scikit_learn() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 400)
    raw = rng.dirichlet([1.0, 1.0, 1.0], 400)
    predicted = np.argmax(raw, axis=1)
    onehot = np.eye(3)[y]
    m = multiclass_estimates(onehot, raw, predicted)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert m["precision"] == pytest.approx(precision_score(y, predicted, average="macro"))
    assert m["recall"] == pytest.approx(recall_score(y, predicted, average="macro"))
    assert m["f1"] == pytest.approx(f1_score(y, predicted, average="macro"))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, raw, multi_class="ovr"))


def test_multiclass_accuracy_is_the_mean_probability_of_the_predicted_class() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    m = multiclass_estimates(p, p, [0, 2, 2])
    assert m["accuracy"] == pytest.approx((0.7 + 0.3 + 0.4) / 3)
