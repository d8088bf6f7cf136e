"""Every value mlvigil.stats computes that scipy also computes agrees to 1e-9 relative.

Each expected value is produced by the scipy call written beside the assertion
(or by an independent closed formula), never copied from mlvigil's own output.
"""

from __future__ import annotations

import warnings
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats
from scipy.spatial import distance

from mlvigil.stats import (
    Correction,
    adjust_p_values,
    anderson_darling_test,
    as_sorted,
    chi_square_test,
    cramer_von_mises_test,
    energy_distance_normed,
    fisher_exact_test,
    g_test,
    hellinger_distance,
    jensen_shannon_distance,
    kl_divergence,
    ks_test,
    population_stability_index,
    two_proportion_z_test,
    wasserstein_distance_normed,
)
from mlvigil.stats import ecdf as ecdf_module
from mlvigil.stats.divergences import quantile_bin_edges

RTOL = 1e-9

#: Documented smoothing of PSI and KL: a zero proportion becomes 1e-4, then renormalise.
SMOOTHING = 1e-4


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def approx(expected: float) -> object:
    return pytest.approx(expected, rel=RTOL)


# ---------------------------------------------------------------------------
# Kolmogorov-Smirnov
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [
        (5, 5, 0.0),
        (20, 13, 0.5),
        (300, 300, 0.0),
        (300, 300, 0.3),
        (1_000, 2_500, 0.1),
        (10_000, 9_000, 0.05),  # largest sizes of the exact branch
    ],
)
def test_ks_matches_scipy_exact_for_small_samples(n: int, m: int, shift: float) -> None:
    rng = rng_for(n * 7 + m)
    a, b = rng.normal(size=n), rng.normal(shift, size=m)
    result = ks_test(a, b)
    expected = stats.ks_2samp(a, b)  # method="auto": exact for max(n, m) <= 10,000
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)
    assert result.drifted == (expected.pvalue < 0.05)
    assert (result.reference_size, result.current_size) == (n, m)


def test_ks_exact_p_values_remembered_by_size_and_statistic_still_match_scipy() -> None:
    rng = rng_for(13)
    seen = set()
    for _ in range(40):  # 1,000 against 400 values: statistics repeat within 40 draws
        a, b = rng.normal(size=1_000), rng.normal(0.05, size=400)
        result, expected = ks_test(a, b), stats.ks_2samp(a, b)
        assert result.statistic == approx(expected.statistic)
        assert result.p_value == approx(expected.pvalue)
        seen.add(round(result.statistic * 2_000))
    assert len(seen) < 40  # some answers came from the memo


@pytest.mark.parametrize("shift", [0.0, 0.02, 0.05, 0.2])
def test_ks_matches_scipy_asymptotic_for_large_samples(shift: float) -> None:
    rng = rng_for(int(shift * 1000) + 1)
    a, b = rng.normal(size=20_000), rng.normal(shift, size=15_000)
    result = ks_test(a, b)
    expected = stats.ks_2samp(a, b)  # method="auto": asymptotic above 10,000 values
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)
    assert result.drifted == (expected.pvalue < 0.05)


def test_ks_asymptotic_branch_matches_scipy_with_unequal_sizes_both_ways() -> None:
    rng = rng_for(11)
    big, small = rng.normal(size=25_000), rng.normal(0.03, size=4_000)
    for a, b in [(big, small), (small, big)]:
        result = ks_test(a, b)
        expected = stats.ks_2samp(a, b)
        assert result.statistic == approx(expected.statistic)
        assert result.p_value == approx(expected.pvalue)


@pytest.mark.parametrize(("n", "m"), [(400, 300), (20_000, 15_000)])
@pytest.mark.parametrize("levels", [2, 5, 20])
def test_ks_matches_scipy_with_heavy_ties(n: int, m: int, levels: int) -> None:
    rng = rng_for(n + levels)
    a = rng.integers(0, levels, size=n).astype(float)
    b = np.minimum(rng.integers(0, levels + 1, size=m), levels - 1).astype(float)
    result = ks_test(a, b)
    expected = stats.ks_2samp(a, b)
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)


def test_ks_exact_and_asymptotic_branches_meet_at_10000() -> None:
    rng = rng_for(12)
    a, b = rng.normal(size=10_001), rng.normal(0.04, size=10_000)
    above = ks_test(a, b)
    expected_asymp = stats.ks_2samp(a, b)  # 10,001 values: scipy's auto picks asymptotic
    assert above.p_value == approx(expected_asymp.pvalue)
    at = ks_test(a[:10_000], b)
    expected_exact = stats.ks_2samp(a[:10_000], b, method="exact")
    assert at.p_value == approx(expected_exact.pvalue)


@pytest.mark.parametrize(("n", "m"), [(50, 70), (20_000, 15_000)])
def test_ks_gives_identical_results_for_sorted_sample_and_raw_array(n: int, m: int) -> None:
    rng = rng_for(13)
    a, b = rng.normal(size=n), rng.normal(0.1, size=m)
    raw = ks_test(a, b)
    prepared = ks_test(as_sorted(a), as_sorted(b))
    mixed = ks_test(as_sorted(a), b)
    assert prepared == raw
    assert mixed == raw


@settings(max_examples=150, deadline=None)
@given(
    a=hnp.arrays(
        np.float64,
        st.integers(1, 40),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
    ),
    b=hnp.arrays(
        np.float64,
        st.integers(1, 40),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
    ),
)
def test_ks_statistic_and_p_value_match_scipy_on_arbitrary_arrays(
    a: np.ndarray, b: np.ndarray
) -> None:
    # scipy's exact branch can give up and warn on some tied inputs (see the xfail
    # below); that warning is not what this property checks.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful")
        result = ks_test(a, b)
        expected = stats.ks_2samp(a, b)
    np.testing.assert_allclose(result.statistic, expected.statistic, rtol=RTOL)
    np.testing.assert_allclose(result.p_value, expected.pvalue, rtol=RTOL)


def test_ks_emits_no_warning_on_minimal_difference_of_equal_size_samples() -> None:
    a, b = np.zeros(5), np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    result = ks_test(a, b)  # the project's filterwarnings=error turns a warning into a raise
    assert result.statistic == approx(0.2)  # independent: ECDFs differ by 1/5 at 0
    assert result.p_value == approx(1.0)


@settings(max_examples=150, deadline=None)
@given(
    a=hnp.arrays(
        np.float64,
        st.integers(2, 40),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
    ),
    b=hnp.arrays(
        np.float64,
        st.integers(2, 40),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
    ),
)
def test_ks_linear_time_statistic_matches_scipy_asymptotic_on_arbitrary_arrays(
    a: np.ndarray, b: np.ndarray
) -> None:
    # Force mlvigil's own merged-ECDF branch on small inputs (ties included) and
    # compare it with scipy's asymptotic branch.
    with mock.patch.object(ecdf_module, "KS_EXACT_MAX_SIZE", 0):
        result = ks_test(a, b)
    expected = stats.ks_2samp(a, b, method="asymp")
    np.testing.assert_allclose(result.statistic, expected.statistic, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(result.p_value, expected.pvalue, rtol=RTOL, atol=1e-12)


# ---------------------------------------------------------------------------
# Cramer-von Mises and Anderson-Darling
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [(5, 7, 0.0), (10, 20, 1.0), (20, 20, 0.3), (200, 150, 0.0), (1_000, 800, 0.2)],
)
def test_cramer_von_mises_matches_scipy(n: int, m: int, shift: float) -> None:
    rng = rng_for(100 + n + m)
    a, b = rng.normal(size=n), rng.normal(shift, size=m)
    result = cramer_von_mises_test(a, b)
    expected = stats.cramervonmises_2samp(a, b)
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)
    assert result.drifted == (expected.pvalue < 0.05)


def test_cramer_von_mises_matches_scipy_with_ties() -> None:
    rng = rng_for(101)
    a, b = rng.integers(0, 4, 300).astype(float), rng.integers(0, 5, 250).astype(float)
    result = cramer_von_mises_test(a, b)
    expected = stats.cramervonmises_2samp(a, b)
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)


def _scipy_anderson(a: np.ndarray, b: np.ndarray) -> Any:
    # scipy warns when it clips the p-value to its table; the warning is not under test here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return stats.anderson_ksamp([a, b], variant="midrank")


@pytest.mark.parametrize(
    ("shift", "clipped"),
    [(0.0, True), (0.25, False), (3.0, True)],
    ids=["capped-at-0.25", "inside-table", "floored-at-0.001"],
)
def test_anderson_darling_matches_scipy_and_notes_clipping(shift: float, clipped: bool) -> None:
    rng = rng_for(1)
    a, b = rng.normal(size=100), rng.normal(shift, size=120)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = anderson_darling_test(a, b)
    assert caught == []
    expected = _scipy_anderson(a, b)
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)
    assert (expected.pvalue in (0.001, 0.25)) is clipped  # the scenario is what it claims
    if clipped:
        assert result.note is not None
        assert "clipped" in result.note
    else:
        assert result.note is None


def test_anderson_darling_matches_scipy_midrank_with_ties() -> None:
    rng = rng_for(102)
    a, b = rng.integers(0, 6, 300).astype(float), rng.integers(0, 6, 280).astype(float)
    result = anderson_darling_test(a, b)
    expected = _scipy_anderson(a, b)
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)


# ---------------------------------------------------------------------------
# Wasserstein and energy distance
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [(100, 100, 0.0), (1_000, 1_000, 0.4), (100, 37, 0.2), (3_000, 5_000, -1.0), (9, 1, 0.0)],
    ids=["equal", "equal-shift", "unequal", "unequal-large", "single-current-value"],
)
def test_wasserstein_normed_matches_scipy_divided_by_reference_std(
    n: int, m: int, shift: float
) -> None:
    rng = rng_for(200 + n + m)
    a, b = rng.normal(5.0, 2.0, size=n), rng.normal(5.0 + 2.0 * shift, 2.5, size=m)
    result = wasserstein_distance_normed(a, b)
    expected = stats.wasserstein_distance(a, b) / np.std(a)
    assert result.statistic == approx(expected)
    assert result.drifted == (expected >= 0.1)
    assert result.p_value is None


@pytest.mark.parametrize(("n", "m"), [(500, 500), (500, 333)])
def test_wasserstein_normed_matches_scipy_with_ties(n: int, m: int) -> None:
    rng = rng_for(201)
    a, b = rng.integers(0, 4, n).astype(float), rng.integers(0, 5, m).astype(float)
    result = wasserstein_distance_normed(a, b)
    expected = stats.wasserstein_distance(a, b) / np.std(a)
    assert result.statistic == approx(expected)


def test_wasserstein_normed_same_for_sorted_sample_and_raw_array() -> None:
    rng = rng_for(202)
    a, b = rng.normal(size=400), rng.normal(size=250)
    assert wasserstein_distance_normed(as_sorted(a), as_sorted(b)) == (
        wasserstein_distance_normed(a, b)
    )


@settings(max_examples=150, deadline=None)
@given(
    a=hnp.arrays(
        np.float64,
        st.integers(2, 50),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
    ),
    b=hnp.arrays(
        np.float64,
        st.integers(1, 50),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
    ),
)
def test_wasserstein_normed_matches_scipy_on_arbitrary_arrays(a: np.ndarray, b: np.ndarray) -> None:
    scale = np.std(a)
    if not scale > 1e-3:
        # Near-constant references are the degenerate case, tested elsewhere.
        return
    result = wasserstein_distance_normed(a, b)
    expected = stats.wasserstein_distance(a, b) / scale
    # Absolute slack for a distance that is zero up to rounding (identical samples).
    np.testing.assert_allclose(result.statistic, expected, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize(("n", "m", "shift"), [(200, 200, 0.0), (300, 120, 0.5), (50, 80, -2.0)])
def test_energy_normed_matches_scipy_on_rescaled_samples(n: int, m: int, shift: float) -> None:
    rng = rng_for(300 + n)
    a, b = rng.normal(10.0, 3.0, size=n), rng.normal(10.0 + 3.0 * shift, 3.0, size=m)
    s = np.std(a)
    result = energy_distance_normed(a, b)
    expected = stats.energy_distance(a / s, b / s)
    assert result.statistic == approx(expected)
    assert result.drifted == (expected >= 0.1)


def test_normed_distances_do_not_depend_on_the_unit() -> None:
    rng = rng_for(301)
    a, b = rng.normal(size=300), rng.normal(0.3, 1.2, size=200)
    for method in (wasserstein_distance_normed, energy_distance_normed):
        in_metres, in_mm = method(a, b), method(a * 1000.0 + 7.0, b * 1000.0 + 7.0)
        assert in_mm.statistic == pytest.approx(in_metres.statistic, rel=1e-9)


# ---------------------------------------------------------------------------
# Divergences on category frequencies
# ---------------------------------------------------------------------------


def _counts_of(values: list[str], categories: list[str]) -> np.ndarray:
    return np.array([values.count(c) for c in categories], dtype=float)


def _smoothed(counts: np.ndarray) -> np.ndarray:
    p = counts / counts.sum()
    p = np.where(p == 0, SMOOTHING, p)
    return p / p.sum()


CATEGORY_CASES = {
    "same-categories": (
        {"a": 120, "b": 300, "c": 80},
        {"a": 150, "b": 240, "c": 110},
    ),
    "new-in-current": (
        {"a": 120, "b": 300, "c": 80},
        {"a": 100, "b": 250, "c": 90, "d": 60},
    ),
    "missing-from-current": (
        {"a": 120, "b": 300, "c": 80, "d": 5},
        {"a": 100, "b": 250, "c": 90},
    ),
}


def _aligned(ref: dict[str, int], cur: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(ref.keys() | cur.keys())
    return (
        np.array([ref.get(k, 0) for k in keys], dtype=float),
        np.array([cur.get(k, 0) for k in keys], dtype=float),
    )


@pytest.mark.parametrize("case", list(CATEGORY_CASES))
def test_jensen_shannon_matches_scipy_on_category_counts(case: str) -> None:
    ref, cur = CATEGORY_CASES[case]
    p, q = _aligned(ref, cur)
    result = jensen_shannon_distance(ref, cur)
    expected = distance.jensenshannon(p, q)  # scipy normalises the counts itself
    assert result.statistic == approx(expected)


@pytest.mark.parametrize("case", list(CATEGORY_CASES))
def test_kl_matches_scipy_entropy_of_smoothed_proportions(case: str) -> None:
    ref, cur = CATEGORY_CASES[case]
    p, q = _aligned(ref, cur)
    result = kl_divergence(ref, cur)
    expected = stats.entropy(_smoothed(p), _smoothed(q))
    assert result.statistic == approx(expected)


@pytest.mark.parametrize("case", list(CATEGORY_CASES))
def test_psi_equals_symmetrised_kl_of_smoothed_proportions(case: str) -> None:
    ref, cur = CATEGORY_CASES[case]
    p, q = _aligned(ref, cur)
    p_s, q_s = _smoothed(p), _smoothed(q)
    result = population_stability_index(ref, cur)
    expected = stats.entropy(p_s, q_s) + stats.entropy(q_s, p_s)
    assert result.statistic == approx(expected)


@pytest.mark.parametrize("case", list(CATEGORY_CASES))
def test_hellinger_matches_scaled_euclidean_distance_of_root_proportions(case: str) -> None:
    ref, cur = CATEGORY_CASES[case]
    p, q = _aligned(ref, cur)
    p, q = p / p.sum(), q / q.sum()
    result = hellinger_distance(ref, cur)
    expected = distance.euclidean(np.sqrt(p), np.sqrt(q)) / np.sqrt(2)
    assert result.statistic == approx(expected)


def test_divergences_on_raw_category_values_match_scipy() -> None:
    rng = rng_for(400)
    categories = ["red", "green", "blue", "cyan"]
    ref = list(rng.choice(categories[:3], size=900, p=[0.5, 0.3, 0.2]))
    cur = list(rng.choice(categories, size=700, p=[0.4, 0.3, 0.2, 0.1]))
    order = sorted(categories)
    p, q = _counts_of(ref, order), _counts_of(cur, order)
    assert jensen_shannon_distance(ref, cur).statistic == approx(distance.jensenshannon(p, q))
    assert kl_divergence(ref, cur).statistic == approx(stats.entropy(_smoothed(p), _smoothed(q)))
    result = population_stability_index(ref, cur)
    assert result.new_categories == ("cyan",)
    assert (result.reference_size, result.current_size) == (900, 700)


def test_numerical_binning_uses_equal_frequency_reference_quantiles() -> None:
    rng = rng_for(401)
    reference = rng.lognormal(size=2_000)
    edges = quantile_bin_edges(as_sorted(reference), 10)
    expected_edges = np.quantile(reference, np.linspace(0, 1, 11)[1:-1])
    np.testing.assert_allclose(edges, expected_edges, rtol=RTOL)
    # Bins are right-closed: (-inf, e1], (e1, e2], ..., (e9, inf).
    counts = np.bincount(np.digitize(reference, expected_edges, right=True), minlength=10)
    np.testing.assert_allclose(counts / reference.size, 0.1, atol=1.0 / reference.size)


def test_numerical_bins_are_right_closed_and_merge_repeated_edges() -> None:
    rng = rng_for(403)
    # Integer values: quantile edges fall exactly on values and repeat.
    reference = rng.choice([0.0, 1.0, 2.0, 3.0], size=1_000, p=[0.5, 0.3, 0.15, 0.05])
    current = rng.choice([0.0, 1.0, 2.0, 3.0, 4.0], size=800, p=[0.3, 0.3, 0.2, 0.1, 0.1])
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, 11)[1:-1]))
    np.testing.assert_array_equal(quantile_bin_edges(as_sorted(reference), 10), edges)
    bins = edges.size + 1
    p = np.bincount(np.digitize(reference, edges, right=True), minlength=bins).astype(float)
    q = np.bincount(np.digitize(current, edges, right=True), minlength=bins).astype(float)
    p_s, q_s = _smoothed(p), _smoothed(q)
    psi = population_stability_index(reference, current)
    assert psi.statistic == approx(stats.entropy(p_s, q_s) + stats.entropy(q_s, p_s))
    assert jensen_shannon_distance(reference, current).statistic == approx(
        distance.jensenshannon(p, q)
    )


@pytest.mark.parametrize("shift", [0.0, 0.3, 3.0])
def test_numerical_divergences_match_scipy_on_reference_quantile_bins(shift: float) -> None:
    rng = rng_for(402)
    reference, current = rng.normal(size=2_000), rng.normal(shift, size=1_500)
    current[:3] = np.nan  # missing values are dropped
    edges = np.quantile(reference, np.linspace(0, 1, 11)[1:-1])
    finite = current[~np.isnan(current)]
    p = np.bincount(np.digitize(reference, edges, right=True), minlength=10).astype(float)
    q = np.bincount(np.digitize(finite, edges, right=True), minlength=10).astype(float)
    p_s, q_s = _smoothed(p), _smoothed(q)

    psi = population_stability_index(reference, current, bins=10)
    assert psi.statistic == approx(stats.entropy(p_s, q_s) + stats.entropy(q_s, p_s))
    assert kl_divergence(reference, current).statistic == approx(stats.entropy(p_s, q_s))
    assert jensen_shannon_distance(reference, current).statistic == approx(
        distance.jensenshannon(p, q)
    )
    hellinger = hellinger_distance(reference, current).statistic
    assert hellinger == approx(
        distance.euclidean(np.sqrt(p / p.sum()), np.sqrt(q / q.sum())) / np.sqrt(2)
    )
    assert (psi.reference_size, psi.current_size) == (2_000, 1_497)


# ---------------------------------------------------------------------------
# Contingency-table tests
# ---------------------------------------------------------------------------


def _table(ref: list[object], cur: list[object]) -> np.ndarray:
    categories = sorted(set(ref) | set(cur), key=str)
    return np.array(
        [[ref.count(c) for c in categories], [cur.count(c) for c in categories]], dtype=np.int64
    )


def _category_samples(seed: int, new_in_current: bool) -> tuple[list[str], list[str]]:
    rng = rng_for(seed)
    ref = list(rng.choice(["a", "b", "c", "d"], size=400, p=[0.4, 0.3, 0.2, 0.1]))
    cur_categories = ["a", "b", "c", "d", "e"] if new_in_current else ["a", "b", "c", "d"]
    cur_p = [0.35, 0.3, 0.2, 0.1, 0.05] if new_in_current else [0.37, 0.3, 0.2, 0.13]
    cur = list(rng.choice(cur_categories, size=350, p=cur_p))
    return ref, cur


@pytest.mark.parametrize("new_in_current", [False, True])
def test_chi_square_matches_scipy_chi2_contingency_on_2xk_table(new_in_current: bool) -> None:
    ref, cur = _category_samples(500, new_in_current)
    table = _table(ref, cur)
    result = chi_square_test(ref, cur)
    expected = stats.chi2_contingency(table, correction=False)
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)
    assert result.new_categories == (("e",) if new_in_current else ())


def test_chi_square_matches_scipy_on_binary_table_without_yates_correction() -> None:
    ref, cur = {"x": 30, "y": 70}, {"x": 45, "y": 55}
    result = chi_square_test(ref, cur)
    expected = stats.chi2_contingency([[30, 70], [45, 55]], correction=False)
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)


@pytest.mark.parametrize("new_in_current", [False, True])
def test_g_test_matches_scipy_log_likelihood_contingency(new_in_current: bool) -> None:
    ref, cur = _category_samples(501, new_in_current)
    table = _table(ref, cur)
    result = g_test(ref, cur)
    expected = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        ({"no": 60, "yes": 40}, {"no": 45, "yes": 55}),
        ({"no": 500, "yes": 500}, {"no": 520, "yes": 470}),
        ({"no": 900, "yes": 100}, {"no": 700, "yes": 300}),
        ({False: 12, True: 3}, {False: 4, True: 11}),
    ],
)
def test_z_squared_equals_chi_square_and_p_values_agree(
    ref: dict[object, int], cur: dict[object, int]
) -> None:
    result = two_proportion_z_test(ref, cur)
    table = [list(ref.values()), list(cur.values())]
    expected = stats.chi2_contingency(table, correction=False)
    assert result.statistic**2 == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)


def test_z_is_signed_by_the_share_of_the_first_sorted_category() -> None:
    ref, cur = {"no": 60, "yes": 40}, {"no": 45, "yes": 55}
    # Independent pooled-z formula for the share of "no" (first in sorted order).
    p1, p2, pooled = 60 / 100, 45 / 100, 105 / 200
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert two_proportion_z_test(ref, cur).statistic == approx(z)
    assert two_proportion_z_test(cur, ref).statistic == approx(-z)
    assert two_proportion_z_test(ref, cur).p_value == approx(2 * stats.norm.sf(abs(z)))


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        ({"no": 2, "yes": 8}, {"no": 5, "yes": 1}),
        ({"no": 10, "yes": 10}, {"no": 11, "yes": 9}),
        ({"no": 3, "yes": 0}, {"no": 1, "yes": 6}),
        ({"a": 40, "b": 7}, {"a": 22, "b": 19}),
    ],
)
def test_fisher_exact_matches_scipy(ref: dict[str, int], cur: dict[str, int]) -> None:
    table = np.vstack(_aligned(ref, cur)).astype(np.int64)  # rows: ref, cur; columns sorted
    result = fisher_exact_test(ref, cur)
    expected = stats.fisher_exact(table)
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)


def test_fisher_exact_on_raw_values_matches_scipy() -> None:
    rng = rng_for(502)
    ref = list(rng.choice(["churn", "stay"], size=25, p=[0.2, 0.8]))
    cur = list(rng.choice(["churn", "stay"], size=30, p=[0.5, 0.5]))
    table = _table(ref, cur)
    result = fisher_exact_test(ref, cur)
    expected = stats.fisher_exact(table)
    assert result.statistic == approx(expected.statistic)
    assert result.p_value == approx(expected.pvalue)


# ---------------------------------------------------------------------------
# Multiple-testing correction
# ---------------------------------------------------------------------------

P_VALUE_CASES = {
    "uniform": np.random.default_rng(600).uniform(size=25),
    "small-and-ties": np.array([0.001, 0.01, 0.01, 0.02, 0.04, 0.04, 0.3, 0.9, 1.0]),
    "single": np.array([0.03]),
    "many-tiny": np.random.default_rng(601).uniform(size=200) ** 6,
}


@pytest.mark.parametrize("case", list(P_VALUE_CASES))
def test_benjamini_hochberg_matches_scipy_false_discovery_control(case: str) -> None:
    p = P_VALUE_CASES[case]
    adjusted = adjust_p_values(p, Correction.BENJAMINI_HOCHBERG)
    expected = stats.false_discovery_control(p, method="bh")
    np.testing.assert_allclose(adjusted, expected, rtol=RTOL)


@pytest.mark.parametrize("case", list(P_VALUE_CASES))
def test_bonferroni_multiplies_by_number_of_tests_capped_at_one(case: str) -> None:
    p = P_VALUE_CASES[case]
    adjusted = adjust_p_values(p, Correction.BONFERRONI)
    np.testing.assert_allclose(adjusted, np.minimum(1.0, p * p.size), rtol=RTOL)


@settings(max_examples=100, deadline=None)
@given(p=hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(0.0, 1.0)))
def test_benjamini_hochberg_matches_scipy_on_arbitrary_p_values(p: np.ndarray) -> None:
    adjusted = adjust_p_values(p, Correction.BENJAMINI_HOCHBERG)
    expected = stats.false_discovery_control(p, method="bh")
    np.testing.assert_allclose(adjusted, expected, rtol=RTOL, atol=1e-300)


def test_bonferroni_requested_by_its_string_value_is_not_silently_bh() -> None:
    p = np.array([0.01, 0.02, 0.5])
    try:
        adjusted = adjust_p_values(p, "bonferroni")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return  # refusing a plain string is acceptable too
    np.testing.assert_allclose(adjusted, np.minimum(1.0, p * 3))


def test_benjamini_hochberg_does_not_let_one_nan_poison_every_p_value() -> None:
    p = np.array([0.001, 0.01, np.nan, 0.5])
    with pytest.raises(ValueError, match="between 0 and 1"):
        stats.false_discovery_control(p, method="bh")  # scipy refuses the input
    try:
        adjusted = adjust_p_values(p, Correction.BENJAMINI_HOCHBERG)
    except ValueError:
        return  # refusing, as scipy does, is acceptable
    finite = ~np.isnan(p)
    np.testing.assert_allclose(
        adjusted[finite], stats.false_discovery_control(p[finite], method="bh"), rtol=RTOL
    )
