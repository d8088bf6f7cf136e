"""Each quality check on its own: verdicts, reported facts, and degenerate input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from mlvigil.checks.quality import (
    OutlierRule,
    RangeRule,
    VolumeConfig,
    check_allowed,
    check_completeness,
    check_extra_columns,
    check_freshness,
    check_outliers,
    check_range,
    check_required,
    check_uniqueness,
    check_volume,
    evaluate_type,
    parse_duration,
)
from mlvigil.checks.result import CheckStatus, Severity
from mlvigil.exceptions import ConfigError
from mlvigil.schema import ColumnType

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------- completeness


def test_null_rate_counts_nulls_and_nans_over_all_rows() -> None:
    values = pa.array([1.0, None, float("nan"), 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    result = check_completeness(values, column="amount", max_null_rate=0.1)
    assert result.value == pytest.approx(0.2)
    assert result.status is CheckStatus.FAILED
    assert result.details["nulls"] == 2
    assert (result.check, result.metric, result.column, result.threshold) == (
        "completeness",
        "null_rate",
        "amount",
        0.1,
    )


def test_null_rate_at_the_threshold_passes() -> None:
    values = pa.array([1, None, 3, 4])
    assert check_completeness(values, column="x", max_null_rate=0.25).passed
    assert not check_completeness(values, column="x", max_null_rate=0.24).passed


def test_all_null_column_fails_completeness_with_rate_one() -> None:
    result = check_completeness(pa.nulls(5), column="x", max_null_rate=0.5)
    assert result.value == 1.0
    assert result.status is CheckStatus.FAILED


def test_completeness_of_an_empty_column_is_an_error_not_a_pass() -> None:
    result = check_completeness(pa.array([], pa.float64()), column="x", max_null_rate=0.5)
    assert result.status is CheckStatus.ERROR
    assert result.value is None
    assert "no rows" in result.message


# ---------------------------------------------------------------- uniqueness


def test_duplicate_rate_is_one_minus_distinct_over_rows() -> None:
    table = pa.table({"user_id": [1, 2, 2, 3, 3, 3, 4, 5]})
    result = check_uniqueness(table, ["user_id"])
    assert result.value == pytest.approx(1 - 5 / 8)
    assert result.status is CheckStatus.FAILED
    assert result.details["examples"] == [3, 2]  # most repeated first
    assert result.column == "user_id"


def test_composite_key_counts_combinations_not_single_columns() -> None:
    table = pa.table({"order_id": [1, 1, 2, 2], "line": [1, 2, 1, 2]})
    assert check_uniqueness(table, ["order_id", "line"]).value == 0.0
    assert check_uniqueness(table, ["order_id"]).value == 0.5
    result = check_uniqueness(table, ["order_id", "line"])
    assert result.column == "order_id,line"
    assert result.details["key"] == ["order_id", "line"]


def test_rows_with_a_null_key_part_are_left_out_of_the_duplicate_rate() -> None:
    table = pa.table({"a": [1, 1, None, None], "b": ["x", "y", "x", "x"]})
    result = check_uniqueness(table, ["a", "b"])
    assert result.value == 0.0
    assert result.details["null_key_rows"] == 2
    assert result.details["rows"] == 2


def test_duplicate_threshold_allows_a_small_rate() -> None:
    table = pa.table({"k": [*range(99), 0]})
    assert check_uniqueness(table, ["k"], max_duplicate_rate=0.01).passed
    assert not check_uniqueness(table, ["k"], max_duplicate_rate=0.009).passed


def test_uniqueness_of_dictionary_and_string_keys() -> None:
    keys = pa.chunked_array(
        [pa.array(["a", "b"]).dictionary_encode(), pa.array(["b", "c"]).dictionary_encode()]
    )
    assert check_uniqueness(pa.table({"k": keys}), ["k"]).value == pytest.approx(0.25)


def test_uniqueness_with_only_null_keys_is_an_error() -> None:
    result = check_uniqueness(pa.table({"k": pa.array([None, None], pa.int64())}), ["k"])
    assert result.status is CheckStatus.ERROR
    assert "null key" in result.message


# ---------------------------------------------------------------- schema


def test_missing_required_column_fails_and_suggests_the_near_name() -> None:
    results = check_required(["user_id", "amout"], ["user_id", "amount"])
    assert [r.passed for r in results] == [True, False]
    assert "did you mean 'amout'" in results[1].message
    assert results[1].value == 0.0


@pytest.mark.parametrize(
    ("expected", "arrow_type", "matches"),
    [
        ("numerical", pa.int32(), True),
        ("numerical", pa.float64(), True),
        ("numerical", pa.string(), False),
        ("numerical", pa.bool_(), False),
        ("categorical", pa.string(), True),
        ("categorical", pa.dictionary(pa.int32(), pa.string()), True),
        ("categorical", pa.int64(), True),
        ("categorical", pa.float64(), False),
        ("boolean", pa.bool_(), True),
        ("boolean", pa.string(), False),
        ("datetime", pa.timestamp("us", tz="UTC"), True),
        ("datetime", pa.date32(), True),
        ("datetime", pa.string(), False),
        ("text", pa.large_string(), True),
        ("text", pa.int64(), False),
    ],
)
def test_declared_type_is_compared_with_the_arrow_type_family(
    expected: str, arrow_type: pa.DataType, matches: bool
) -> None:
    result = evaluate_type("c", expected=expected, arrow_type=arrow_type)
    assert result.passed is matches
    assert result.value == (1.0 if matches else 0.0)


def test_type_of_an_all_null_column_cannot_be_checked() -> None:
    result = evaluate_type("c", expected=ColumnType.NUMERICAL, arrow_type=pa.null())
    assert result.status is CheckStatus.ERROR
    assert "every value is null" in result.message


def test_undeclared_columns_are_reported_by_name() -> None:
    result = check_extra_columns(["a", "b", "debug", "tmp"], {"a", "b"})
    assert result.status is CheckStatus.FAILED
    assert result.value == 2.0
    assert result.details["unexpected"] == ["debug", "tmp"]
    assert check_extra_columns(["a"], {"a", "b"}).passed


def test_unexpected_categories_are_reported_with_rate_and_most_common_first() -> None:
    values = pa.array(["US"] * 90 + ["XX"] * 6 + ["YY"] * 3 + [None])
    result = check_allowed(values, column="country", allowed=["US", "DE"])
    assert result.value == pytest.approx(9 / 99)  # nulls are completeness's business
    assert result.status is CheckStatus.FAILED
    top = result.details["unexpected_values"]
    assert [(e["value"], e["count"]) for e in top] == [("XX", 6), ("YY", 3)]
    assert top[0]["rate"] == pytest.approx(6 / 99)
    assert "'XX'" in result.message


def test_allowed_values_compare_in_the_column_type_or_as_text() -> None:
    codes = pa.array([1, 2, 2, 3])
    assert check_allowed(codes, column="c", allowed=[1, 2]).value == 0.25
    assert check_allowed(codes, column="c", allowed=["1", "2", "3"]).passed
    assert check_allowed(codes, column="c", allowed=["01", "02", "03"]).passed  # as numbers
    flags = pa.array([True, False, True])
    assert check_allowed(flags, column="f", allowed=[True]).value == pytest.approx(1 / 3)
    mixed = check_allowed(pa.array(["a", "1"]), column="m", allowed=["a", 1])
    assert mixed.passed


def test_allowed_values_of_a_dictionary_column() -> None:
    values = pa.array(["a", "b", "z"]).dictionary_encode()
    result = check_allowed(values, column="c", allowed=["a", "b"])
    assert result.value == pytest.approx(1 / 3)
    assert result.details["unexpected_values"][0]["value"] == "z"


def test_allowed_values_of_an_all_null_column_is_an_explicit_error() -> None:
    result = check_allowed(pa.array([None, None], pa.string()), column="c", allowed=["a"])
    assert result.status is CheckStatus.ERROR
    assert "all 2 values are missing" in result.message


def test_range_reports_rate_and_the_most_extreme_offenders() -> None:
    values = pa.array([-5.0, -1.0, 0.0, 10.0, 500.0, 10_001.0, 99_999.0, None])
    result = check_range(values, column="amount", rule=RangeRule(min=0, max=10_000))
    assert result.value == pytest.approx(4 / 7)
    assert result.details["below"] == 2
    assert result.details["above"] == 2
    assert result.details["examples"][0] == 99_999.0
    assert set(result.details["examples"]) == {-5.0, -1.0, 10_001.0, 99_999.0}
    assert result.details["observed_min"] == -5.0


def test_range_bounds_are_inclusive_and_may_be_open() -> None:
    values = pa.array([0, 5, 10])
    assert check_range(values, column="x", rule=RangeRule(min=0, max=10)).passed
    assert check_range(values, column="x", rule=RangeRule(max=10)).passed
    assert not check_range(values, column="x", rule=RangeRule(min=1)).passed


def test_infinite_values_are_out_of_any_finite_range() -> None:
    values = pa.array([1.0, float("inf"), float("-inf"), 2.0])
    result = check_range(values, column="x", rule=RangeRule(min=0, max=10))
    assert result.value == 0.5
    assert json.dumps(result.to_dict())  # examples stay JSON-serialisable


def test_range_on_a_string_column_explains_it_needs_numbers() -> None:
    result = check_range(pa.array(["a", "b"]), column="name", rule=RangeRule(min=0))
    assert result.status is CheckStatus.ERROR
    assert "holds string values" in result.message


# ---------------------------------------------------------------- outliers


def test_zscore_flags_values_beyond_n_std_population_deviations() -> None:
    rng = np.random.default_rng(3)
    data = np.concatenate([rng.normal(0, 1, 995), [50.0, -40.0, 60.0, 45.0, 55.0]])
    result = check_outliers(pa.array(data), column="latency", rule=OutlierRule("zscore"))
    mean, std = data.mean(), data.std()
    expected = np.mean(np.abs(data - mean) > 3 * std)
    assert result.value == pytest.approx(expected)
    assert result.details["lower"] == pytest.approx(mean - 3 * std)
    assert result.details["examples"][0] == 60.0
    assert len(result.details["examples"]) == 5


def test_iqr_fences_follow_tukey_with_k() -> None:
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 100.0])
    q1, q3 = np.percentile(data, [25, 75])
    result = check_outliers(pa.array(data), column="x", rule=OutlierRule("iqr", k=1.5))
    assert result.details["lower"] == pytest.approx(q1 - 1.5 * (q3 - q1))
    assert result.details["upper"] == pytest.approx(q3 + 1.5 * (q3 - q1))
    assert result.value == pytest.approx(1 / 9)
    assert not result.passed  # default max_rate 0.01
    wide = check_outliers(pa.array(data), column="x", rule=OutlierRule("iqr", k=100))
    assert wide.value == 0.0


def test_outlier_rate_at_max_rate_passes() -> None:
    data = [10.0] * 9 + [11.0] * 10 + [1000.0]
    rule = OutlierRule("iqr", max_rate=0.05)
    assert check_outliers(pa.array(data), column="x", rule=rule).passed


def test_constant_column_has_no_zscore_outliers_and_says_so() -> None:
    result = check_outliers(pa.array([4.0] * 10), column="x")
    assert result.value == 0.0
    assert "constant" in result.message


def test_outliers_on_a_categorical_column_is_an_explicit_error() -> None:
    result = check_outliers(pa.array(["a", "b"]), column="country")
    assert result.status is CheckStatus.ERROR
    assert "outlier checks need numbers" in result.message


@pytest.mark.parametrize(
    ("values", "phrase"),
    [(pa.array([], pa.float64()), "no rows"), (pa.array([None, float("nan")]), "no finite")],
)
def test_outliers_without_values_is_an_explicit_error(values: pa.Array, phrase: str) -> None:
    result = check_outliers(values, column="x")
    assert result.status is CheckStatus.ERROR
    assert phrase in result.message


# ---------------------------------------------------------------- freshness


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86_400), ("30m", 1_800), ("2d", 172_800), ("1h30m", 5_400), ("1w", 604_800)],
)
def test_durations_read_as_unit_suffixed_text(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_durations_read_plain_seconds() -> None:
    assert parse_duration(3600) == parse_duration("3600") == timedelta(hours=1)


@pytest.mark.parametrize("bad", ["24 hours", "h", "", "-1h", 0, True])
def test_unreadable_or_non_positive_durations_raise_config_error(bad: object) -> None:
    with pytest.raises(ConfigError):
        parse_duration(bad)  # type: ignore[arg-type]


def test_freshness_is_the_age_of_the_newest_timestamp_in_hours() -> None:
    times = pa.array([datetime(2024, 5, 31, 0, 0), datetime(2024, 6, 1, 6, 0), None])
    result = check_freshness(times, column="event_time", max_age="24h", now=NOW)
    assert result.value == pytest.approx(6.0)
    assert result.threshold == 24.0
    assert result.passed
    stale = check_freshness(times, column="event_time", max_age="2h", now=NOW)
    assert stale.status is CheckStatus.FAILED
    assert stale.details["newest"] == "2024-06-01T06:00:00+00:00"


def test_freshness_clock_can_be_a_function() -> None:
    times = pa.array([datetime(2024, 6, 1, 11, 0)])
    result = check_freshness(times, column="t", max_age=3600, now=lambda: NOW)
    assert result.value == pytest.approx(1.0)


def test_freshness_respects_time_zones_and_nanoseconds() -> None:
    berlin = pa.array([1_717_236_000_000_000_000], pa.timestamp("ns", tz="Europe/Berlin"))
    # 2024-06-01T10:00:00Z, whatever zone it is displayed in
    result = check_freshness(berlin, column="t", max_age="1d", now=NOW)
    assert result.value == pytest.approx(2.0)


def test_freshness_reads_iso_strings_and_dates() -> None:
    strings = pa.array(["2024-06-01T09:00:00+02:00", "2024-05-01T00:00:00+00:00"])
    assert check_freshness(strings, column="t", max_age="1d", now=NOW).value == pytest.approx(5.0)
    dates = pa.array([date(2024, 5, 31)])
    assert check_freshness(dates, column="d", max_age="2d", now=NOW).value == pytest.approx(36.0)


def test_future_timestamps_pass_with_a_note() -> None:
    times = pa.array([datetime(2024, 6, 1, 15, 0)])
    result = check_freshness(times, column="t", max_age="1h", now=NOW)
    assert result.value == pytest.approx(-3.0)
    assert result.passed
    assert "future" in result.message


@pytest.mark.parametrize(
    ("values", "phrase"),
    [
        (pa.array([1.5, 2.5]), "not timestamps"),
        (pa.array(["yesterday"]), "not ISO 8601"),
        (pa.array([None], pa.timestamp("us")), "no timestamps"),
        (pa.array([], pa.timestamp("us")), "no timestamps"),
    ],
)
def test_freshness_without_usable_timestamps_is_an_explicit_error(
    values: pa.Array, phrase: str
) -> None:
    result = check_freshness(values, column="t", max_age="1h", now=NOW)
    assert result.status is CheckStatus.ERROR
    assert phrase in result.message


# ---------------------------------------------------------------- volume


def test_row_count_outside_the_range_fails_against_the_bound_it_crossed() -> None:
    config = VolumeConfig(min_rows=100, max_rows=1000)
    (low,) = check_volume(50, config)
    assert (low.status, low.value, low.threshold) == (CheckStatus.FAILED, 50.0, 100.0)
    (high,) = check_volume(5000, config)
    assert (high.status, high.threshold) == (CheckStatus.FAILED, 1000.0)
    (ok,) = check_volume(1000, config)
    assert ok.passed


def test_row_count_deviation_is_relative_to_the_history_median() -> None:
    config = VolumeConfig(history=[1000, 1100, 900, 10, 1050], max_deviation=0.2)
    (result,) = check_volume(700, config)
    assert result.metric == "row_count_deviation"
    assert result.details["median"] == 1000
    assert result.value == pytest.approx(0.3)
    assert result.status is CheckStatus.FAILED
    (ok,) = check_volume(1150, config)
    assert ok.passed  # the outage window (10 rows) does not move the median


def test_volume_checks_range_and_history_together() -> None:
    config = VolumeConfig(min_rows=1, history=[0, 0, 0])
    range_result, history_result = check_volume(5, config, severity=Severity.CRITICAL)
    assert range_result.passed
    assert history_result.value == float("inf")
    assert not history_result.passed
    assert history_result.severity is Severity.CRITICAL


@pytest.mark.parametrize("values", [pa.nulls(3), pa.nulls(3, pa.float64())])
def test_all_null_columns_give_explicit_errors_in_value_checks(values: pa.Array) -> None:
    results = [
        check_outliers(values, column="x"),
        check_range(values, column="x", rule=RangeRule(min=0)),
        check_allowed(values, column="x", allowed=["a"]),
    ]
    for result in results:
        assert result.status is CheckStatus.ERROR, result.check
        assert result.value is None
        assert "missing" in result.message or "no finite" in result.message


def test_freshness_of_an_untyped_all_null_column_finds_no_timestamps() -> None:
    # A CSV column with no values at all has Arrow type null.
    result = check_freshness(pa.nulls(3), column="t", max_age="1h", now=NOW)
    assert result.status is CheckStatus.ERROR
    assert "no timestamps" in result.message
