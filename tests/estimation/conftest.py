"""Data for the estimation tests: a binary model whose scores are calibrated by construction."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest

Draw = Callable[..., pa.Table]


def bernoulli_rows(rows: int, seed: int, *, spread: float = 1.0, power: float = 1.0) -> pa.Table:
    """Labels drawn as Bernoulli(p) of the model's probability p (calibrated when power = 1).

    ``spread`` scales the inputs: below 1 the rows crowd near the decision boundary, where
    the model is less accurate (covariate shift; P(y | x) unchanged). ``power`` distorts
    the reported score (p ** power), miscalibrating it without changing its ranking.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, spread, rows)
    p = 1.0 / (1.0 + np.exp(-2.0 * x))
    label = (rng.random(rows) < p).astype(np.int64)
    return pa.table({"label": label, "prediction": (p > 0.5).astype(np.int64), "score": p**power})


@pytest.fixture(scope="session")
def draw() -> Draw:
    return bernoulli_rows
