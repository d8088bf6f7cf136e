"""Each difference agrees with scipy where scipy computes the same test, and keeps its level."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mlvigil.experiments.differences import (
    mcnemar_difference,
    mean_difference,
    paired_mean_difference,
    proportion_difference,
    quantile_difference,
    wilson_interval,
)
from mlvigil.stats import DegenerateInputError


@pytest.mark.parametrize(("k_b", "n_b", "k_c", "n_c"), [(900, 1000, 870, 1000), (3, 40, 9, 35)])
def test_two_proportion_p_value_is_the_chi_square_of_the_two_by_two_table(
    k_b: int, n_b: int, k_c: int, n_c: int
) -> None:
    d = proportion_difference("accuracy", (k_b, n_b), (k_c, n_c))
    table = [[k_b, n_b - k_b], [k_c, n_c - k_c]]
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert d.p_value == pytest.approx(expected, rel=1e-9)
    assert d.difference == pytest.approx(k_c / n_c - k_b / n_b)
    assert d.low < d.difference < d.high


def test_welch_difference_agrees_with_scipy_ttest_ind() -> None:
    rng = np.random.default_rng(3)
    baseline, candidate = rng.normal(10, 2, 300), rng.normal(10.4, 3, 200)
    d = mean_difference("revenue", baseline, candidate, confidence=0.9)
    expected = stats.ttest_ind(candidate, baseline, equal_var=False)
    interval = expected.confidence_interval(confidence_level=0.9)
    assert d.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert (d.low, d.high) == pytest.approx((interval.low, interval.high), rel=1e-9)
    one_sided = stats.ttest_ind(candidate, baseline, equal_var=False, alternative="greater")
    assert d.p_increase == pytest.approx(one_sided.pvalue, rel=1e-9)


def test_paired_difference_agrees_with_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(4)
    baseline = rng.normal(0, 1, 150)
    candidate = baseline + rng.normal(0.1, 0.3, 150)
    d = paired_mean_difference("error", baseline, candidate)
    expected = stats.ttest_rel(candidate, baseline)
    interval = expected.confidence_interval()
    assert d.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert (d.low, d.high) == pytest.approx((interval.low, interval.high), rel=1e-9)


def test_mcnemar_is_the_exact_binomial_test_of_the_discordant_rows() -> None:
    rng = np.random.default_rng(5)
    baseline = rng.random(500) < 0.85
    candidate = np.where(rng.random(500) < 0.1, ~baseline, baseline)
    d = mcnemar_difference("accuracy", baseline, candidate)
    only_b, only_c = int(np.sum(baseline & ~candidate)), int(np.sum(candidate & ~baseline))
    expected = stats.binomtest(only_c, only_b + only_c, 0.5).pvalue
    assert d.p_value == pytest.approx(expected, rel=1e-9)
    assert d.difference == pytest.approx(candidate.mean() - baseline.mean())


def test_wilson_interval_agrees_with_scipy_binomtest() -> None:
    expected = stats.binomtest(7, 60).proportion_ci(0.95, method="wilson")
    assert wilson_interval(7, 60) == pytest.approx((expected.low, expected.high), rel=1e-9)


def test_too_few_values_are_refused_with_the_counts() -> None:
    with pytest.raises(DegenerateInputError, match="1 finite values on a side, 2 needed"):
        mean_difference("revenue", [1.0, float("nan")], [1.0, 2.0, 3.0])
    with pytest.raises(DegenerateInputError, match="no rows"):
        proportion_difference("accuracy", (0, 0), (5, 10))


@pytest.mark.parametrize("q", [0.5, 0.99])
def test_quantile_difference_keeps_its_level_when_nothing_changed(q: float) -> None:
    # 400 seeded pairs of samples from one latency distribution: about 5% reject at 5%.
    rejected = [
        quantile_difference("latency", r.gamma(3, 20, 4000), r.gamma(3, 20, 4000), q).p_value < 0.05
        for r in (np.random.default_rng(seed) for seed in range(400))
    ]
    assert 0.02 <= np.mean(rejected) <= 0.08


def test_quantile_difference_finds_a_slower_tail() -> None:
    rng = np.random.default_rng(6)
    d = quantile_difference("latency_p99_ms", rng.gamma(3, 20, 5000), rng.gamma(3, 26, 5000), 0.99)
    assert d.difference > 0
    assert d.p_increase < 1e-4
    assert d.low > 0
