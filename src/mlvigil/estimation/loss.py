"""Direct loss estimation of a regression model: a second model learns where the first one errs.

On the labelled reference, two scikit-learn ``HistGradientBoostingRegressor`` models
learn each row's absolute error ``|y - ŷ|`` and squared error ``(y - ŷ)²`` from the
model's inputs (numbers as they are, categories through the regressor's native
categorical support, see :class:`~mlvigil.estimation.columns.FeatureEncoder`) and the
model's prediction. Both are seeded and stop early on a held-out tenth of the
reference, so they learn the error's structure rather than its noise. A window's
estimates are the means of the predicted losses (clipped at 0):

- ``mae``: mean predicted ``|y - ŷ|``; ``mse``: mean predicted ``(y - ŷ)²``;
  ``rmse``: ``sqrt(mse)``;
- ``mape``: mean of predicted ``|y - ŷ|`` over ``|ŷ|`` (rows predicted 0 left out).
  This is an approximation: the realized MAPE divides by ``|y|``, unknown without
  labels; the two agree when errors are small beside the values.

Assumptions: no concept shift (``P(y | x)`` as on the reference), and windows inside
the region of the inputs the reference covers (the loss model extrapolates flat).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from mlvigil.checks.performance import PerformanceConfig, measure
from mlvigil.estimation.columns import FeatureEncoder, float_values
from mlvigil.estimation.sampling import Spread, regression_spread
from mlvigil.exceptions import InputError

if TYPE_CHECKING:
    from mlvigil.estimation.estimator import EstimationConfig

__all__ = ["ASSUMPTIONS", "LossModel", "LossRows"]

#: What direct loss estimates take for granted.
ASSUMPTIONS = (
    "no concept shift: P(target | inputs) is as on the reference",
    "no shift into regions of the inputs the reference does not cover",
    "mape divides the predicted absolute error by |prediction|, not |target|: an approximation",
)

#: Boosting rounds at most; early stopping on a held-out tenth usually stops sooner.
MAX_ITER = 300

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LossRows:
    """A window's usable rows: the prediction and the predicted losses of each."""

    prediction: FloatArray
    absolute: FloatArray
    squared: FloatArray

    def __len__(self) -> int:
        return int(self.prediction.size)


@contextmanager
def _one_thread() -> Iterator[None]:
    # The loss models are small (tens of trees): OpenMP's threads gain little on them and,
    # spinning while other processes hold the cores, made fits ten times slower (measured
    # on a busy 2-core machine: 0.5 s on one thread against 3-9 s on all).
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # sklearn needs it

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _regressor(categorical: list[bool], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=MAX_ITER,
        learning_rate=0.1,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        categorical_features=np.asarray(categorical, dtype=bool) if any(categorical) else None,
        random_state=seed,
    )


class LossModel:
    """What direct loss estimation learned from a regression model's reference.

    Build it with :meth:`fit`.
    """

    def __init__(self, config: EstimationConfig, encoder: FeatureEncoder) -> None:
        self.config = config
        self.encoder = encoder
        self.absolute: Any = None
        self.squared: Any = None
        self.spread: dict[str, Spread] = {}
        self.problem: str | None = None
        self.warnings: list[str] = []

    @classmethod
    def fit(cls, reference: pa.Table, config: EstimationConfig) -> LossModel:
        """Fit the two loss models on the labelled reference rows.

        Raises
        ------
        InputError
            When the reference lacks a column, its target or prediction is not
            numeric, or it has fewer usable rows than ``config.min_rows``.
        """
        needed = [config.target, config.prediction, *config.features]
        missing = [c for c in needed if c not in reference.column_names]
        if missing:
            raise InputError(f"the reference has no column {', '.join(map(repr, missing))}")
        target = float_values(reference, config.target)
        prediction = float_values(reference, config.prediction)
        usable = np.isfinite(target) & np.isfinite(prediction)
        if int(usable.sum()) < config.min_rows:
            raise InputError(
                f"the reference has {int(usable.sum())} rows with a target and a prediction; "
                f"at least {config.min_rows} are needed to learn from"
            )
        rows = reference.filter(pa.array(usable))
        model = cls(config, FeatureEncoder.fit(rows, config.features))
        y, y_hat = target[usable], prediction[usable]
        inputs = model._inputs(rows, y_hat)
        error = y_hat - y
        with _one_thread():
            model.absolute = _regressor(model.categorical, config.seed).fit(inputs, np.abs(error))
            model.squared = _regressor(model.categorical, config.seed).fit(inputs, error**2)
        model.spread = regression_spread(y, y_hat)
        return model

    @property
    def categorical(self) -> list[bool]:
        """Which loss-model inputs are categorical (the prediction, last, is not)."""
        return [*self.encoder.categorical, False]

    def _inputs(self, table: pa.Table, prediction: FloatArray) -> FloatArray:
        return np.column_stack([self.encoder.encode(table), prediction])

    def rows(self, table: pa.Table) -> LossRows | str:
        """A window's rows with a prediction and their predicted losses, or why it has none."""
        config = self.config
        needed = [config.prediction, *config.features]
        missing = [c for c in needed if c not in table.column_names]
        if missing:
            return f"no column {', '.join(map(repr, missing))} in the window"
        try:
            prediction = float_values(table, config.prediction)
            usable = np.isfinite(prediction)
            rows = table.filter(pa.array(usable)) if not usable.all() else table
            inputs = self._inputs(rows, prediction[usable])
        except InputError as error:
            return str(error)
        if not inputs.shape[0]:
            return LossRows(prediction[usable], np.empty(0), np.empty(0))
        with _one_thread():
            absolute = np.clip(self.absolute.predict(inputs), 0.0, None)
            squared = np.clip(self.squared.predict(inputs), 0.0, None)
        return LossRows(prediction[usable], absolute, squared)

    @staticmethod
    def estimates(rows: LossRows) -> dict[str, float]:
        """Every estimated loss of some usable rows."""
        if not len(rows):
            return dict.fromkeys(("mae", "mse", "rmse", "mape"), math.nan)
        mse = float(rows.squared.mean())
        nonzero = rows.prediction != 0
        return {
            "mae": float(rows.absolute.mean()),
            "mse": mse,
            "rmse": math.sqrt(mse),
            "mape": float(np.mean(rows.absolute[nonzero] / np.abs(rows.prediction[nonzero])))
            if nonzero.any()
            else math.nan,
        }

    def realized(
        self, table: pa.Table, labels: str, metrics: Sequence[str]
    ) -> tuple[dict[str, float], int]:
        """The losses measured on the rows with a label and a prediction, and their count."""
        config = self.config
        if config.prediction not in table.column_names:
            return {}, 0
        try:
            target = float_values(table, labels)
            prediction = float_values(table, config.prediction)
        except InputError:
            return {}, 0
        labelled = np.isfinite(target) & np.isfinite(prediction)
        count = int(labelled.sum())
        if count < config.min_labels:
            return {}, count
        measured = measure(
            PerformanceConfig(task="regression", metrics=tuple(metrics), min_labels=1),
            target[labelled].tolist(),
            prediction[labelled].tolist(),
        )
        return dict(measured.values), count
