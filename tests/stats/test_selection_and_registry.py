"""Default method selection rules, and the method registry."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import contingency

from mlvigil.exceptions import ConfigError, UnknownMethodError
from mlvigil.schema import ColumnType
from mlvigil.stats import (
    METHODS,
    DecisionRule,
    category_counts,
    default_method,
    get_method,
)

EXPECTED_NAMES = {
    "ks",
    "wasserstein",
    "anderson",
    "cramer_von_mises",
    "energy",
    "psi",
    "jensenshannon",
    "hellinger",
    "kl_div",
    "chisquare",
    "z",
    "fisher_exact",
    "g_test",
}

CATEGORICAL_TYPES = [ColumnType.CATEGORICAL, ColumnType.BOOLEAN]


# ---------------------------------------------------------------------------
# default_method
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [(1, "ks"), (500, "ks"), (1_000, "ks"), (1_001, "wasserstein"), (2_000_000, "wasserstein")],
)
def test_numerical_default_is_ks_when_small_and_wasserstein_when_large(
    size: int, expected: str
) -> None:
    assert default_method(ColumnType.NUMERICAL, size) == expected


def test_small_sample_size_can_be_configured() -> None:
    assert default_method(ColumnType.NUMERICAL, 150, small_sample_size=100) == "wasserstein"
    assert default_method(ColumnType.NUMERICAL, 5_000, small_sample_size=10_000) == "ks"


def _min_expected(reference: dict[str, int], current: dict[str, int]) -> float:
    counts = category_counts(reference, current)
    table = np.vstack([counts.reference, counts.current])
    return float(contingency.expected_freq(table).min())  # scipy's expected counts


@pytest.mark.parametrize("column_type", CATEGORICAL_TYPES)
def test_small_binary_default_is_z_when_every_expected_count_is_at_least_5(
    column_type: ColumnType,
) -> None:
    reference, current = {"no": 300, "yes": 200}, {"no": 280, "yes": 220}
    assert _min_expected(reference, current) >= 5
    counts = category_counts(reference, current)
    assert default_method(column_type, 500, counts) == "z"


@pytest.mark.parametrize("column_type", CATEGORICAL_TYPES)
@pytest.mark.parametrize(
    ("reference", "current"),
    [
        ({"no": 495, "yes": 5}, {"no": 8}),  # rare category: expected counts ~0.13
        ({"no": 12, "yes": 6}, {"no": 3, "yes": 1}),  # tiny current sample
    ],
)
def test_small_binary_default_is_fisher_when_an_expected_count_is_below_5(
    column_type: ColumnType, reference: dict[str, int], current: dict[str, int]
) -> None:
    assert _min_expected(reference, current) < 5
    counts = category_counts(reference, current)
    assert default_method(column_type, sum(reference.values()), counts) == "fisher_exact"


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        ({"no": 100, "yes": 8}, {"no": 100, "yes": 9}),  # expected yes ~8.5: z
        ({"no": 100, "yes": 4}, {"no": 100, "yes": 5}),  # expected yes ~4.5: fisher
        ({"no": 20, "yes": 20}, {"no": 3, "yes": 2}),  # small current: expected 2.5
    ],
)
def test_fisher_versus_z_boundary_follows_scipy_expected_frequencies(
    reference: dict[str, int], current: dict[str, int]
) -> None:
    counts = category_counts(reference, current)
    expected = "fisher_exact" if _min_expected(reference, current) < 5 else "z"
    assert default_method(ColumnType.CATEGORICAL, sum(reference.values()), counts) == expected


def test_small_categorical_with_three_or_more_categories_defaults_to_chisquare() -> None:
    counts = category_counts({"a": 100, "b": 200, "c": 300}, {"a": 120, "b": 180, "c": 300})
    assert default_method(ColumnType.CATEGORICAL, 600, counts) == "chisquare"
    # Even with a tiny expected count: fisher_exact is 2 x 2 only.
    rare = category_counts({"a": 100, "b": 200, "c": 1}, {"a": 120, "b": 180})
    assert default_method(ColumnType.CATEGORICAL, 301, rare) == "chisquare"


def test_small_categorical_without_counts_defaults_to_chisquare() -> None:
    assert default_method(ColumnType.CATEGORICAL, 600) == "chisquare"


@pytest.mark.parametrize("column_type", CATEGORICAL_TYPES)
@pytest.mark.parametrize(
    "counts",
    [
        None,
        category_counts({"no": 3_000, "yes": 2_000}, {"no": 2_900, "yes": 2_100}),
        category_counts({"no": 4_995, "yes": 5}, {"no": 8}),
        category_counts({"a": 1_000, "b": 1_000, "c": 1_000}, {"a": 900, "b": 1_100}),
    ],
    ids=["no-counts", "binary", "binary-rare", "three-categories"],
)
def test_large_categorical_defaults_to_jensenshannon(
    column_type: ColumnType, counts: object
) -> None:
    assert default_method(column_type, 5_000, counts) == "jensenshannon"  # type: ignore[arg-type]


def test_every_default_is_a_registered_method_applicable_to_the_column() -> None:
    cases = [
        (ColumnType.NUMERICAL, 10, None),
        (ColumnType.NUMERICAL, 10_000, None),
        (ColumnType.BOOLEAN, 100, category_counts({"a": 50, "b": 50}, {"a": 40, "b": 60})),
        (ColumnType.BOOLEAN, 10, category_counts({"a": 9, "b": 1}, {"a": 4})),
        (ColumnType.CATEGORICAL, 100, None),
        (ColumnType.CATEGORICAL, 10_000, None),
    ]
    for column_type, size, counts in cases:
        method = get_method(default_method(column_type, size, counts))
        assert column_type in method.applies_to


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------


def test_registered_method_names_are_exactly_the_documented_ones() -> None:
    assert set(METHODS) == EXPECTED_NAMES
    assert len(METHODS) == len(EXPECTED_NAMES)


def _inputs_for(name: str) -> tuple[object, object]:
    method = METHODS[name]
    if ColumnType.NUMERICAL in method.applies_to:
        rng = np.random.default_rng(9)
        return rng.normal(size=80), rng.normal(0.4, size=70)
    if method.binary_only:
        return ["yes"] * 30 + ["no"] * 20, ["yes"] * 20 + ["no"] * 25
    return ["a"] * 30 + ["b"] * 20 + ["c"] * 10, ["a"] * 20 + ["b"] * 25 + ["c"] * 10


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_each_method_reports_its_registered_name(name: str) -> None:
    method = METHODS[name]
    assert method.name == name
    result = method(*_inputs_for(name))
    assert result.method == name


@pytest.mark.parametrize(
    "name", sorted(n for n in EXPECTED_NAMES if ColumnType.CATEGORICAL in METHODS[n].applies_to)
)
def test_methods_for_both_column_kinds_also_report_their_name_on_categories(name: str) -> None:
    result = METHODS[name](["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert result.method == name


# The defaults documented in the README.
DOCUMENTED_DISTANCE_THRESHOLDS = {
    "wasserstein": 0.1,
    "energy": 0.1,
    "psi": 0.04,
    "jensenshannon": 0.05,
    "hellinger": 0.05,
    "kl_div": 0.02,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_default_threshold_and_rule_are_applied(name: str) -> None:
    method = METHODS[name]
    result = method(*_inputs_for(name))
    assert result.threshold == method.default_threshold
    if method.rule is DecisionRule.P_VALUE:
        assert method.default_threshold == 0.05
        assert result.p_value is not None
        assert result.drifted == (result.p_value < result.threshold)
    else:
        assert method.default_threshold == DOCUMENTED_DISTANCE_THRESHOLDS[name]
        assert result.p_value is None
        assert result.drifted == (result.statistic >= result.threshold)


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_explicit_threshold_overrides_the_default(name: str) -> None:
    result = METHODS[name](*_inputs_for(name), threshold=0.5)
    assert result.threshold == 0.5


def test_binary_only_flags_exactly_z_and_fisher() -> None:
    assert {name for name, m in METHODS.items() if m.binary_only} == {"z", "fisher_exact"}


def test_get_method_returns_the_registered_entry() -> None:
    for name in EXPECTED_NAMES:
        assert get_method(name) is METHODS[name]


def test_get_method_on_unknown_name_raises_listing_known_names() -> None:
    with pytest.raises(UnknownMethodError) as caught:
        get_method("kolmogorov")
    message = str(caught.value)
    assert "'kolmogorov'" in message
    for name in EXPECTED_NAMES:
        assert name in message
    assert caught.value.name == "kolmogorov"
    assert isinstance(caught.value, ConfigError)
    assert isinstance(caught.value, ValueError)
