"""Comparing two versions: the performance results' own values, sure intervals, clear refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.stats import chi2_contingency
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, roc_auc_score
from sklearn.model_selection import train_test_split

from mlvigil.checks.performance import PerformanceConfig, measure
from mlvigil.checks.result import CheckKind, CheckStatus
from mlvigil.experiments import (
    Arm,
    ComparisonConfig,
    Guard,
    Labelled,
    Outcome,
    Verdict,
    compare_arms,
    judge_canary,
)
from mlvigil.experiments.bootstrap import auc_replicates, generator
from mlvigil.experiments.labelled import labelled_differences

CLASSIFICATION = PerformanceConfig(
    metrics=("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"), positive_label="1"
)


def _text(values: Any) -> list[str]:
    return [str(int(v)) for v in values]


@pytest.fixture(scope="module")
def two_models() -> tuple[Labelled, Labelled, dict[str, Any]]:
    """Two classifiers of the breast cancer data, each scoring its own half of the test rows."""
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.6, random_state=0)
    good = LogisticRegression(max_iter=5000).fit(x_train, y_train)
    weak = LogisticRegression(max_iter=5000).fit(x_train[:, :2], y_train)  # two features
    half = len(y_test) // 2
    sides, truth = [], {}
    for name, model, rows in (("v1", good, slice(None, half)), ("v2", weak, slice(half, None))):
        features = x_test[rows] if model is good else x_test[rows][:, :2]
        score = model.predict_proba(features)[:, 1]
        predicted = model.predict(features)
        sides.append(Labelled(_text(y_test[rows]), _text(predicted), score=list(score)))
        truth[name] = (y_test[rows], predicted, score)
    return sides[0], sides[1], truth


def test_differences_are_of_the_values_the_performance_check_reports(
    two_models: tuple[Labelled, Labelled, dict[str, Any]],
) -> None:
    base, cand, _ = two_models
    found, problems = labelled_differences(CLASSIFICATION, base, cand)
    assert problems == {}
    for side, attribute in ((base, "baseline"), (cand, "candidate")):
        measured = measure(CLASSIFICATION, side.truth, side.predicted, y_score=side.score)
        for metric, value in measured.values.items():
            assert getattr(found[metric], attribute) == pytest.approx(value, rel=1e-12)


def test_differences_agree_with_scikit_learn(
    two_models: tuple[Labelled, Labelled, dict[str, Any]],
) -> None:
    base, cand, truth = two_models
    found, _ = labelled_differences(CLASSIFICATION, base, cand)
    (y_b, p_b, s_b), (y_c, p_c, s_c) = truth["v1"], truth["v2"]
    assert found["accuracy"].difference == pytest.approx(
        accuracy_score(y_c, p_c) - accuracy_score(y_b, p_b)
    )
    assert found["f1"].difference == pytest.approx(f1_score(y_c, p_c) - f1_score(y_b, p_b))
    assert found["roc_auc"].difference == pytest.approx(
        roc_auc_score(y_c, s_c) - roc_auc_score(y_b, s_b)
    )
    # The two-feature model is worse, surely, on the threshold-free metric.
    assert found["roc_auc"].high < 0


def _delong_error(positive: np.ndarray, score: np.ndarray) -> float:
    """DeLong's standard error of one ROC AUC (placement values)."""
    from scipy.stats import rankdata

    pos, neg = score[positive], score[~positive]
    both = rankdata(np.r_[pos, neg])
    above = (both[: pos.size] - rankdata(pos)) / neg.size
    below = 1 - (both[pos.size :] - rankdata(neg)) / pos.size
    return float(np.sqrt(above.var(ddof=1) / pos.size + below.var(ddof=1) / neg.size))


@pytest.mark.parametrize("rows", [400, 50_000])  # exact bins, then quantile bins
def test_auc_bootstrap_spread_matches_delongs_standard_error(rows: int) -> None:
    rng = np.random.default_rng(7)
    positive = rng.random(rows) < 0.3
    score = positive + rng.normal(0, 1.2, rows)
    if rows < 1000:
        score = np.round(score, 1)  # ties, counted half
    replicated = auc_replicates(positive, score, 400, generator(0, "roc_auc"))
    assert float(replicated.std(ddof=1)) == pytest.approx(_delong_error(positive, score), rel=0.12)
    assert float(replicated.mean()) == pytest.approx(roc_auc_score(positive, score), abs=0.01)


def test_same_input_same_output(two_models: tuple[Labelled, Labelled, dict[str, Any]]) -> None:
    base, cand, _ = two_models
    first, _ = labelled_differences(CLASSIFICATION, base, cand, seed=3)
    again, _ = labelled_differences(CLASSIFICATION, base, cand, seed=3)
    alone, _ = labelled_differences(
        PerformanceConfig(metrics=("roc_auc",), positive_label="1"), base, cand, seed=3
    )
    assert first == again
    assert alone["roc_auc"] == first["roc_auc"]  # a metric's replicates are its own


def test_labels_sharing_no_value_with_predictions_are_an_error_result_not_a_difference() -> None:
    base = Labelled(["1.0", "0.0"] * 50, ["1", "0"] * 50)  # labels compared as text
    cand = Labelled(["1", "0"] * 50, ["1", "0"] * 50)
    config = ComparisonConfig(
        performance=PerformanceConfig(metrics=("accuracy",), positive_label="1")
    )
    comparison = compare_arms(config, Arm("v1", 100, base), Arm("v2", 100, cand))
    [result] = [r for r in comparison.results() if r.metric == "accuracy_difference"]
    assert result.status is CheckStatus.ERROR
    assert result.value is None
    assert "baseline: the labels share no value with the predictions" in result.message


def test_a_surely_worse_candidate_fails_and_a_close_one_passes() -> None:
    truth = ["1", "0"] * 2000
    config = ComparisonConfig(performance=PerformanceConfig(metrics=("accuracy",)))
    base = Labelled(truth, truth[:3600] + ["0", "1"] * 200)  # 90% right
    worse = Labelled(truth, truth[:3200] + ["0", "1"] * 400)  # 80%
    close = Labelled(truth, truth[:3596] + ["0", "1"] * 202)  # 89.9%
    results = {}
    for name, cand in (("worse", worse), ("close", close)):
        comparison = compare_arms(config, Arm("v1", 4000, base), Arm("v2", 4000, cand))
        [results[name]] = [r for r in comparison.results() if r.metric == "accuracy_difference"]
    assert results["worse"].status is CheckStatus.FAILED
    assert results["worse"].value == pytest.approx(-0.1)
    assert results["close"].status is CheckStatus.PASSED
    assert results["worse"].check is CheckKind.COMPARISON
    assert results["worse"].details["candidate_version"] == "v2"


def test_regression_differences_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(8)
    truth = rng.normal(100, 10, (2, 3000))
    predicted = truth + rng.normal(0, [[3.0], [4.0]], (2, 3000))
    config = PerformanceConfig(task="regression", metrics=("mae", "mse", "rmse", "r2"))
    sides = [Labelled(list(t), list(p)) for t, p in zip(truth, predicted, strict=True)]
    found, problems = labelled_differences(config, sides[0], sides[1])
    assert found["mae"].difference == pytest.approx(
        mean_absolute_error(truth[1], predicted[1]) - mean_absolute_error(truth[0], predicted[0])
    )
    assert found["rmse"].low > 0  # the second model's errors are surely larger
    assert found["mse"].p_increase < 1e-6
    assert "compare mse" in problems["r2"]


def test_business_outcomes_compare_rates_and_means() -> None:
    rng = np.random.default_rng(9)
    outcomes = {"converted": Outcome("rate"), "refund": Outcome("mean", higher_is_better=False)}
    config = ComparisonConfig(outcomes=outcomes, latency_quantiles=())
    base = Arm(
        "v1",
        5000,
        outcomes={"converted": rng.random(5000) < 0.10, "refund": rng.exponential(2.0, 5000)},
    )
    cand = Arm(
        "v2",
        5000,
        outcomes={"converted": rng.random(5000) < 0.13, "refund": rng.exponential(2.6, 5000)},
    )
    comparison = compare_arms(config, base, cand)
    assert comparison.differences["converted_rate"].low > 0
    assert not comparison.worse("converted_rate")  # more conversions are better
    assert comparison.worse("refund_mean")  # more refunds are not
    assert comparison.differences["refund_mean"].method == "Welch's t test"


def test_a_rate_outcome_holding_other_values_is_refused() -> None:
    config = ComparisonConfig(outcomes={"clicked": Outcome("rate")}, latency_quantiles=())
    base = Arm("v1", 100, outcomes={"clicked": [0.0, 1.0, 2.0] * 40})
    cand = Arm("v2", 100, outcomes={"clicked": [0.0, 1.0] * 60})
    comparison = compare_arms(config, base, cand)
    assert "0 and 1 only" in comparison.problems["clicked_rate"]


def test_too_few_rows_are_reported_with_the_counts() -> None:
    config = ComparisonConfig(latency_quantiles=(0.99,), min_rows=30)
    comparison = compare_arms(
        config, Arm("v1", 10, latency_ms=np.ones(10)), Arm("v2", 100, latency_ms=np.ones(100))
    )
    assert comparison.problems["latency_p99_ms"] == (
        "10 values on a side, 30 needed (baseline 10, candidate 100)"
    )


def test_what_neither_version_sends_gives_no_result_and_a_guard_on_it_is_inconclusive() -> None:
    config = ComparisonConfig(outcomes={"converted": Outcome("rate")}, latency_quantiles=(0.99,))
    nothing = np.full(200, np.nan)  # no latency sent, outcomes not known yet
    base = Arm("v1", 200, latency_ms=nothing, outcomes={"converted": nothing})
    cand = Arm("v2", 200, outcomes={"converted": nothing})
    comparison = compare_arms(config, base, cand)
    assert comparison.unmeasured == {"latency_p99_ms", "converted_rate", "error_rate"}
    assert comparison.results() == []  # no error every window for what nobody sends
    verdict = judge_canary(comparison, [Guard("latency_p99_ms", 10.0, min_rows=50)])
    assert verdict.verdict is Verdict.INCONCLUSIVE
    assert "no values in either version's records" in verdict.result().message
    one_side = compare_arms(config, Arm("v1", 200, latency_ms=np.ones(200)), cand)
    assert "0 values on a side" in one_side.problems["latency_p99_ms"]  # this one is odd


def test_the_error_rate_difference_is_a_two_proportion_test_and_more_errors_are_worse() -> None:
    rng = np.random.default_rng(4)
    base = Arm("v1", 4000, errors=(rng.random(4000) < 0.01).astype(float))
    cand = Arm("v2", 4000, errors=(rng.random(4000) < 0.03).astype(float))
    comparison = compare_arms(ComparisonConfig(latency_quantiles=()), base, cand)
    d = comparison.differences["error_rate"]
    table = [[int(np.sum(a.errors)), 4000 - int(np.sum(a.errors))] for a in (base, cand)]
    assert d.p_value == pytest.approx(chi2_contingency(table, correction=False).pvalue, rel=1e-6)
    assert comparison.worse("error_rate")
    verdict = judge_canary(comparison, [Guard("error_rate", 0.0, min_rows=100)])
    assert verdict.verdict is Verdict.FAIL


def test_prediction_drift_between_versions_is_a_two_sample_test() -> None:
    rng = np.random.default_rng(10)
    config = ComparisonConfig(latency_quantiles=(), categorical_predictions=False)
    same = compare_arms(
        config,
        Arm("v1", 2000, predictions=rng.normal(0, 1, 2000)),
        Arm("v2", 2000, predictions=rng.normal(0, 1, 2000)),
    )
    moved = compare_arms(
        config,
        Arm("v1", 2000, predictions=rng.normal(0, 1, 2000)),
        Arm("v2", 2000, predictions=rng.normal(0.3, 1, 2000)),
    )
    assert same.prediction_drift is not None
    assert moved.prediction_drift is not None
    assert not same.prediction_drift.drifted
    assert moved.prediction_drift.drifted
    [result] = [r for r in moved.results() if r.metric == "prediction_drift"]
    assert result.status is CheckStatus.FAILED
