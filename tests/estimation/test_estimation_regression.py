"""Direct loss estimation of regression models: load_diabetes, and a heteroscedastic shift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error
from sklearn.model_selection import train_test_split

from mlvigil.checks.chunks import size_chunks
from mlvigil.checks.result import CheckStatus
from mlvigil.estimation import EstimationConfig, PerformanceEstimator
from mlvigil.exceptions import InputError


@pytest.fixture(scope="module")
def diabetes() -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    data = load_diabetes(as_frame=True)
    x, y = data.data, data.target
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, train_size=140, random_state=0)
    model = LinearRegression().fit(x_train, y_train)
    x_ref, x_cur, y_ref, y_cur = train_test_split(x_rest, y_rest, train_size=160, random_state=0)

    def frame(features: pd.DataFrame, target: pd.Series) -> pd.DataFrame:
        out = features.reset_index(drop=True).copy()
        out["sex"] = pd.Categorical(np.where(out["sex"] > 0, "M", "F"))  # as users send it
        out["label"] = target.to_numpy()
        out["prediction"] = model.predict(features)
        return out

    return frame(x_ref, y_ref), frame(x_cur, y_cur), tuple(x.columns)


def test_estimated_mae_agrees_with_realized_on_load_diabetes(
    diabetes: tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]],
) -> None:
    reference, current, features = diabetes
    config = EstimationConfig(task="regression", features=features)
    estimator = PerformanceEstimator.fit(reference, config)
    results = {r.metric: r for r in estimator.estimate(current, labels="label")}
    assert set(results) == {"mae", "mse", "rmse", "mape"}
    y, y_hat = current["label"].to_numpy(), current["prediction"].to_numpy()
    mae = results["mae"]
    assert mae.details.realized == pytest.approx(mean_absolute_error(y, y_hat))
    assert results["mse"].details.realized == pytest.approx(mean_squared_error(y, y_hat))
    for metric in ("mae", "mse", "rmse"):
        result = results[metric]
        assert abs(result.value - result.details.realized) <= 3 * result.details.standard_error
        assert result.details.method == "loss"
        assert result.details.calibrated is None
    assert results["rmse"].value == pytest.approx(np.sqrt(results["mse"].value))


def _noisy(rows: int, seed: int, *, centre: float = 0.0, spread: float = 1.5) -> pa.Table:
    # Noise grows with |x0|: a window shifted to larger |x0| (inside the reference's
    # range, as the method assumes) has larger errors.
    rng = np.random.default_rng(seed)
    x0 = rng.normal(centre, spread, rows)
    x1 = rng.normal(0.0, 1.0, rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    truth = 2.0 * x0 + x1 + np.where(colour == "red", 1.0, 0.0)
    y = truth + rng.normal(0.0, 0.2 + np.abs(x0), rows)
    return pa.table(
        {"x0": x0, "x1": x1, "colour": colour, "label": y, "prediction": truth}
    ).cast(pa.schema([("x0", pa.float64()), ("x1", pa.float64()),
                      ("colour", pa.dictionary(pa.int8(), pa.string())),
                      ("label", pa.float64()), ("prediction", pa.float64())]))  # fmt: skip


@pytest.fixture(scope="module")
def loss_estimator() -> PerformanceEstimator:
    config = EstimationConfig(task="regression", features=("x0", "x1", "colour"))
    return PerformanceEstimator.fit(_noisy(8000, 1), config, chunks=size_chunks(8000, 1000))


def test_a_shift_into_noisier_inputs_raises_the_estimated_loss(
    loss_estimator: PerformanceEstimator,
) -> None:
    steady = {r.metric: r for r in loss_estimator.estimate(_noisy(1000, 2), labels="label")}
    shifted = {
        r.metric: r
        for r in loss_estimator.estimate(_noisy(1000, 3, centre=1.5, spread=0.7), labels="label")
    }
    assert steady["mae"].status is CheckStatus.PASSED
    for metric in ("mae", "mse", "rmse"):
        assert shifted[metric].status is CheckStatus.FAILED, shifted[metric].message
        assert shifted[metric].details.direction == "degraded"
        assert shifted[metric].threshold == shifted[metric].details.limits.upper
        assert shifted[metric].value == pytest.approx(shifted[metric].details.realized, rel=0.1)


def test_loss_estimates_are_deterministic(loss_estimator: PerformanceEstimator) -> None:
    config = EstimationConfig(task="regression", features=("x0", "x1", "colour"))
    again = PerformanceEstimator.fit(_noisy(8000, 1), config, chunks=size_chunks(8000, 1000))
    window = _noisy(500, 4)
    assert [r.value for r in again.estimate(window)] == [
        r.value for r in loss_estimator.estimate(window)
    ]


def test_unseen_categories_and_missing_features_are_handled(
    loss_estimator: PerformanceEstimator,
) -> None:
    window = _noisy(500, 5).to_pandas()
    window["colour"] = "purple"  # never seen: read as missing
    results = loss_estimator.estimate(window)
    assert all(r.status is CheckStatus.PASSED for r in results)
    [missing, *_] = loss_estimator.estimate(window.drop(columns=["x1"]))
    assert missing.status is CheckStatus.ERROR
    assert "'x1'" in missing.message


def test_a_regression_reference_without_features_is_an_input_error() -> None:
    config = EstimationConfig(task="regression", features=("x9",))
    with pytest.raises(InputError, match="'x9'"):
        PerformanceEstimator.fit(_noisy(200, 1), config)
