"""Recalibration on the reference: skipped when it does not help, applied when scores are off."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest

from mlvigil.checks.chunks import size_chunks
from mlvigil.estimation import EstimationConfig, PerformanceEstimator
from mlvigil.estimation.calibration import (
    Calibrator,
    choose_calibration,
    expected_calibration_error,
)

Draw = Callable[..., pa.Table]


def _by_hand(y: np.ndarray, p: np.ndarray, bins: int) -> float:
    order = np.argsort(p, kind="mergesort")
    parts = np.array_split(order, bins)
    return sum(len(i) * abs(y[i].mean() - p[i].mean()) for i in parts) / len(p)


def test_expected_calibration_error_uses_equal_count_bins() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(1003)
    y = (rng.random(1003) < p**2).astype(float)
    assert expected_calibration_error(y, p) == pytest.approx(_by_hand(y, p, 10))
    assert expected_calibration_error(y, p, bins=7) == pytest.approx(_by_hand(y, p, 7))


def test_calibrated_scores_are_left_alone(draw: Draw) -> None:
    reference = draw(20_000, 1)
    estimator = PerformanceEstimator.fit(reference, EstimationConfig())
    assert not estimator.calibrated
    assert "does not help" in (estimator.calibration or "")


def test_miscalibrated_scores_are_recalibrated_and_their_error_drops(draw: Draw) -> None:
    reference, held_out = draw(20_000, 1, power=3.0), draw(20_000, 2, power=3.0)
    y = reference.column("label").to_numpy()
    raw = reference.column("score").to_numpy()
    choice = choose_calibration(raw, y == 1)
    assert choice.calibrated
    assert choice.raw_error is not None
    assert choice.calibrated_error is not None
    assert choice.calibrated_error < choice.raw_error / 3
    # ...and on rows it never saw
    y_new, raw_new = held_out.column("label").to_numpy(), held_out.column("score").to_numpy()
    assert expected_calibration_error(y_new, choice.calibrator.apply(raw_new)) < 0.02
    assert expected_calibration_error(y_new, raw_new) > 0.1


def test_recalibration_brings_the_estimate_to_the_realized_value(draw: Draw) -> None:
    reference, window = draw(20_000, 1, power=3.0), draw(5_000, 2, power=3.0)
    config = EstimationConfig(metrics=("accuracy", "recall"))
    auto = PerformanceEstimator.fit(reference, config)
    never = PerformanceEstimator.fit(
        reference, EstimationConfig(metrics=config.metrics, calibration="never")
    )
    assert auto.calibrated
    assert not never.calibrated
    for fitted, close in ((auto, True), (never, False)):
        for result in fitted.estimate(window, labels="label"):
            assert result.details.realized is not None
            error = abs(result.value - result.details.realized)
            assert (error < 3 * result.details.standard_error) is close, result.message


def test_separable_scores_and_single_class_references_are_not_recalibrated() -> None:
    y = np.r_[np.zeros(500), np.ones(500)]
    separable = np.r_[np.linspace(0.0, 0.4, 500), np.linspace(0.6, 1.0, 500)]
    assert "separate" in choose_calibration(separable, y).reason
    assert not choose_calibration(separable, y).calibrated
    single = choose_calibration(np.linspace(0, 1, 100), np.ones(100), mode="always")
    assert not single.calibrated
    assert "single class" in single.reason


def test_always_recalibrates_and_never_does_not() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(2000)
    y = rng.random(2000) < p
    assert choose_calibration(p, y, mode="always").calibrated
    assert not choose_calibration(p**4, y, mode="never").calibrated


def test_multiclass_calibrators_renormalise_rows_to_one() -> None:
    rng = np.random.default_rng(4)
    truth = rng.dirichlet([2.0, 2.0, 2.0], 6000)
    y = np.array([rng.choice(3, p=row) for row in truth])
    distorted = truth**2 / (truth**2).sum(axis=1, keepdims=True)  # overconfident
    choice = choose_calibration(distorted, np.eye(3)[y] > 0)
    assert choice.calibrated
    calibrated = choice.calibrator.apply(distorted)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0)
    assert choice.calibrated_error is not None
    assert choice.raw_error is not None
    assert choice.calibrated_error < choice.raw_error


def test_identity_calibrator_returns_scores_unchanged() -> None:
    assert Calibrator().apply(np.array([0.25, 0.5])).tolist() == [0.25, 0.5]


def test_scores_outside_zero_one_are_calibrated_into_probabilities(draw: Draw) -> None:
    reference = draw(10_000, 1)
    margins = np.log(
        reference.column("score").to_numpy() / (1 - reference.column("score").to_numpy())
    )
    reference = reference.set_column(2, "score", [margins])
    estimator = PerformanceEstimator.fit(
        reference, EstimationConfig(metrics=("accuracy",)), chunks=size_chunks(10_000, 2000)
    )
    assert estimator.calibrated
    assert any("outside [0, 1]" in w for w in estimator.warnings)
    [result] = estimator.estimate(reference.slice(0, 2000), labels="label")
    assert result.value == pytest.approx(result.details.realized, abs=0.03)


def test_a_window_of_percentages_is_an_error_even_when_the_reference_was_recalibrated(
    draw: Draw,
) -> None:
    reference = draw(10_000, 1)
    estimator = PerformanceEstimator.fit(
        reference, EstimationConfig(metrics=("accuracy",), calibration="always")
    )
    assert estimator.calibrated
    window = reference.slice(0, 2000)
    percent = window.set_column(2, "score", [pa.compute.multiply(window.column("score"), 100)])
    [result] = estimator.estimate(percent)
    assert result.status.value == "error"
    assert result.value is None
    assert "outside [0, 1] are not probabilities" in result.message
