"""Properties: exact counts agree with plain Python, and summaries give the data's verdicts.

The second half is the promise profiles rely on: feeding ``evaluate_*`` the
summary numbers of a column gives the same result as ``check_*`` on its data.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlvigil.checks.quality import (
    OutlierRule,
    RangeRule,
    check_completeness,
    check_outliers,
    check_range,
    check_uniqueness,
    evaluate_completeness,
    evaluate_outliers,
    evaluate_range,
    evaluate_uniqueness,
    zscore_bounds,
)

FAST = settings(max_examples=60, deadline=None)
small_ints = st.one_of(st.none(), st.integers(0, 4))
floats = st.one_of(
    st.none(), st.just(math.nan), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
)


@FAST
@given(st.lists(st.tuples(small_ints, small_ints), min_size=1, max_size=60))
def test_duplicate_rate_matches_a_python_count(rows: list[tuple[int | None, int | None]]) -> None:
    table = pa.table({"a": [r[0] for r in rows], "b": [r[1] for r in rows]})
    complete = [r for r in rows if None not in r]
    result = check_uniqueness(table, ["a", "b"])
    if not complete:
        assert result.value is None
        return
    assert result.value == pytest.approx((len(complete) - len(set(complete))) / len(complete))
    assert result.details["null_key_rows"] == len(rows) - len(complete)


@FAST
@given(st.lists(floats, min_size=1, max_size=60))
def test_null_rate_matches_a_python_count(values: list[float | None]) -> None:
    missing = sum(v is None or math.isnan(v) for v in values)
    result = check_completeness(pa.array(values, pa.float64()), column="x", max_null_rate=0.5)
    assert result.value == pytest.approx(missing / len(values))
    summary = evaluate_completeness("x", rows=len(values), nulls=missing, max_null_rate=0.5)
    assert (summary.value, summary.status) == (result.value, result.status)


@FAST
@given(
    st.lists(floats, min_size=1, max_size=60),
    st.floats(-1e3, 1e3),
    st.floats(0, 1e3),
)
def test_range_from_counts_equals_range_from_data(
    values: list[float | None], low: float, width: float
) -> None:
    rule = RangeRule(min=low, max=low + width)
    result = check_range(pa.array(values, pa.float64()), column="x", rule=rule)
    present = np.array([v for v in values if v is not None and not math.isnan(v)])
    if len(present) == 0:
        assert result.value is None
        return
    below, above = int((present < rule.min).sum()), int((present > rule.max).sum())
    summary = evaluate_range("x", non_null=len(present), below=below, above=above, rule=rule)
    assert result.value == pytest.approx(summary.value)
    assert result.status is summary.status


@FAST
@given(
    st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=2, max_size=80),
    st.sampled_from([1.0, 2.0, 3.0]),
)
def test_zscore_from_moments_equals_zscore_from_data(values: list[float], n_std: float) -> None:
    rule = OutlierRule("zscore", n_std=n_std)
    result = check_outliers(pa.array(values), column="x", rule=rule)
    data = np.array(values)
    lower, upper = zscore_bounds(float(data.mean()), float(data.std()), n_std)
    count = int(((data < lower) | (data > upper)).sum())
    summary = evaluate_outliers(
        "x", rule=rule, lower=lower, upper=upper, non_null=len(data), outliers=count
    )
    assert result.value == pytest.approx(summary.value)
    assert result.details["lower"] == pytest.approx(lower)


def test_an_overestimated_distinct_count_never_gives_a_negative_rate() -> None:
    # HLL estimates can exceed the row count; the rate floors at 0.
    result = evaluate_uniqueness(["id"], non_null_rows=1000, distinct=1012.4, estimated=True)
    assert result.value == 0.0
    assert result.passed
    assert result.message.startswith("about ")
