"""Classes as the reference fixes them, score semantics, and limits learned from chunks."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as sk

from mlvigil.checks.chunks import size_chunks
from mlvigil.checks.classes import ClassSet
from mlvigil.checks.drift import DriftConfig, detect_drift
from mlvigil.checks.limits import LearnedLimits
from mlvigil.checks.metrics import log_loss, multiclass_metrics
from mlvigil.checks.performance import PerformanceConfig, measure, performance_results
from mlvigil.checks.scores import score_contradiction
from mlvigil.checks.thresholds import (
    apply_drift_limits,
    learn_drift_limits,
    learn_performance_limits,
)
from mlvigil.io.conform import ConformError, conform_column
from mlvigil.schema import ColumnType

# -- classes --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1, 1.0, "1", True, np.int64(1), np.float32(1.0), "1.0"])
def test_every_spelling_of_one_is_the_class_one(value):
    classes = ClassSet.of_columns(pa.array([0.0, 1.0]))  # a pandas float target
    assert classes.classes == ("0", "1")
    assert classes.canonical(value) == "1"


def test_strings_stay_strings_and_booleans_map_onto_true_false_classes():
    assert ClassSet.of(["no", "yes"]).canonical("yes") == "yes"
    classes = ClassSet.of_columns(pa.array([True, False]))
    assert classes.map_column(pa.array([1, 0, None])).to_pylist() == ["true", "false", None]


def test_values_of_no_class_are_named():
    classes = ClassSet.of(["0", "1"])
    mapped = classes.map_column(pa.array(["yes", "1", "1.0", "2"])).to_pylist()
    assert mapped == ["yes", "1", "1", "2"]
    assert classes.unknown(mapped) == ["2", "yes"]


def test_a_category_column_of_floats_is_stored_as_integers_when_integral():
    column = conform_column(pa.array([1.0, 0.5, None, float("nan")]), ColumnType.CATEGORICAL)
    assert column.to_pylist() == ["1", "0.5", None, None]


def test_a_value_that_cannot_take_its_type_says_which():
    with pytest.raises(ConformError, match="cannot read 'abc' as a number"):
        conform_column(pa.array(["1.5", "abc"]), ColumnType.NUMERICAL)


# -- inputs that do not line up give errors, never a measured-looking zero --------------


def test_labels_sharing_no_value_with_predictions_are_an_error_not_an_accuracy_of_zero():
    config = PerformanceConfig(metrics=("accuracy", "f1"), min_labels=1)
    results = performance_results(config, ["1.0", "0.0"] * 20, ["1", "0"] * 20, rows=40)
    errors = {r.metric: r for r in results if r.metric != "label_coverage"}
    assert {r.status.value for r in errors.values()} == {"error"}
    assert all(r.value is None for r in errors.values())
    assert "share no value with the predictions" in errors["accuracy"].message
    assert errors["accuracy"].severity.value == "warning"  # alertable, unlike waiting


def test_labels_of_classes_the_reference_never_had_are_an_error():
    config = PerformanceConfig(metrics=("accuracy",), min_labels=1)
    classes = ClassSet.of(["0", "1"])
    results = performance_results(
        config, ["yes", "no", "1"], ["1", "0", "1"], classes=classes, rows=3
    )
    assert results[1].status.value == "error"
    assert "classes the reference never had: 'no', 'yes'" in results[1].message


def test_a_model_that_gets_every_known_class_wrong_fails_rather_than_errs():
    config = PerformanceConfig(metrics=("accuracy",), baseline={"accuracy": 0.9}, min_labels=1)
    classes = ClassSet.of(["0", "1"])
    results = performance_results(config, ["1"] * 40, ["0"] * 40, classes=classes, rows=40)
    assert (results[1].status.value, results[1].value) == ("failed", 0.0)


def test_waiting_for_labels_is_informational():
    results = performance_results(PerformanceConfig(min_labels=30), ["1"], ["1"], rows=10)
    assert {r.severity.value for r in results[1:]} == {"info"}


# -- score semantics --------------------------------------------------------------------


def _binary_model(rows: int = 2_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, rows)
    probability = np.clip(0.8 * truth + rng.normal(0.1, 0.2, rows), 0.001, 0.999)
    return truth, (probability >= 0.5).astype(int), probability


def test_positive_class_probabilities_are_the_default_and_agree_with_scikit_learn():
    truth, predicted, probability = _binary_model()
    config = PerformanceConfig(positive_label="1")
    measured = measure(
        config, truth.astype(str).tolist(), predicted.astype(str).tolist(), y_score=probability
    )
    assert measured.problems == {}
    assert measured.values["roc_auc"] == pytest.approx(
        sk.roc_auc_score(truth, probability), abs=1e-12
    )
    assert measured.values["log_loss"] == pytest.approx(sk.log_loss(truth, probability), abs=1e-12)


def test_positive_probabilities_declared_as_confidence_are_reported_not_scored():
    truth, predicted, probability = _binary_model()
    config = PerformanceConfig(positive_label="1", score_is="confidence")
    measured = measure(
        config, truth.astype(str).tolist(), predicted.astype(str).tolist(), y_score=probability
    )
    assert "roc_auc" not in measured.values
    assert "set score_is: positive_probability" in measured.problems["roc_auc"]
    assert measured.values["accuracy"] == pytest.approx(sk.accuracy_score(truth, predicted))


def test_confidences_declared_as_positive_probabilities_are_reported_not_scored():
    truth, predicted, probability = _binary_model()
    confidence = np.where(predicted == 1, probability, 1 - probability)
    reason = score_contradiction("positive_probability", confidence, predicted == 1)
    assert reason is not None
    assert "set score_is: confidence" in reason
    config = PerformanceConfig(positive_label="1", score_is="confidence")
    measured = measure(
        config, truth.astype(str).tolist(), predicted.astype(str).tolist(), y_score=confidence
    )
    assert measured.values["roc_auc"] == pytest.approx(sk.roc_auc_score(truth, probability))


def test_probabilities_of_the_other_class_are_caught():
    _, predicted, probability = _binary_model()
    reason = score_contradiction("positive_probability", 1 - probability, predicted == 1)
    assert reason is not None
    assert "check positive_label" in reason


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_metrics_agree_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    classes = np.array(["setosa", "versicolor", "virginica"])
    truth = rng.choice(classes, 600)
    logits = rng.normal(size=(600, 3)) + 2.0 * (truth[:, None] == classes[None, :])
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    predicted = classes[probabilities.argmax(axis=1)]
    ours = multiclass_metrics(
        truth, predicted, probabilities={c: probabilities[:, i] for i, c in enumerate(classes)}
    )
    assert ours["accuracy"] == pytest.approx(sk.accuracy_score(truth, predicted), abs=1e-12)
    for name in ("precision", "recall", "f1"):
        theirs = getattr(sk, f"{name}_score")(truth, predicted, average="macro", zero_division=0)
        assert ours[name] == pytest.approx(theirs, abs=1e-12)
    assert ours["roc_auc"] == pytest.approx(
        sk.roc_auc_score(truth, probabilities, multi_class="ovr", labels=classes), abs=1e-12
    )
    assert ours["log_loss"] == pytest.approx(
        sk.log_loss(truth, probabilities, labels=classes), abs=1e-12
    )


def test_log_loss_clips_certain_mistakes_as_scikit_learn_does():
    truth = np.array([1, 0, 1, 0])
    probability = np.array([0.0, 1.0, 1.0, 0.0])
    assert log_loss(truth == 1, probability) == pytest.approx(sk.log_loss(truth, probability))


def test_multiclass_probability_columns_assigned_to_the_wrong_classes_are_reported():
    config = PerformanceConfig(metrics=("accuracy", "roc_auc"), min_labels=1)
    truth = ["a", "b", "c"] * 20
    swapped = {"a": [0.1, 0.8, 0.1] * 20, "b": [0.8, 0.1, 0.1] * 20, "c": [0.1, 0.1, 0.8] * 20}
    measured = measure(config, truth, truth, probabilities=swapped)
    assert "assigned to the right classes" in measured.problems["roc_auc"]


# -- learned limits ---------------------------------------------------------------------


def test_learned_limits_are_the_mean_plus_minus_three_standard_deviations_clipped():
    limits = LearnedLimits.of([0.9, 0.95, 1.0, 0.97, 0.93, 0.99], chunk_rows=100, high=1.0)
    values = np.array([0.9, 0.95, 1.0, 0.97, 0.93, 0.99])
    assert limits.mean == pytest.approx(values.mean())
    assert limits.lower == pytest.approx(values.mean() - 3 * values.std(ddof=1))
    assert limits.upper == 1.0
    assert LearnedLimits.of([0.5], chunk_rows=100) is None  # one chunk has no spread
    assert "only 3 reference chunks" in (
        LearnedLimits.of([0.1, 0.2, 0.3], chunk_rows=10).note or ""
    )


def _normal(rows: int, seed: int, shift: float = 0.0) -> pa.Table:
    return pa.table({"x": np.random.default_rng(seed).normal(shift, 1.0, rows)})


def test_learned_drift_limits_compare_each_chunk_with_the_rest_of_the_reference():
    reference = _normal(10_000, 0)
    learned = learn_drift_limits(
        reference,
        size_chunks(10_000, 1_000),
        columns=["x"],
        schema={"x": ColumnType.NUMERICAL},
        config=DriftConfig(),
    )
    x = reference.column("x").to_numpy()
    by_hand = []
    for start in range(0, 10_000, 1_000):
        rest = np.concatenate([x[:start], x[start + 1_000 :]])
        report = detect_drift(pa.table({"x": rest}), pa.table({"x": x[start : start + 1_000]}))
        by_hand.append(report["x"].statistic)
    assert learned.methods == {"x": "ks"}
    assert learned.limits["x"].mean == pytest.approx(np.mean(by_hand), rel=1e-12)
    assert learned.limits["x"].upper == pytest.approx(
        np.mean(by_hand) + 3 * np.std(by_hand, ddof=1), rel=1e-12
    )


def test_a_window_beyond_the_learned_limit_drifts_and_says_so():
    reference = _normal(20_000, 1)
    learned = learn_drift_limits(
        reference,
        size_chunks(20_000, 2_000),
        columns=["x"],
        schema={"x": ColumnType.NUMERICAL},
        config=DriftConfig(),
    )
    window = _normal(2_000, 2, shift=0.08)  # a shift the fixed wasserstein 0.1 misses
    fixed = detect_drift(reference, window)
    assert fixed["x"].method == "wasserstein"
    assert not fixed["x"].drifted
    judged = apply_drift_limits(
        detect_drift(reference, window, config=learned.config(DriftConfig(), ["x"])), learned
    )
    assert judged["x"].method == "wasserstein"
    assert judged["x"].statistic == pytest.approx(fixed["x"].statistic)
    assert judged["x"].drifted
    assert judged["x"].threshold == learned.limits["x"].upper
    assert judged["x"].limits == learned.limits["x"]


def test_performance_limits_are_two_sided_and_an_improvement_is_reported_as_such():
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, 20_000).astype(str)
    flip = rng.random(20_000) < 0.15
    guess = np.where(flip, np.where(truth == "1", "0", "1"), truth)
    config = PerformanceConfig(metrics=("accuracy",), positive_label="1", min_labels=1)
    limits = learn_performance_limits(
        config,
        size_chunks(20_000, 1_000),
        lambda c: (
            truth[c.offset : c.offset + c.rows].tolist(),
            guess[c.offset : c.offset + c.rows].tolist(),
            {},
        ),
    )
    judged = PerformanceConfig(
        metrics=("accuracy",), positive_label="1", min_labels=1, limits=limits
    )
    worse = ["1"] * 800 + ["0"] * 200
    better = ["1"] * 990 + ["0"] * 10
    labels = ["1"] * 1_000
    (_, degraded) = performance_results(judged, labels, worse, rows=1_000)
    (_, improved) = performance_results(judged, labels, better, rows=1_000)
    assert (degraded.status.value, degraded.details["direction"]) == ("failed", "degraded")
    assert "worse than the reference" in degraded.message
    assert (improved.status.value, improved.details["direction"]) == ("passed", "improved")
    assert "better than the reference" in improved.message
    assert degraded.threshold == pytest.approx(limits["accuracy"].lower)


def test_tolerances_are_per_metric_in_each_metrics_own_units():
    config = PerformanceConfig(
        task="regression",
        metrics=("mae", "mape", "r2"),
        baseline={"mae": 100.0, "mape": 0.1, "r2": 0.8},
        max_degradation={"mae": 50.0, "mape": 0.02},
        min_labels=1,
    )
    results = {
        r.metric: r for r in performance_results(config, [1000.0, 2000.0], [1140.0, 2140.0], rows=2)
    }
    assert results["mae"].status.value == "passed"  # 140 <= 100 + 50
    assert results["mape"].status.value == "passed"  # 0.105 <= 0.12
    assert results["r2"].threshold is None  # no tolerance: reported, never failed
    assert math.isclose(results["mae"].value, 140.0)
