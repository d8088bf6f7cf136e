"""PerformanceEstimator on classifiers: estimates vs realized, limits, errors, user inputs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from mlvigil.checks.chunks import size_chunks
from mlvigil.checks.details import EstimationDetails, typed_details
from mlvigil.checks.result import CheckKind, CheckStatus, Severity
from mlvigil.estimation import EstimationConfig, PerformanceEstimator
from mlvigil.exceptions import ConfigError, InputError

Draw = Callable[..., pa.Table]
METRICS = ("accuracy", "precision", "recall", "f1", "specificity", "roc_auc")


@pytest.fixture(scope="module")
def fitted(draw: Draw) -> tuple[PerformanceEstimator, pa.Table]:
    reference = draw(30_000, 1)
    estimator = PerformanceEstimator.fit(
        reference, EstimationConfig(), chunks=size_chunks(30_000, 3000)
    )
    return estimator, reference


def test_estimates_agree_with_realized_metrics_within_sampling_error(
    fitted: tuple[PerformanceEstimator, pa.Table], draw: Draw
) -> None:
    estimator, _ = fitted
    misses = 0
    for seed, spread in enumerate([1.0, 1.0, 0.7, 0.5, 0.3], start=10):
        for result in estimator.estimate(draw(3000, seed, spread=spread), labels="label"):
            details = result.details
            assert isinstance(details, EstimationDetails)
            assert details.realized is not None
            assert details.standard_error is not None
            misses += abs(result.value - details.realized) > 3 * details.standard_error
    assert misses <= 1  # of 30 comparisons at 3 standard errors


def test_realized_values_are_the_scikit_learn_metrics_of_the_raw_scores(
    fitted: tuple[PerformanceEstimator, pa.Table], draw: Draw
) -> None:
    estimator, _ = fitted
    window = draw(2000, 3)
    y, score = window.column("label").to_numpy(), window.column("score").to_numpy()
    results = {r.metric: r for r in estimator.estimate(window, labels="label")}
    assert results["roc_auc"].details.realized == pytest.approx(roc_auc_score(y, score))
    assert results["accuracy"].details.realized == pytest.approx(
        accuracy_score(y, window.column("prediction").to_numpy())
    )


def test_a_shift_into_harder_regions_is_flagged_as_degraded(
    fitted: tuple[PerformanceEstimator, pa.Table], draw: Draw
) -> None:
    estimator, _ = fitted
    steady = estimator.estimate(draw(3000, 20), labels="label")
    shifted = estimator.estimate(draw(3000, 21, spread=0.3), labels="label")
    assert [r.status for r in steady if r.metric in ("accuracy", "roc_auc")] == [
        CheckStatus.PASSED,
        CheckStatus.PASSED,
    ]
    degraded = {r.metric: r for r in shifted}
    for metric in ("accuracy", "roc_auc"):
        result = degraded[metric]
        assert result.status is CheckStatus.FAILED
        assert result.details.direction == "degraded"
        assert result.threshold == result.details.limits.lower
        assert result.severity is Severity.ERROR
        assert "worse than the reference" in result.message


def test_results_are_estimation_rows_whose_details_survive_json(
    fitted: tuple[PerformanceEstimator, pa.Table], draw: Draw
) -> None:
    estimator, _ = fitted
    results = estimator.estimate(draw(1000, 4))
    assert [r.metric for r in results] == list(METRICS)
    for result in results:
        assert result.check is CheckKind.ESTIMATION
        assert result.column is None
        assert result.score is None
        details = result.details
        assert details.method == "confidence"
        assert details.rows == 1000
        assert details.realized is None  # no labels asked for
        assert 0.0 <= details.lower_band <= result.value <= details.upper_band <= 1.0
        row = result.to_dict()
        back = typed_details("estimation", row["metric"], None, row["status"], row["details"])
        assert back == details


def test_without_reference_chunks_estimates_are_reported_without_a_verdict(draw: Draw) -> None:
    estimator = PerformanceEstimator.fit(draw(5000, 1), EstimationConfig(metrics=("accuracy",)))
    [result] = estimator.estimate(draw(1000, 2, spread=0.2))
    assert result.status is CheckStatus.PASSED
    assert result.threshold is None
    assert result.details.limits is None
    assert result.details.direction is None
    assert estimator.limits == {}


def test_an_improvement_beyond_the_limits_is_reported_not_failed(
    fitted: tuple[PerformanceEstimator, pa.Table], draw: Draw
) -> None:
    estimator, _ = fitted
    results = {r.metric: r for r in estimator.estimate(draw(3000, 5, spread=2.0))}
    accuracy = results["accuracy"]
    assert accuracy.details.direction == "improved"
    assert accuracy.status is CheckStatus.PASSED
    assert accuracy.threshold == accuracy.details.limits.upper


def test_realized_needs_min_labels_labelled_rows(
    fitted: tuple[PerformanceEstimator, pa.Table], draw: Draw
) -> None:
    estimator, _ = fitted
    window = draw(1000, 6)
    labels = window.column("label").to_numpy().astype(float)
    few = np.where(np.arange(1000) < 20, labels, np.nan)
    window = window.append_column("late_label", pa.array(few, from_pandas=True))
    assert all(r.details.realized is None for r in estimator.estimate(window, labels="late_label"))
    with pytest.raises(InputError, match="not a column"):
        estimator.estimate(window, labels="nope")


def test_same_input_gives_the_same_output(draw: Draw) -> None:
    reference, window = draw(8000, 1, power=2.0), draw(2000, 2, power=2.0)

    def run() -> list[dict[str, object]]:
        estimator = PerformanceEstimator.fit(
            reference, EstimationConfig(), chunks=size_chunks(8000, 2000)
        )
        rows = [r.to_dict() for r in estimator.estimate(window, labels="label")]
        return [{k: v for k, v in row.items() if k != "timestamp"} for row in rows]

    assert run() == run()


# -- errors --------------------------------------------------------------------------


def test_scores_that_contradict_score_is_give_error_results(draw: Draw) -> None:
    reference = draw(5000, 1)
    confidence = PerformanceEstimator.fit(
        reference.set_column(2, "score", [np.maximum(reference.column("score").to_numpy(), 0.5)]),
        EstimationConfig(score_is="confidence"),
    )
    results = confidence.estimate(draw(1000, 2))  # positive-class probabilities sent
    assert {r.status for r in results} == {CheckStatus.ERROR}
    assert all(r.value is None for r in results)
    assert "set score_is: positive_probability" in results[0].message


def test_a_reference_whose_scores_contradict_score_is_warns_and_estimates_nothing(
    draw: Draw,
) -> None:
    estimator = PerformanceEstimator.fit(draw(5000, 1), EstimationConfig(score_is="confidence"))
    assert any("score_is" in w for w in estimator.warnings)
    results = estimator.estimate(draw(1000, 2))
    assert {r.status for r in results} == {CheckStatus.ERROR}
    assert "reference's scores cannot be used" in results[0].message


def test_a_window_without_the_score_column_gives_error_results(
    fitted: tuple[PerformanceEstimator, pa.Table], draw: Draw
) -> None:
    estimator, _ = fitted
    results = estimator.estimate(draw(1000, 2).drop_columns(["score"]))
    assert {r.status for r in results} == {CheckStatus.ERROR}
    assert "no column 'score'" in results[0].message


def test_too_few_rows_and_all_null_scores_give_error_results(
    fitted: tuple[PerformanceEstimator, pa.Table], draw: Draw
) -> None:
    estimator, _ = fitted
    [few, *_] = estimator.estimate(draw(12, 2))
    assert few.status is CheckStatus.ERROR
    assert few.severity is Severity.INFO
    assert "at least 30" in few.message
    window = draw(500, 3)
    nulls = window.set_column(2, "score", [pa.nulls(500, pa.float64())])
    [empty, *_] = estimator.estimate(nulls)
    assert empty.status is CheckStatus.ERROR
    assert "0 of the window's 500 rows" in empty.message


def test_predictions_of_classes_the_reference_never_had_give_error_results(
    fitted: tuple[PerformanceEstimator, pa.Table], draw: Draw
) -> None:
    estimator, _ = fitted
    window = draw(500, 2)
    window = window.set_column(1, "prediction", [pa.array(["7"] * 500)])
    [result, *_] = estimator.estimate(window)
    assert result.status is CheckStatus.ERROR
    assert "'7'" in result.message


def test_configuration_mistakes_are_config_errors(draw: Draw) -> None:
    with pytest.raises(ConfigError, match="choose from"):
        EstimationConfig(metrics=("log_loss",))
    with pytest.raises(ConfigError, match="score_is"):
        EstimationConfig(score_is="margin")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="need scores"):
        EstimationConfig(score=None)
    with pytest.raises(ConfigError, match="positive_label"):
        PerformanceEstimator.fit(draw(1000, 1), EstimationConfig(positive_label="yes"))


def test_a_reference_without_a_needed_column_is_an_input_error(draw: Draw) -> None:
    with pytest.raises(InputError, match="no column 'label'"):
        PerformanceEstimator.fit(draw(1000, 1).drop_columns(["label"]), EstimationConfig())
    with pytest.raises(InputError, match="at least 30"):
        PerformanceEstimator.fit(draw(20, 1), EstimationConfig())


# -- inputs as users send them -------------------------------------------------------


def test_pandas_float_labels_category_predictions_and_strings_agree(draw: Draw) -> None:
    reference, window = draw(6000, 1).to_pandas(), draw(2000, 2, spread=0.6).to_pandas()

    def shaped(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
        out = frame.copy()
        if kind == "float":
            out["label"] = out["label"].astype(float)  # 1.0 / 0.0
            out["prediction"] = pd.Categorical(out["prediction"])
        elif kind == "string":
            names = np.array(["no", "yes"])
            out["label"] = pd.array(names[out["label"]], dtype="str")
            out["prediction"] = pd.array(names[out["prediction"]], dtype="str")
        return out

    values = {}
    for kind, positive in (("int", 1), ("float", 1), ("string", "yes")):
        config = EstimationConfig(positive_label=positive)
        estimator = PerformanceEstimator.fit(shaped(reference, kind), config)
        results = estimator.estimate(shaped(window, kind), labels="label")
        values[kind] = [(r.metric, r.value, r.details.realized) for r in results]
    assert values["float"] == values["int"]
    assert values["string"] == values["int"]


def test_confidence_scores_estimate_as_the_positive_probabilities_do(draw: Draw) -> None:
    reference, window = draw(6000, 1), draw(2000, 2)

    def as_confidence(table: pa.Table) -> pa.Table:
        p = table.column("score").to_numpy()
        return table.set_column(2, "score", [np.maximum(p, 1 - p)])

    plain = PerformanceEstimator.fit(reference, EstimationConfig()).estimate(window)
    confident = PerformanceEstimator.fit(
        as_confidence(reference), EstimationConfig(score_is="confidence")
    ).estimate(as_confidence(window))
    for a, b in zip(plain, confident, strict=True):
        assert b.value == pytest.approx(a.value, abs=1e-9)
