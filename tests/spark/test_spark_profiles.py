"""profile_dataframe on real Spark equals profile_table on one machine.

For any split of the rows into partitions, and per window and segment, the profiles
merged from Spark tasks agree with the single-process profile of the same rows: exact
parts exactly, moments to float rounding, quantiles within the KLL rank error.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import Phase, given, note, settings
from hypothesis import strategies as st
from spark_support import (
    CONFIG,
    ROWS,
    assert_quantiles_within_rank_error,
    assert_same_profile,
    make_table,
)

from mlvigil.exceptions import ConfigError, InputError
from mlvigil.profile import profile_table


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return make_table()


@pytest.fixture(scope="module")
def frame(spark: Any, table: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("spark") / "table.parquet"
    pq.write_table(table, path)
    return spark.read.parquet(str(path))


def _partitioned(spark: Any, frame: Any, table: pa.Table, sizes: list[int], seed: int) -> Any:
    """``table``'s rows, shuffled, in partitions of exactly ``sizes`` rows (empty ones too)."""
    rows = table.take(np.random.default_rng(seed).permutation(table.num_rows)).to_pylist()
    bounds = np.cumsum([0, *sizes]).tolist()
    chunks = [rows[low:high] for low, high in itertools.pairwise(bounds)]
    rdd = spark.sparkContext.parallelize(chunks, len(chunks)).flatMap(lambda chunk: chunk)
    return spark.createDataFrame(rdd, schema=frame.schema)


@st.composite
def splits(draw: st.DrawFn) -> list[int]:
    """Partition sizes adding up to the table's rows: skewed, tiny or empty ones included."""
    cuts = sorted(draw(st.lists(st.integers(0, ROWS), max_size=6)))
    return np.diff([0, *cuts, ROWS]).tolist()


# Few examples, and no shrinking: each one runs Spark jobs.
@settings(max_examples=5, derandomize=True, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(sizes=splits(), seed=st.integers(0, 2**32 - 1))
def test_merged_profile_equals_the_single_process_profile_for_any_split(
    spark: Any, frame: Any, table: pa.Table, sizes: list[int], seed: int
) -> None:
    from mlvigil.spark import ProfileKey, profile_dataframe

    note(f"partition sizes {sizes}, row order seed {seed}")
    parts = _partitioned(spark, frame, table, sizes, seed)
    assert parts.rdd.glom().map(len).collect() == sizes
    profiles = profile_dataframe(parts, timestamp="ts", config=CONFIG)
    assert list(profiles) == [ProfileKey(None, ())]
    merged = profiles[ProfileKey(None, ())]
    assert_same_profile(merged, profile_table(table, timestamp="ts", config=CONFIG))
    assert_quantiles_within_rank_error(merged, table["x"])
    assert merged.time_range == (pc.min(table["ts"]).as_py(), pc.max(table["ts"]).as_py())
    windowed = profile_dataframe(
        parts, timestamp="ts", window=timedelta(hours=1), segments=["seg"], config=CONFIG
    )
    for key, rows in _slices(table).items():
        assert_same_profile(windowed[key], profile_table(rows, timestamp="ts", config=CONFIG))
        assert_quantiles_within_rank_error(windowed[key], rows["x"])
    assert set(windowed) == set(_slices(table))


def _slices(table: pa.Table) -> dict[Any, pa.Table]:
    """The rows of each (hour, segment), cut on one machine."""
    from mlvigil.spark import ProfileKey

    hours = pc.floor_temporal(table["ts"], unit="hour")
    expected = {}
    for hour in pc.unique(hours).to_pylist():
        in_hour = (
            pc.is_null(hours) if hour is None else pc.equal(hours, pa.scalar(hour, hours.type))
        )
        for segment in ("a", "b", "c"):
            rows = table.filter(pc.and_(in_hour, pc.equal(table["seg"], segment)))
            if rows.num_rows:
                expected[ProfileKey(hour, (segment,))] = rows
    return expected


def test_window_and_segment_profiles_equal_the_profiles_of_their_slices(
    frame: Any, table: pa.Table
) -> None:
    from mlvigil.spark import ProfileKey, profile_dataframe

    profiles = profile_dataframe(
        frame.repartition(3),
        timestamp="ts",
        window=timedelta(hours=1),
        segments=["seg"],
        config=CONFIG,
    )
    expected = _slices(table)
    assert set(profiles) == set(expected)
    assert len(profiles) == 6 * 3  # five hours across six clock hours, plus null stamps
    assert list(profiles)[-3:] == [ProfileKey(None, (s,)) for s in ("a", "b", "c")]
    for key, rows in expected.items():
        profile = profiles[key]
        assert_same_profile(profile, profile_table(rows, timestamp="ts", config=CONFIG))
        assert_quantiles_within_rank_error(profile, rows["x"])
    total = profiles.total()
    assert total is not None
    assert total.row_count == table.num_rows


def test_windows_are_aligned_on_the_epoch_in_utc(frame: Any, table: pa.Table) -> None:
    from mlvigil.spark import profile_dataframe

    window = timedelta(minutes=90)
    profiles = profile_dataframe(frame, timestamp="ts", window=window, columns=["x"])
    stamps = [t for t in table["ts"].to_pylist() if t is not None]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    starts = {epoch + (t - epoch) // window * window for t in stamps}
    assert {key.window_start for key in profiles} == {*starts, None}
    for key, profile in profiles.items():
        assert list(profile.columns) == ["x", "ts"]
        if key.window_start is not None:
            low, high = profile.time_range or (None, None)
            assert key.window_start <= low <= high < key.window_start + window


def test_a_pandas_written_parquet_file_goes_through(spark: Any, tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    from mlvigil.spark import ProfileKey, profile_dataframe

    data = pandas.DataFrame(
        {
            "feature": [0.5, 1.5, None, 3.5] * 50,
            "count": [1, 2, 3, 4] * 50,
            "label": ["cat", "dog", None, "cat"] * 50,
            "at": pandas.date_range("2024-01-01", periods=200, freq="min", tz="UTC"),
        }
    )
    # pandas 2 holds nanoseconds (pandas 3 microseconds), and Spark refuses Parquet's
    # TIMESTAMP(NANOS) at read time: microseconds are how Spark-bound files are written.
    data["at"] = data["at"].astype("datetime64[ns, UTC]")
    path = tmp_path / "pandas.parquet"
    data.to_parquet(path, index=False, coerce_timestamps="us")
    profiles = profile_dataframe(spark.read.parquet(str(path)), timestamp="at")
    expected = profile_table(path, timestamp="at")
    assert_same_profile(profiles[ProfileKey(None, ())], expected)


def test_an_empty_dataframe_gives_one_empty_profile(frame: Any) -> None:
    from mlvigil.spark import ProfileKey, profile_dataframe

    profiles = profile_dataframe(frame.limit(0), timestamp="ts", columns=["x", "seg"])
    (profile,) = profiles.values()
    assert list(profiles) == [ProfileKey(None, ())]
    assert (profile.row_count, list(profile.columns)) == (0, ["x", "seg", "ts"])


def test_windows_of_an_empty_dataframe_are_none(frame: Any) -> None:
    from mlvigil.spark import profile_dataframe

    profiles = profile_dataframe(frame.limit(0), timestamp="ts", window=timedelta(hours=1))
    assert len(profiles) == 0
    assert profiles.total() is None


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"columns": ["x", "nope"]}, InputError, "'nope' not found"),
        ({"segments": ["nope"]}, InputError, "segment columns 'nope' not found"),
        ({"timestamp": "x"}, InputError, "not timestamps or dates"),
        ({"window": timedelta(hours=1)}, ConfigError, "needs the timestamp"),
        ({"timestamp": "ts", "window": timedelta(0)}, ConfigError, "positive"),
    ],
)
def test_bad_options_raise_before_any_job(
    frame: Any, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    from mlvigil.spark import profile_dataframe

    with pytest.raises(error, match=message):
        profile_dataframe(frame, **options)
