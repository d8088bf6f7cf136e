"""The per-task work, driven directly with Arrow batches (no Spark job needed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from spark_support import CONFIG, assert_same_profile, make_table, require_spark

from mlvigil.profile import DatasetProfile, profile_table

HOUR = 3_600_000_000  # microseconds


@pytest.fixture(autouse=True)
def _spark_installed() -> None:
    require_spark()


Batches = Iterator[pa.RecordBatch]


def _run(
    profiler: Callable[[Batches], Batches], batches: list[pa.RecordBatch]
) -> dict[tuple[int | None, str], DatasetProfile]:
    out = list(profiler(iter(batches)))
    rows = pa.Table.from_batches(out).to_pylist() if out else []
    return {
        (r["window_start"], r["segment"]): DatasetProfile.deserialize(r["summary"]) for r in rows
    }


def test_a_task_merges_its_buffers_into_the_profile_of_all_its_batches() -> None:
    from mlvigil.spark.partition import PartitionProfiler

    table = make_table(rows=1200)
    # A one-byte budget profiles every 100-row batch on its own and merges them.
    profiler = PartitionProfiler(tuple(table.column_names), "ts", None, (), CONFIG, buffer_bytes=1)
    (profile,) = _run(profiler, table.to_batches(max_chunksize=100)).values()
    assert_same_profile(profile, profile_table(table, timestamp="ts", config=CONFIG))


def test_a_task_without_rows_yields_nothing() -> None:
    from mlvigil.spark.partition import PartitionProfiler

    profiler = PartitionProfiler(("x",), None, None, ("seg",), CONFIG)
    empty = make_table(rows=10).slice(0, 0).to_batches()
    assert _run(profiler, empty) == {}


def test_rows_split_by_window_and_every_segment_value_null_included() -> None:
    from mlvigil.spark.keys import encode_segment
    from mlvigil.spark.partition import PartitionProfiler

    stamps = [datetime(2024, 1, 1, h, 30, tzinfo=UTC) for h in (0, 0, 1, 1, 1)]
    table = pa.table(
        {
            "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "s": ["a", None, "a", "a", None],
            "v": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    profiler = PartitionProfiler(("ts", "s", "v"), "ts", HOUR, ("s",), CONFIG)
    counts = {key: p.row_count for key, p in _run(profiler, table.to_batches()).items()}
    base = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) * 10**6
    assert counts == {
        (base, encode_segment(["a"])): 1,
        (base, encode_segment([None])): 1,
        (base + HOUR, encode_segment(["a"])): 2,
        (base + HOUR, encode_segment([None])): 1,
    }


def test_window_starts_floor_towards_the_past_before_the_epoch_and_for_dates() -> None:
    from mlvigil.spark.keys import window_start
    from mlvigil.spark.partition import window_starts

    before = pa.array([datetime(1969, 12, 31, 23, 59)], pa.timestamp("us"))
    assert window_start(window_starts(before, HOUR)[0].as_py()) == datetime(
        1969, 12, 31, 23, tzinfo=UTC
    )
    days = window_starts(pa.array([date(2024, 5, 3), None]), 24 * HOUR).to_pylist()
    assert [window_start(v) for v in days] == [datetime(2024, 5, 3, tzinfo=UTC), None]
    zoned = pa.array(
        [datetime(2024, 1, 1, 0, 30, tzinfo=UTC)], pa.timestamp("ms", tz="Asia/Kolkata")
    )
    assert window_start(window_starts(zoned, HOUR)[0].as_py()) == datetime(2024, 1, 1, tzinfo=UTC)
