"""The sketch-based estimates' error bounds, checked against brute-force computations."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mlvigil import DriftConfig
from mlvigil.checks.drift import profile_drift
from mlvigil.profile import profile_table
from mlvigil.profile.estimates import NumericSide, _cdf_error_area, _rounded_counts


@pytest.mark.parametrize("distribution", ["normal", "lognormal", "pareto", "bimodal"])
def test_the_cdf_error_area_equals_a_dense_numerical_integral(distribution: str) -> None:
    rng = np.random.default_rng(7)
    values = {
        "normal": rng.normal(size=100_000),
        "lognormal": rng.lognormal(0.0, 1.0, 100_000),
        "pareto": rng.pareto(2.0, 100_000),
        "bimodal": np.concatenate([rng.normal(-5, 1, 50_000), rng.normal(5, 1, 50_000)]),
    }[distribution]
    column = profile_table(
        pa.table({"v": values}),
    ).columns["v"]
    sketch, moments = column.quantiles, column.moments
    assert sketch is not None
    assert moments is not None
    mean, var, eps = moments.mean, moments.variance, sketch.rank_error
    assert var is not None
    # Pointwise: |F̂ - F| <= ε; in a tail also <= max(sketch tail, Cantelli's tail).
    x = np.linspace(moments.minimum, moments.maximum, 2_000_001)
    cdf = sketch.cdf(x)
    tail = np.where(x >= mean, 1.0 - cdf, cdf)
    cantelli = var / (var + (x - mean) ** 2)
    pointwise = np.minimum(eps, np.maximum(tail, cantelli))
    dense = float(np.sum((pointwise[1:] + pointwise[:-1]) / 2 * np.diff(x)))
    assert _cdf_error_area(NumericSide(sketch, moments)) == pytest.approx(dense, rel=2e-3)
    assert dense <= eps * (moments.maximum - moments.minimum)  # type: ignore[operator]


def test_exact_sketches_have_no_error() -> None:
    column = profile_table(pa.table({"v": np.arange(50.0)})).columns["v"]
    assert column.quantiles is not None
    assert column.moments is not None
    assert column.quantiles.is_exact
    assert _cdf_error_area(NumericSide(column.quantiles, column.moments)) == 0.0


@pytest.mark.parametrize("n", [1, 7, 1_000, 99_999])
def test_rounded_counts_keep_the_total(n: int) -> None:
    masses = np.random.default_rng(n).dirichlet(np.ones(10))
    counts = _rounded_counts(masses, n)
    assert counts.sum() == n
    assert np.all(np.abs(counts - masses * n) < 1.0)


def test_a_ks_p_value_the_sketch_error_could_flip_says_so() -> None:
    rng = np.random.default_rng(1)
    reference = profile_table(pa.table({"x": rng.normal(size=200_000)}))
    current = profile_table(pa.table({"x": rng.normal(size=200_000)}))
    result = profile_drift(reference, current, config=DriftConfig(method="ks"))["x"]
    # No drift, but at 200,000 rows the sketches' error dwarfs KS's noise level.
    assert result.approximation_error is not None
    assert result.approximation_error > 0.01
    assert "p-value uncertain" in (result.message or "")
