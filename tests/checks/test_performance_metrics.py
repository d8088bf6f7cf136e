"""Performance metrics agree with scikit-learn and judge degradation against a baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as sk

from mlvigil.checks.performance import (
    PerformanceConfig,
    classification_metrics,
    performance_results,
    regression_metrics,
)
from mlvigil.exceptions import ConfigError, InputError


@pytest.mark.parametrize("seed", range(5))
def test_classification_metrics_agree_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=500)
    score = np.clip(y_true * 0.3 + rng.random(500) * 0.7, 0, 1).round(2)  # ties on purpose
    y_pred = (score > 0.5).astype(int)
    ours = classification_metrics(y_true, y_pred, y_score=score)
    assert ours["accuracy"] == pytest.approx(sk.accuracy_score(y_true, y_pred))
    assert ours["precision"] == pytest.approx(sk.precision_score(y_true, y_pred, zero_division=0))
    assert ours["recall"] == pytest.approx(sk.recall_score(y_true, y_pred))
    assert ours["f1"] == pytest.approx(sk.f1_score(y_true, y_pred))
    assert ours["roc_auc"] == pytest.approx(sk.roc_auc_score(y_true, score))
    assert ours["log_loss"] == pytest.approx(sk.log_loss(y_true, score), rel=1e-9)


def test_string_labels_use_the_configured_positive_class():
    ours = classification_metrics(
        ["fraud", "ok", "ok"], ["fraud", "fraud", "ok"], positive_label="fraud"
    )
    assert ours["precision"] == 0.5
    assert ours["recall"] == 1.0


def test_roc_auc_is_undefined_with_one_class():
    assert math.isnan(classification_metrics([1, 1], [1, 0], y_score=[0.9, 0.1])["roc_auc"])


@pytest.mark.parametrize("seed", range(3))
def test_regression_metrics_agree_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(10, 3, size=300)
    y_pred = y_true + rng.normal(0, 1, size=300)
    ours = regression_metrics(y_true, y_pred)
    assert ours["mae"] == pytest.approx(sk.mean_absolute_error(y_true, y_pred))
    assert ours["rmse"] == pytest.approx(math.sqrt(sk.mean_squared_error(y_true, y_pred)))
    assert ours["mape"] == pytest.approx(sk.mean_absolute_percentage_error(y_true, y_pred))
    assert ours["r2"] == pytest.approx(sk.r2_score(y_true, y_pred))


def test_no_labels_is_an_input_error():
    with pytest.raises(InputError, match="no labelled predictions"):
        classification_metrics([], [])


def test_degradation_beyond_the_allowance_fails_in_the_metrics_direction():
    config = PerformanceConfig(
        task="regression",
        metrics=("mae", "r2"),
        baseline={"mae": 1.0, "r2": 0.9},
        max_degradation=0.05,
        min_labels=1,
    )
    results = {
        r.metric: r
        for r in performance_results(config, [1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5], rows=4)
    }
    assert results["mae"].value == 0.5
    assert results["mae"].passed  # lower is better: 0.5 beats 1.0
    assert results["r2"].value == pytest.approx(0.8)
    assert not results["r2"].passed  # 0.8 < 0.9 - 0.05
    assert results["label_coverage"].value == 1.0


def test_too_few_labels_gives_errors_not_verdicts():
    config = PerformanceConfig(metrics=("accuracy",), min_labels=10)
    results = performance_results(config, [1, 0], [1, 1], rows=100)
    assert [(r.metric, r.status.value) for r in results] == [
        ("label_coverage", "passed"),
        ("accuracy", "error"),
    ]
    assert results[0].value == 0.02


def test_unknown_metrics_are_refused():
    with pytest.raises(ConfigError, match="unknown regression metric"):
        PerformanceConfig(task="regression", metrics=("accuracy",))
