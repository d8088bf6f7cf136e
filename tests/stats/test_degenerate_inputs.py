"""Inputs a method cannot (or can only trivially) compute on: empty, infinite, NaN,
constant, too many categories, a single category; plus immutability of results.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mlvigil.exceptions import InputError
from mlvigil.stats import (
    METHODS,
    DegenerateInputError,
    StatTestResult,
    anderson_darling_test,
    as_sorted,
    category_counts,
    cramer_von_mises_test,
    energy_distance_normed,
    ks_test,
    wasserstein_distance_normed,
)

NUMERICAL = ["ks", "wasserstein", "anderson", "cramer_von_mises", "energy"]
BOTH = ["psi", "jensenshannon", "hellinger", "kl_div"]
CATEGORICAL = ["chisquare", "g_test", "z", "fisher_exact"]
ALL = NUMERICAL + BOTH + CATEGORICAL


def _valid_sample(name: str) -> list[object]:
    if name in CATEGORICAL:
        return ["a", "b", "a", "b", "b", "a"]
    return [0.3, 1.2, 2.5, 3.1, 4.8, 5.0]


def test_degenerate_input_error_is_an_input_error() -> None:
    assert issubclass(DegenerateInputError, InputError)
    assert issubclass(DegenerateInputError, ValueError)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("empty_side", ["reference", "current"])
def test_empty_input_raises_degenerate_input_error_naming_the_side(
    name: str, empty_side: str
) -> None:
    valid = _valid_sample(name)
    reference, current = ([], valid) if empty_side == "reference" else (valid, [])
    with pytest.raises(DegenerateInputError, match=f"^{empty_side} has no values$"):
        METHODS[name](reference, current)


@pytest.mark.parametrize("name", CATEGORICAL + BOTH)
def test_empty_category_mapping_raises(name: str) -> None:
    with pytest.raises(DegenerateInputError, match="reference has no values"):
        METHODS[name]({}, {"a": 3, "b": 4})
    with pytest.raises(DegenerateInputError, match="current has no values"):
        METHODS[name]({"a": 3, "b": 4}, {"a": 0})


@pytest.mark.parametrize("name", NUMERICAL + BOTH)
def test_all_nan_input_raises_like_empty_input(name: str) -> None:
    with pytest.raises(DegenerateInputError, match="current has no values"):
        METHODS[name](_valid_sample(name), [np.nan, np.nan])


@pytest.mark.parametrize("name", NUMERICAL + BOTH)
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_values_raise_with_a_hint(name: str, bad: float) -> None:
    with pytest.raises(DegenerateInputError, match="reference has infinite values; drop or clip"):
        METHODS[name]([1.0, bad, 2.0, 3.0], _valid_sample(name))
    with pytest.raises(DegenerateInputError, match="current has infinite values"):
        METHODS[name](_valid_sample(name), [1.0, 2.0, bad])


@pytest.mark.parametrize("name", NUMERICAL + BOTH)
def test_nan_values_are_dropped_and_excluded_from_sizes(name: str) -> None:
    rng = np.random.default_rng(3)
    reference, current = rng.normal(size=60), rng.normal(0.2, size=40)
    with_nan_ref = np.concatenate([reference, [np.nan] * 5])
    with_nan_cur = np.concatenate([[np.nan] * 7, current])
    result = METHODS[name](with_nan_ref, with_nan_cur)
    assert (result.reference_size, result.current_size) == (60, 40)
    assert result == METHODS[name](reference, current)


@pytest.mark.parametrize("name", CATEGORICAL + BOTH)
def test_null_categories_are_dropped_and_excluded_from_sizes(name: str) -> None:
    reference = ["a", None, "b", "a", None, "b", "b"]
    current = ["b", "a", "a", None, "a"]
    result = METHODS[name](reference, current)
    assert (result.reference_size, result.current_size) == (5, 4)


def test_as_sorted_drops_nan_and_sorts() -> None:
    sample = as_sorted([3.0, np.nan, -1.0, 2.0])
    np.testing.assert_array_equal(sample.values, [-1.0, 2.0, 3.0])
    assert len(sample) == 3


@pytest.mark.parametrize(
    ("method", "label"),
    [(wasserstein_distance_normed, "wasserstein"), (energy_distance_normed, "energy distance")],
)
def test_constant_reference_makes_normed_distances_raise(method: object, label: str) -> None:
    with pytest.raises(DegenerateInputError, match=f"reference is constant, so {label}"):
        method([2.0] * 50, [1.0, 2.0, 3.0])  # type: ignore[operator]


def test_ks_handles_a_constant_reference() -> None:
    result = ks_test([2.0] * 50, [1.0, 2.0, 3.0, 4.0])
    # ECDFs: reference jumps 0 -> 1 at 2; current is 0.5 at 2, so the gap is 0.5.
    assert result.statistic == pytest.approx(0.5)
    assert 0.0 <= result.p_value <= 1.0  # type: ignore[operator]


def test_ks_on_identical_constant_samples_is_not_drifted() -> None:
    result = ks_test([1.0] * 20, [1.0] * 30)
    assert result.statistic == 0.0
    assert result.p_value == pytest.approx(1.0)
    assert not result.drifted


def test_anderson_darling_raises_when_every_value_is_equal() -> None:
    with pytest.raises(DegenerateInputError, match="more than one distinct value"):
        anderson_darling_test([1.0] * 5, [1.0] * 6)


def test_cramer_von_mises_needs_two_values_per_side() -> None:
    with pytest.raises(DegenerateInputError, match="at least 2 values on each side"):
        cramer_von_mises_test([1.0], [2.0, 3.0, 4.0])


@pytest.mark.parametrize(("reference", "current"), [([1.0], [2.0, 3.0]), ([1.0, 2.0], [3.0])])
def test_anderson_darling_never_returns_a_nan_verdict(
    reference: list[float], current: list[float]
) -> None:
    try:
        result = anderson_darling_test(reference, current)
    except DegenerateInputError:
        return
    assert not np.isnan(result.statistic)
    assert result.p_value is not None
    assert not np.isnan(result.p_value)


@pytest.mark.parametrize("name", ["z", "fisher_exact"])
def test_binary_only_tests_reject_three_or_more_categories(name: str) -> None:
    with pytest.raises(DegenerateInputError, match="needs a binary column, got 3 categories"):
        METHODS[name](["a", "b", "a"], ["a", "c"])


@pytest.mark.parametrize("name", ["chisquare", "g_test", "z", "fisher_exact"])
def test_a_single_shared_category_is_not_drift(name: str) -> None:
    result = METHODS[name](["only"] * 12, ["only"] * 30)
    assert result.p_value == 1.0
    assert not result.drifted
    assert (result.reference_size, result.current_size) == (12, 30)


@pytest.mark.parametrize("name", ["psi", "jensenshannon", "hellinger", "kl_div"])
def test_a_single_shared_category_has_zero_distance(name: str) -> None:
    result = METHODS[name](["only"] * 12, ["only"] * 30)
    assert result.statistic == 0.0
    assert not result.drifted


@pytest.mark.parametrize("name", CATEGORICAL + BOTH)
def test_new_and_missing_categories_are_reported(name: str) -> None:
    if name in ("z", "fisher_exact"):
        reference, current = ["old"] * 20, ["old"] * 10 + ["new"] * 10
        expected_new, expected_missing = ("new",), ()
    else:
        reference = ["a"] * 20 + ["b"] * 10 + ["gone"] * 5
        current = ["a"] * 15 + ["b"] * 10 + ["fresh"] * 8 + ["zz"] * 2
        expected_new, expected_missing = ("fresh", "zz"), ("gone",)
    result = METHODS[name](reference, current)
    assert result.new_categories == expected_new
    assert result.missing_categories == expected_missing


def test_category_counts_aligns_both_sides_on_the_union_of_categories() -> None:
    counts = category_counts(["x", "y", "y", None], {"y": 2, "z": 5})
    assert counts.categories == ("x", "y", "z")
    assert counts.reference.tolist() == [1, 2, 0]
    assert counts.current.tolist() == [0, 2, 5]
    assert counts.new_categories == ("z",)
    assert counts.missing_categories == ("x",)


def _one_result_per_method() -> list[StatTestResult]:
    rng = np.random.default_rng(5)
    numbers_a, numbers_b = rng.normal(size=50), rng.normal(size=40)
    return [
        METHODS[name](numbers_a, numbers_b)
        if name not in CATEGORICAL
        else METHODS[name](["a", "b", "b"], ["a", "a", "b"])
        for name in ALL
    ]


@pytest.mark.parametrize("result", _one_result_per_method(), ids=ALL)
@pytest.mark.parametrize(("field", "value"), [("drifted", True), ("statistic", 0.0)])
def test_results_are_frozen(result: StatTestResult, field: str, value: object) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, value)


def test_prepared_inputs_are_frozen() -> None:
    sample = as_sorted([1.0, 2.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.values = np.array([0.0])  # type: ignore[misc]
    counts = category_counts(["a"], ["b"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        counts.categories = ()  # type: ignore[misc]
