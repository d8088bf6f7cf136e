"""Merging profiles: merge(parts) agrees with the profile of the whole, in any order.

Exact parts (counts, nulls, NaN, infinities, min, max, category counts, the
distinct counters' registers) must agree exactly; mean and variance to 1e-9
relative; quantile ranks within the merged KLL sketch's rank error; frequent
items within their stated bounds. Small sketches (k = 16, frequent-items map of
8) make compaction and purging happen on small inputs.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlvigil.profile import ColumnProfile, DatasetProfile, ProfileConfig, profile_table

CONFIG = ProfileConfig(quantile_k=16, frequent_items_lg_k=3, max_categories=8, workers=1)
LABELS = [f"v{i}" for i in range(12)]

floats = st.one_of(
    st.none(),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0]),
)
row = st.tuples(
    floats,
    st.one_of(st.none(), st.integers(0, 20)),
    st.one_of(st.none(), st.sampled_from(LABELS)),
    st.one_of(st.none(), st.booleans()),
)


def _table(rows: list[tuple[Any, ...]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    return pa.table(
        {
            "x": pa.array(columns[0], pa.float64()),
            "k": pa.array(columns[1], pa.int64()),
            "s": pa.array(columns[2], pa.string()),
            "b": pa.array(columns[3], pa.bool_()),
        }
    )


def _profile(rows: list[tuple[Any, ...]]) -> DatasetProfile:
    return profile_table(_table(rows), config=CONFIG)


def _exact(column: ColumnProfile) -> tuple[Any, ...]:
    moments = column.moments
    return (
        column.kind,
        column.type,
        column.count,
        column.nulls,
        column.nan,
        column.inf,
        column.category_counts,
        column.categories_capped,
        column.distinct_sketch,
        None if moments is None else (moments.n, moments.minimum, moments.maximum),
        None if column.quantiles is None else column.quantiles.n,
    )


def _assert_same_exact_parts(a: DatasetProfile, b: DatasetProfile) -> None:
    assert a.row_count == b.row_count
    assert list(a.columns) == list(b.columns)
    for name in a.columns:
        assert _exact(a.columns[name]) == _exact(b.columns[name]), name
        ma, mb = a.columns[name].moments, b.columns[name].moments
        if ma is not None and mb is not None and ma.n:
            scale = max(abs(ma.mean), 1.0)
            assert ma.mean == pytest.approx(mb.mean, rel=1e-9, abs=1e-9 * scale)
            assert ma.m2 == pytest.approx(mb.m2, rel=1e-9, abs=1e-9 * scale**2)


def _finite_sorted(rows: list[tuple[Any, ...]]) -> np.ndarray:
    values = np.array([r[0] for r in rows if r[0] is not None], dtype=np.float64)
    return np.sort(values[np.isfinite(values)])


def _check_against_data(merged: DatasetProfile, rows: list[tuple[Any, ...]]) -> None:
    values = _finite_sorted(rows)
    x = merged.columns["x"]
    assert x.moments is not None
    assert x.quantiles is not None
    if values.size:
        assert x.moments.mean == pytest.approx(values.mean(), rel=1e-9, abs=1e-3)
        assert x.moments.variance == pytest.approx(values.var(), rel=1e-9, abs=1e-3)
        for rank in (0.05, 0.25, 0.5, 0.75, 0.95):
            (quantile,) = x.quantiles.quantiles([rank])
            below = np.searchsorted(values, quantile, side="left") / values.size
            upto = np.searchsorted(values, quantile, side="right") / values.size
            slack = x.quantiles.rank_error + 1.0 / values.size
            assert below - slack <= rank <= upto + slack
    true_counts = Counter(r[2] for r in rows if r[2] is not None)
    s = merged.columns["s"]
    if len(true_counts) <= CONFIG.max_categories:
        assert s.counts == dict(true_counts)
    else:
        assert s.categories_capped
        assert s.frequent_items is not None
        assert s.frequent_items.total_weight == sum(true_counts.values())
        for value, _, lower, upper in s.frequent_items.top(20):
            assert lower <= true_counts[value] <= upper
    distinct = len({r[1] for r in rows if r[1] is not None})
    assert abs(merged.columns["k"].distinct_sketch.estimate() - distinct) <= max(
        3 * 0.0163 * distinct, 0.5
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(row, max_size=250), st.data())
def test_merged_parts_agree_with_the_whole(
    rows: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(rows)))
    merged = _profile(rows[:cut]).merge(_profile(rows[cut:]))
    _assert_same_exact_parts(merged, _profile(rows))
    _check_against_data(merged, rows)


@settings(max_examples=25, deadline=None)
@given(st.lists(row, max_size=150), st.data())
def test_merge_is_commutative_and_associative(
    rows: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    first = data.draw(st.integers(0, len(rows)))
    second = data.draw(st.integers(first, len(rows)))
    a, b, c = _profile(rows[:first]), _profile(rows[first:second]), _profile(rows[second:])
    assert a.merge(b).columns["x"].moments == b.merge(a).columns["x"].moments
    _assert_same_exact_parts(a.merge(b), b.merge(a))
    left, right = a.merge(b).merge(c), a.merge(b.merge(c))
    _assert_same_exact_parts(left, right)
    _check_against_data(left, rows)
    _check_against_data(right, rows)


def test_a_profile_without_rows_is_the_identity() -> None:
    rows = [(1.5, 3, "v1", True), (None, None, None, None), (math.nan, 4, "v2", False)]
    profile = _profile(rows)
    _assert_same_exact_parts(profile.merge(_profile([])), profile)
    _assert_same_exact_parts(_profile([]).merge(profile), profile)


def test_capped_and_uncapped_profiles_merge_into_correct_frequent_items() -> None:
    many = [(None, None, LABELS[i % 12], None) for i in range(120)]  # 12 labels: capped
    few = [(None, None, "v0", None)] * 50 + [(None, None, "v1", None)] * 5  # under the cap
    merged = _profile(many).merge(_profile(few))
    column = merged.columns["s"]
    assert column.counts is None
    assert column.frequent_items is not None
    assert column.frequent_items.total_weight == 175
    top = {v: (lo, hi) for v, _, lo, hi in column.frequent_items.top(3)}
    assert top["v0"][0] <= 60 <= top["v0"][1]
    assert _profile(few).merge(_profile(many)).columns["s"].categories_capped
