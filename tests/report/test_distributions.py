"""Chart data from profiles agrees with the data it summarises."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mlvigil.profile import profile_table
from mlvigil.report import column_distribution, distributions
from mlvigil.report.distributions import BINS, OTHER, TOP_CATEGORIES


def _profiles(reference: dict[str, object], current: dict[str, object]):  # type: ignore[no-untyped-def]
    return profile_table(pa.table(reference)), profile_table(pa.table(current))


def test_histogram_shares_match_numpy_on_the_same_bins() -> None:
    rng = np.random.default_rng(1)
    ref_values, cur_values = rng.normal(0, 1, 200_000), rng.normal(0.5, 2, 200_000)
    ref, cur = _profiles({"x": ref_values}, {"x": cur_values})

    d = column_distribution("x", ref.columns["x"], cur.columns["x"])

    assert d.kind == "numerical"
    assert len(d.labels) == BINS
    assert len(d.edges) == BINS + 1
    for values, shares in ((ref_values, d.reference), (cur_values, d.current)):
        # The end bins hold the tails, as the module promises.
        clipped = np.clip(values, d.edges[0], d.edges[-1])
        expected = np.histogram(clipped, bins=np.asarray(d.edges))[0] / len(values)
        rank_error = ref.columns["x"].quantiles.rank_error  # type: ignore[union-attr]
        assert np.abs(np.asarray(shares) - expected).max() < 2 * rank_error
        assert sum(shares) == pytest.approx(1.0)


def test_bins_cover_the_central_range_of_both_sides() -> None:
    ref, cur = _profiles({"x": np.arange(1000.0)}, {"x": np.arange(1000.0) + 5000})
    d = column_distribution("x", ref.columns["x"], cur.columns["x"])
    assert d.edges[0] < 50
    assert d.edges[-1] > 5900
    low_bins = [i for i, edge in enumerate(d.edges[1:]) if edge <= 1300]
    assert sum(d.reference[i] for i in low_bins) == pytest.approx(1.0)
    assert sum(d.current[i] for i in low_bins) == 0.0


def test_categories_show_the_most_common_and_sum_the_rest() -> None:
    names = [f"c{i:02d}" for i in range(30)]
    reference = {"c": [names[i % 30] for i in range(3000)] + [None] * 1000}
    current = {"c": ["c00"] * 3000 + ["new"] * 1000}
    ref, cur = _profiles(reference, current)

    d = column_distribution("c", ref.columns["c"], cur.columns["c"])

    assert d.kind == "categorical"
    assert d.labels[:2] == ("c00", "new")
    assert len(d.labels) == TOP_CATEGORIES + 1
    assert d.labels[-1] == OTHER
    assert d.current[:2] == (0.75, 0.25)
    assert d.reference[0] == pytest.approx(1 / 30)
    assert d.reference[-1] == pytest.approx(1 - 11 / 30)  # c00 plus ten more shown
    assert d.reference_null_rate == 0.25
    assert d.current_null_rate == 0.0


def test_all_null_and_missing_sides_give_nothing_to_draw() -> None:
    ref, cur = _profiles({"x": pa.array([None, None], pa.float64())}, {"x": [1.0, 2.0]})
    assert column_distribution("x", ref.columns["x"], None).kind == "none"
    assert column_distribution("x", None, cur.columns["x"]).kind == "numerical"


def test_constant_columns_get_one_filled_bin() -> None:
    ref, cur = _profiles({"x": [3.0] * 100}, {"x": [3.0] * 50})
    d = column_distribution("x", ref.columns["x"], cur.columns["x"])
    assert d.reference[0] == 1.0
    assert d.current[0] == 1.0


def test_distributions_cover_the_shared_columns() -> None:
    ref, cur = _profiles({"a": [1.0, 2.0], "b": ["x", "y"]}, {"a": [1.0], "c": [0.0]})
    assert [d.column for d in distributions(ref, cur)] == ["a"]
    assert distributions(ref, cur)[0].to_dict()["kind"] == "numerical"
