"""The MMD² test against a direct, obvious computation, and as a two-sample test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist, pdist

from mlvigil.multivariate.mmd import median_bandwidth, mmd_test, squared_distances


def _slow_mmd2(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    """Unbiased MMD² (Gretton et al. 2012, eq. 3) term by term."""

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2)))

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_mmd2_and_bandwidth_agree_with_a_direct_computation():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(23, 3)), rng.normal(0.3, 1.2, size=(17, 3))

    result = mmd_test(x, y, permutations=50)

    assert result.bandwidth == pytest.approx(np.median(pdist(np.vstack([x, y]))), rel=1e-12)
    assert result.mmd2 == pytest.approx(_slow_mmd2(x, y, result.bandwidth), rel=1e-10)
    assert (result.rows, result.reference_rows) == (17, 23)


def test_the_permutation_p_value_agrees_with_permuting_one_by_one():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 2)), rng.normal(0.8, 1.0, size=(10, 2))
    result = mmd_test(x, y, permutations=40, seed=5)

    # The same draws, in the same order, evaluated the slow way.
    draws = np.random.default_rng(5)
    pooled = np.vstack([x, y])
    observed = _slow_mmd2(x, y, result.bandwidth)
    orders = draws.permuted(np.tile(np.arange(22), (40, 1)), axis=1)
    exceed = 0
    for order in orders:
        chosen = np.zeros(22, dtype=bool)
        chosen[order[:12]] = True
        exceed += _slow_mmd2(pooled[chosen], pooled[~chosen], result.bandwidth) >= observed
    assert result.p_value == pytest.approx((1 + exceed) / 41)


def test_squared_distances_agree_with_scipy():
    points = np.random.default_rng(2).normal(size=(40, 5))
    assert squared_distances(points) == pytest.approx(cdist(points, points, "sqeuclidean"))
    assert median_bandwidth(squared_distances(points)) == pytest.approx(np.median(pdist(points)))


def test_false_alarms_under_no_change_stay_at_alpha():
    rng = np.random.default_rng(3)
    p_values = np.array(
        [
            mmd_test(
                rng.normal(size=(40, 3)), rng.normal(size=(40, 3)), permutations=99, seed=i
            ).p_value
            for i in range(300)
        ]
    )

    rate = float(np.mean(p_values < 0.05))
    # 300 draws at 5%: 15 expected, 5 to 26 covers 99.8% of the binomial.
    assert 5 / 300 <= rate <= 26 / 300
    assert np.mean(p_values < 0.5) == pytest.approx(0.5, abs=0.1)  # roughly uniform


def test_it_detects_a_change_of_spread_with_the_same_mean():
    rng = np.random.default_rng(4)
    found = [
        mmd_test(rng.normal(size=(150, 4)), rng.normal(0.0, 1.5, size=(150, 4)), seed=i).p_value
        for i in range(10)
    ]

    assert max(found) < 0.05


def test_each_side_is_subsampled_to_the_row_bound():
    rng = np.random.default_rng(5)
    result = mmd_test(rng.normal(size=(5_000, 8)), rng.normal(size=(3_000, 8)), max_rows=400)

    assert (result.reference_rows, result.rows) == (400, 400)
    assert 0.0 < result.p_value <= 1.0
