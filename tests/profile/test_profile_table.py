"""profile_table: statistics against independent computations, every input kind, types."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import csv

from mlvigil import ColumnType, ConfigError, InputError, UnreadableInputError
from mlvigil.profile import DatasetProfile, ProfileConfig, ValueKind, profile_table
from mlvigil.schema import infer_column_type


@pytest.fixture(scope="module")
def table() -> pa.Table:
    rng = np.random.default_rng(11)
    n = 20_000
    x = rng.gamma(2.0, 3.0, n)
    x[:40] = np.nan
    x[40:45] = np.inf
    x[45:47] = -np.inf
    return pa.table(
        {
            "x": pa.array(x, mask=rng.random(n) < 0.05),
            "k": pa.array(rng.integers(0, 4, n)),
            "id": pa.array(np.arange(n)),
            "c": pa.array(rng.choice(["red", "green", "blue"], n, p=[0.6, 0.3, 0.1])),
            "text": pa.array([f"note {i}" for i in rng.permutation(n)]),
            "flag": pa.array(rng.random(n) < 0.25),
            "when": pa.array(
                np.datetime64("2024-03-01") + rng.integers(0, 86_400, n).astype("timedelta64[s]")
            ),
            "empty": pa.nulls(n, pa.float64()),
        }
    )


@pytest.fixture(scope="module")
def profile(table: pa.Table) -> DatasetProfile:
    return profile_table(table, timestamp="when")


def test_counts_and_moments_match_numpy(table: pa.Table, profile: DatasetProfile) -> None:
    x = profile.columns["x"]
    raw = table["x"].to_numpy(zero_copy_only=False)  # nulls become NaN here
    valid = table["x"].is_valid().to_numpy(zero_copy_only=False)
    values = raw[valid]
    finite = values[np.isfinite(values)]
    assert (x.count, x.nulls) == (len(raw), int((~valid).sum()))
    assert x.nan == int(np.isnan(values).sum())
    assert x.inf == int(np.isinf(values).sum()) == 7
    assert x.moments is not None
    assert x.moments.n == finite.size
    assert (x.moments.minimum, x.moments.maximum) == (finite.min(), finite.max())
    assert x.moments.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert x.moments.std == pytest.approx(finite.std(), rel=1e-12)


def test_quantiles_are_within_the_sketch_rank_error(
    table: pa.Table, profile: DatasetProfile
) -> None:
    sketch = profile.columns["x"].quantiles
    assert sketch is not None
    values = np.sort(table["x"].drop_null().to_numpy())
    values = values[np.isfinite(values)]
    for rank in (0.01, 0.25, 0.5, 0.9, 0.99):
        (estimate,) = sketch.quantiles([rank])
        true_rank = np.searchsorted(values, estimate, side="right") / values.size
        assert abs(true_rank - rank) <= sketch.rank_error + 1 / values.size


def test_categories_distinct_counts_and_top_items_are_exact_under_the_cap(
    table: pa.Table, profile: DatasetProfile
) -> None:
    expected = Counter(table["c"].to_pylist())
    c = profile.columns["c"]
    assert c.counts == dict(expected)
    assert c.distinct == 3
    assert [item[0] for item in c.top_items()] == [v for v, _ in expected.most_common()]
    assert profile.columns["k"].counts == dict(Counter(table["k"].to_pylist()))
    assert profile.columns["flag"].counts == dict(Counter(table["flag"].to_pylist()))


def test_high_cardinality_columns_drop_to_sketches(profile: DatasetProfile) -> None:
    ids, text = profile.columns["id"], profile.columns["text"]
    assert ids.counts is None
    assert ids.categories_capped
    assert ids.frequent_items is None  # numbers keep their KLL sketch instead
    assert text.counts is None
    assert text.frequent_items is not None
    assert text.quantiles is None
    assert abs(text.distinct - 20_000) <= 3 * 0.0163 * 20_000


def test_types_agree_with_the_engine_inference(table: pa.Table, profile: DatasetProfile) -> None:
    for name in table.column_names:
        assert profile.columns[name].type is infer_column_type(table[name]), name
    assert profile.columns["empty"].type is ColumnType.UNKNOWN


def test_datetimes_keep_their_range_and_give_the_time_range(
    table: pa.Table, profile: DatasetProfile
) -> None:
    when = profile.columns["when"]
    assert when.kind is ValueKind.DATETIME
    expected = (pa.compute.min(table["when"]).as_py(), pa.compute.max(table["when"]).as_py())
    assert profile.time_range == expected
    assert when.quantiles is None
    assert when.moments is None


def test_time_zones_durations_and_dates_are_kept() -> None:
    zoned = pa.array([0, 3_600_000_000_000], pa.timestamp("ns", "Europe/Paris"))
    profile = profile_table(
        pa.table(
            {
                "zoned": zoned,
                "took": pa.array([timedelta(seconds=5), timedelta(minutes=2)]),
                "day": pa.array([date(2024, 1, 3), date(2023, 12, 31)]),
            }
        )
    )
    zoned_bounds = profile.columns["zoned"].time.bounds()  # type: ignore[union-attr]
    assert zoned_bounds is not None
    assert zoned_bounds[1].astimezone(UTC) == datetime(1970, 1, 1, 1, tzinfo=UTC)
    assert profile.columns["took"].to_dict()["max"] == "0:02:00"
    assert profile.columns["day"].to_dict()["min"] == "2023-12-31T00:00:00"


def test_to_dict_is_plain_json_with_the_documented_fields(profile: DatasetProfile) -> None:
    summary = orjson.loads(orjson.dumps(profile.to_dict()))
    assert summary["rows"] == 20_000
    assert summary["time_range"][0].startswith("2024-03-01T")
    x = summary["columns"]["x"]
    for key in ("type", "count", "nulls", "nan", "inf", "min", "max", "mean", "std", "distinct"):
        assert key in x
    assert list(x["quantiles"]) == ["p1", "p5", "p25", "p50", "p75", "p95", "p99"]
    red = profile.columns["c"].counts["red"]  # type: ignore[index]
    assert summary["columns"]["c"]["frequent_items"][0] == ["red", red, red, red]
    empty = summary["columns"]["empty"]
    assert (empty["min"], empty["mean"], empty["quantiles"]) == (None, None, None)
    assert empty["frequent_items"] == []


@pytest.mark.parametrize("kind", ["pandas", "polars", "csv", "parquet"])
def test_every_input_kind_gives_the_same_exact_statistics(kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    table = pa.table(
        {"x": rng.normal(size=3_000), "c": rng.choice(["a", "b"], 3_000), "n": np.arange(3_000)}
    )
    if kind == "pandas":
        data: object = table.to_pandas()
    elif kind == "polars":
        import polars as pl

        data = pl.from_arrow(table)
    elif kind == "csv":
        csv.write_csv(table, tmp_path / "t.csv")
        data = tmp_path / "t.csv"
    else:
        pq.write_table(table, tmp_path / "t.parquet", row_group_size=1_000)
        data = str(tmp_path / "t.parquet")
    expected, got = profile_table(table), profile_table(data)
    for name in ("x", "c", "n"):
        a, b = expected.columns[name], got.columns[name]
        assert (a.count, a.nulls, a.counts, a.type) == (b.count, b.nulls, b.counts, b.type)
        assert a.distinct_sketch == b.distinct_sketch
        if a.moments is not None:
            assert b.moments is not None
            assert b.moments.mean == pytest.approx(a.moments.mean, rel=1e-12)
            assert (b.moments.minimum, b.moments.maximum) == (a.moments.minimum, a.moments.maximum)


def test_one_worker_and_many_give_the_same_exact_parts(table: pa.Table) -> None:
    serial = profile_table(table, config=ProfileConfig(workers=1))
    parallel = profile_table(table, config=ProfileConfig(workers=4))
    for name in table.column_names:
        a, b = serial.columns[name], parallel.columns[name]
        assert (a.count, a.nulls, a.nan, a.inf, a.counts) == (
            b.count,
            b.nulls,
            b.nan,
            b.inf,
            b.counts,
        )
        assert a.moments == b.moments
        assert a.distinct_sketch == b.distinct_sketch


def test_empty_tables_and_all_null_columns_profile_cleanly() -> None:
    profile = profile_table(
        pa.table({"x": pa.array([], pa.float64()), "s": pa.array([], pa.string())})
    )
    assert profile.row_count == 0
    x = profile.columns["x"]
    assert (x.count, x.type, x.distinct) == (0, ColumnType.UNKNOWN, 0)
    assert x.to_dict()["mean"] is None
    nulls = profile_table(pa.table({"z": pa.nulls(5)})).columns["z"]
    assert (nulls.kind, nulls.nulls, nulls.type) == (ValueKind.NULL, 5, ColumnType.UNKNOWN)


def test_bad_timestamp_options_and_inputs_raise_input_errors(tmp_path: Path) -> None:
    table = pa.table({"x": [1.0], "t": ["2024-01-01"]})
    with pytest.raises(InputError, match="'nope' not found"):
        profile_table(table, timestamp="nope")
    with pytest.raises(InputError, match="holds string values, not timestamps"):
        profile_table(table, timestamp="t")
    with pytest.raises(UnreadableInputError, match="no such file"):
        profile_table(tmp_path / "missing.parquet")
    with pytest.raises(ConfigError, match="max_categories"):
        ProfileConfig(max_categories=1)


def test_integers_beyond_float_precision_and_decimals_are_profiled_as_floats() -> None:
    from decimal import Decimal

    profile = profile_table(
        pa.table(
            {
                "big": pa.array([2**62, 2**62 + 1, 5], pa.int64()),
                "money": pa.array([Decimal("1.25"), Decimal("2.75"), None], pa.decimal128(5, 2)),
            }
        )
    )
    assert profile.columns["big"].moments.maximum == math.ldexp(1.0, 62)  # type: ignore[union-attr]
    assert profile.columns["big"].counts == {5: 1, 2**62: 1, 2**62 + 1: 1}
    assert profile.columns["money"].moments.mean == 2.0  # type: ignore[union-attr]
