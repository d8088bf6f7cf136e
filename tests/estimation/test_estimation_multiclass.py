"""Multiclass estimation with a real scikit-learn model on load_wine (string classes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split

from mlvigil.checks.result import CheckStatus
from mlvigil.estimation import EstimationConfig, PerformanceEstimator
from mlvigil.exceptions import ConfigError

PROBABILITIES = {"class_0": "p0", "class_1": "p1", "class_2": "p2"}


@pytest.fixture(scope="module")
def wine() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = load_wine()
    names = np.asarray(data.target_names)
    x_train, x_rest, y_train, y_rest = train_test_split(
        data.data, data.target, train_size=50, stratify=data.target, random_state=0
    )
    # Lightly regularised on raw features: a real, imperfect, not perfectly calibrated model.
    model = LogisticRegression(C=0.01, max_iter=5000).fit(x_train, y_train)
    x_ref, x_cur, y_ref, y_cur = train_test_split(
        x_rest, y_rest, train_size=64, stratify=y_rest, random_state=0
    )

    def frame(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
        proba = model.predict_proba(x)
        return pd.DataFrame(
            {
                "label": pd.array(names[y], dtype="str"),
                "prediction": pd.Categorical(names[model.predict(x)]),
                **{column: proba[:, i] for i, column in enumerate(PROBABILITIES.values())},
            }
        )

    return frame(x_ref, y_ref), frame(x_cur, y_cur)


def test_multiclass_estimates_agree_with_realized_within_sampling_error(
    wine: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    reference, current = wine
    config = EstimationConfig(probabilities=PROBABILITIES, min_rows=20, min_labels=20)
    estimator = PerformanceEstimator.fit(reference, config)
    results = {r.metric: r for r in estimator.estimate(current, labels="label")}
    assert set(results) == {"accuracy", "precision", "recall", "f1", "specificity", "roc_auc"}
    for result in results.values():
        assert result.status is CheckStatus.PASSED, result.message
        details = result.details
        assert abs(result.value - details.realized) <= 3 * details.standard_error, result.message
    y, predicted = current["label"].to_numpy(), current["prediction"].astype(str).to_numpy()
    proba = current[list(PROBABILITIES.values())].to_numpy()
    assert results["accuracy"].details.realized == pytest.approx(accuracy_score(y, predicted))
    assert results["f1"].details.realized == pytest.approx(f1_score(y, predicted, average="macro"))
    assert results["roc_auc"].details.realized == pytest.approx(
        roc_auc_score(y, proba, multi_class="ovr", labels=list(PROBABILITIES))
    )


def test_multiclass_without_probability_columns_is_a_config_error(
    wine: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    with pytest.raises(ConfigError, match="one probability column per class"):
        PerformanceEstimator.fit(wine[0], EstimationConfig())


def test_probability_columns_assigned_to_the_wrong_classes_give_error_results(
    wine: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    reference, current = wine
    config = EstimationConfig(probabilities=PROBABILITIES, min_rows=20)
    estimator = PerformanceEstimator.fit(reference, config)
    swapped = current.rename(columns={"p0": "p1", "p1": "p0"})
    [result, *_] = estimator.estimate(swapped)
    assert result.status is CheckStatus.ERROR
    assert "most probable" in result.message
