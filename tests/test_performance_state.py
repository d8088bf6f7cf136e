"""PerformanceState: mergeable performance summaries give the metrics of the rows.

Real scikit-learn data sets and models: breast cancer (binary), digits (ten
classes), diabetes (regression). The state's metrics equal mlvigil.checks.metrics
and scikit-learn on the same rows (ROC AUC within the state's stated bound); states
of any split merge into the state of the whole; bytes round-trip.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sklearn import datasets, metrics
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlvigil.checks.metrics import classification_metrics, multiclass_metrics, regression_metrics
from mlvigil.checks.performance import PerformanceConfig, performance_results
from mlvigil.checks.performance_judging import state_results
from mlvigil.checks.performance_state import PerformanceState
from mlvigil.profile.errors import ProfileFormatError, ProfileMergeError


def _classifier(loader: Any) -> dict[str, Any]:
    x, y = loader(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(x, y, test_size=0.5, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, C=0.05))
    model.fit(train_x, train_y)
    return {
        "y_true": test_y,
        "y_pred": model.predict(test_x),
        "proba": model.predict_proba(test_x),
        "classes": list(model.classes_),
    }


@pytest.fixture(scope="module")
def cancer() -> dict[str, Any]:
    return _classifier(datasets.load_breast_cancer)


@pytest.fixture(scope="module")
def digits() -> dict[str, Any]:
    return _classifier(datasets.load_digits)


@pytest.fixture(scope="module")
def diabetes() -> dict[str, Any]:
    x, y = datasets.load_diabetes(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(x, y, test_size=0.5, random_state=0)
    return {"y_true": test_y, "y_pred": Ridge(alpha=0.1).fit(train_x, train_y).predict(test_x)}


def _binary(data: dict[str, Any], rows: Any = slice(None), **options: Any) -> PerformanceState:
    return PerformanceState.of_arrays(
        y_true=data["y_true"][rows],
        y_pred=data["y_pred"][rows],
        y_score=data["proba"][rows, 1],
        positive_label=1,
        **options,
    )


def _multiclass(data: dict[str, Any], rows: Any = slice(None)) -> PerformanceState:
    probabilities = {c: data["proba"][rows, i] for i, c in enumerate(data["classes"])}
    return PerformanceState.of_arrays(
        y_true=data["y_true"][rows], y_pred=data["y_pred"][rows], probabilities=probabilities
    )


def _regression(data: dict[str, Any], rows: Any = slice(None)) -> PerformanceState:
    return PerformanceState.of_arrays(
        task="regression", y_true=data["y_true"][rows], y_pred=data["y_pred"][rows]
    )


def _assert_same_metrics(
    state: PerformanceState, expected: dict[str, float], *, exact: tuple[str, ...] = ()
) -> None:
    found = state.metrics()
    assert set(found) == set(expected)
    for name, value in expected.items():
        if name == "roc_auc":
            assert abs(found[name] - value) <= state.roc_auc_error() + 1e-12
        elif name in exact:
            assert found[name] == value, name
        else:
            assert found[name] == pytest.approx(value, rel=1e-10, abs=1e-12), name


def test_binary_metrics_equal_mlvigil_and_scikit_learn_on_breast_cancer(cancer):
    truth, predicted, score = cancer["y_true"], cancer["y_pred"], cancer["proba"][:, 1]
    state = _binary(cancer)
    expected = classification_metrics(truth, predicted, y_score=score, positive_label=1)
    _assert_same_metrics(state, expected, exact=("accuracy", "precision", "recall", "f1"))
    found = state.metrics()
    assert found["accuracy"] == metrics.accuracy_score(truth, predicted)
    assert found["f1"] == pytest.approx(metrics.f1_score(truth, predicted), rel=1e-12)
    assert found["log_loss"] == pytest.approx(metrics.log_loss(truth, score), rel=1e-9)
    exact_auc = metrics.roc_auc_score(truth, score)
    assert abs(found["roc_auc"] - exact_auc) <= state.roc_auc_error()
    assert state.roc_auc_error() < 0.002  # 1,024 bins: few positive-negative ties


def test_multiclass_metrics_equal_mlvigil_and_scikit_learn_on_digits(digits):
    truth, predicted, proba = digits["y_true"], digits["y_pred"], digits["proba"]
    state = _multiclass(digits)
    probabilities = {c: proba[:, i] for i, c in enumerate(digits["classes"])}
    expected = multiclass_metrics(truth, predicted, probabilities=probabilities)
    _assert_same_metrics(state, expected)
    found = state.metrics()
    assert found["f1"] == pytest.approx(metrics.f1_score(truth, predicted, average="macro"))
    assert found["log_loss"] == pytest.approx(metrics.log_loss(truth, proba), rel=1e-9)
    exact_auc = metrics.roc_auc_score(truth, proba, multi_class="ovr", average="macro")
    assert abs(found["roc_auc"] - exact_auc) <= state.roc_auc_error()
    assert state.confusion.tolist() == metrics.confusion_matrix(truth, predicted).tolist()


def test_regression_metrics_equal_mlvigil_and_scikit_learn_on_diabetes(diabetes):
    truth, predicted = diabetes["y_true"], diabetes["y_pred"]
    state = _regression(diabetes)
    _assert_same_metrics(state, regression_metrics(truth, predicted))
    found = state.metrics()
    assert found["r2"] == pytest.approx(metrics.r2_score(truth, predicted), rel=1e-10)
    assert found["mae"] == pytest.approx(metrics.mean_absolute_error(truth, predicted))
    assert found["mape"] == pytest.approx(
        metrics.mean_absolute_percentage_error(truth, predicted), rel=1e-10
    )


def _splits(rows: int, seed: int) -> list[np.ndarray]:
    """Random contiguous parts of a random order, an empty one among them."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(rows)
    cuts = np.sort(rng.integers(0, rows, 4))
    return list(np.split(order, [0, *cuts.tolist()]))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_the_merge_of_any_split_is_the_state_of_the_whole(kind, seed, cancer, digits, diabetes):
    build, data = {
        "binary": (_binary, cancer),
        "multiclass": (_multiclass, digits),
        "regression": (_regression, diabetes),
    }[kind]
    whole = build(data)
    parts = [build(data, rows) for rows in _splits(len(data["y_true"]), seed)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    assert (merged.rows, merged.labelled, merged.classes) == (
        whole.rows,
        whole.labelled,
        whole.classes,
    )
    assert merged.confusion.tolist() == whole.confusion.tolist()
    for name in ("positives", "negatives", "separation"):
        assert getattr(merged, name).tolist() == getattr(whole, name).tolist()
    assert merged.counts == whole.counts
    assert merged.sums == pytest.approx(whole.sums, rel=1e-10)
    assert merged.metrics() == pytest.approx(whole.metrics(), rel=1e-10)


def test_the_auc_is_within_its_bound_even_with_coarse_bins(cancer):
    truth, score = cancer["y_true"], cancer["proba"][:, 1]
    exact = metrics.roc_auc_score(truth, score)
    for bins in (2, 8, 64):
        state = _binary(cancer, bins=bins)
        error = state.roc_auc_error()
        assert 0 < error < 0.5
        assert abs(state.metrics()["roc_auc"] - exact) <= error
    ties = PerformanceState.of_arrays(
        y_true=[1, 0, 1, 0], y_pred=[1, 0, 1, 0], y_score=[0.8, 0.8, 0.3, 0.3], positive_label=1
    )
    assert ties.metrics()["roc_auc"] == 0.5
    assert ties.roc_auc_error() == 0.25


def test_bytes_round_trip_compactly_and_damage_is_refused(cancer, digits, diabetes):
    for state in (_binary(cancer), _multiclass(digits), _regression(diabetes)):
        data = state.serialize()
        assert data.startswith(b"MLVPERF\x01")
        assert PerformanceState.deserialize(data) == state
        assert len(data) < 8_000
    with pytest.raises(ProfileFormatError, match="MLVPERF"):
        PerformanceState.deserialize(b"not a state")
    with pytest.raises(ProfileFormatError, match="damaged"):
        PerformanceState.deserialize(_binary(cancer).serialize()[:-10])


def test_arrow_columns_with_null_labels_count_unlabelled_rows():
    table = pa.table(
        {
            "label": pa.array(["cat", None, "dog", "cat", None]),
            "prediction": pa.array(["cat", "dog", "cat", None, "cat"]),
        }
    )
    state = PerformanceState.of_arrays(y_true=table["label"], y_pred=table["prediction"])
    assert (state.rows, state.labelled) == (5, 3)
    expected = multiclass_metrics(["cat", "dog", "cat"], ["cat", "cat", None])
    assert state.metrics() == pytest.approx(expected)


def test_results_from_a_state_are_the_results_from_its_rows(cancer):
    truth, predicted, score = cancer["y_true"], cancer["y_pred"], cancer["proba"][:, 1]
    config = PerformanceConfig(
        metrics=("accuracy", "f1", "log_loss", "roc_auc"),
        baseline={"accuracy": 0.99, "f1": 0.9, "log_loss": 0.2, "roc_auc": 0.95},
    )
    from_rows = performance_results(config, list(truth), list(predicted), y_score=list(score))
    from_state = state_results(config, _binary(cancer))
    assert [(r.metric, r.status, r.threshold) for r in from_state] == [
        (r.metric, r.status, r.threshold) for r in from_rows
    ]
    assert from_state[0].value == 1.0  # label coverage: the state knows all its rows
    for mine, theirs in zip(from_state[1:], from_rows[1:], strict=True):
        if theirs.metric != "roc_auc":
            assert mine.value == pytest.approx(theirs.value, rel=1e-10)


def test_scores_that_contradict_their_declared_meaning_give_error_results(cancer):
    truth, predicted, score = cancer["y_true"], cancer["y_pred"], cancer["proba"][:, 1]
    confidence = np.where(predicted == 1, score, 1 - score)  # declared as the positive's
    config = PerformanceConfig(metrics=("accuracy", "roc_auc"))
    rows = performance_results(config, list(truth), list(predicted), y_score=list(confidence))
    state = PerformanceState.of_arrays(
        y_true=truth, y_pred=predicted, y_score=confidence, positive_label=1
    )
    found = state_results(config, state)
    assert [r.status.value for r in found] == [r.status.value for r in rows]
    assert found[-1].status.value == "error"
    assert "separation AUC" in found[-1].message
    declared = PerformanceState.of_arrays(
        y_true=truth, y_pred=predicted, y_score=confidence, positive_label=1, score_is="confidence"
    )
    assert declared.metrics()["roc_auc"] == pytest.approx(
        metrics.roc_auc_score(truth, score), abs=declared.roc_auc_error()
    )


def test_few_labels_or_none_give_the_reason_not_a_metric():
    config = PerformanceConfig(metrics=("accuracy",), min_labels=5)
    few = PerformanceState.of_arrays(y_true=[1, 0, None], y_pred=[1, 1, 0])
    assert [r.status.value for r in state_results(config, few)] == ["passed", "error"]
    none = PerformanceState.of_arrays(y_true=pa.array([None], pa.int64()), y_pred=[1])
    assert none.merge(few).labelled == 2
    assert math.isnan(PerformanceState.of_arrays(
        task="regression", y_true=[1.0], y_pred=[np.nan]).metrics()["mae"])  # fmt: skip


def test_states_of_different_settings_do_not_merge(cancer, digits):
    with pytest.raises(ProfileMergeError, match="different settings"):
        _binary(cancer).merge(_multiclass(digits))
    with pytest.raises(ProfileMergeError):
        _binary(cancer).merge(_binary(cancer, bins=64))
