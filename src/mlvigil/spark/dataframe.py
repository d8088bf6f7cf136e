"""``profile_dataframe``: mlvigil profiles of a Spark DataFrame, per window and segment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from mlvigil.profile import DatasetProfile, ProfileConfig, profile_table
from mlvigil.spark.driver import (
    arrow_schema,
    check_columns,
    check_timestamp,
    collect_summaries,
    pyspark_module,
    quoted,
    window_micros,
)
from mlvigil.spark.keys import ProfileKey, SparkProfiles
from mlvigil.spark.partition import PartitionProfiler

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["profile_dataframe"]


def profile_dataframe(
    df: DataFrame,
    *,
    timestamp: str | None = None,
    window: timedelta | None = None,
    segments: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    config: ProfileConfig | None = None,
) -> SparkProfiles:
    """Profile a Spark DataFrame per window and segment, in the Spark tasks.

    Each task turns its partition's Arrow batches (``DataFrame.mapInArrow``) into
    partial profiles with :func:`~mlvigil.profile.profile_table`, one per window
    and segment it holds, and sends on only their serialized bytes; the partials of
    each key are merged on the executors and the driver receives one profile per
    key. A merged profile equals the single-process profile of the same rows on
    every exact part (counts, nulls, NaN, min, max, category counts, distinct
    counters), agrees on mean and variance to float rounding, and its quantiles
    are within the KLL sketch's :attr:`~mlvigil.profile.QuantileSketch.rank_error`.

    Parameters
    ----------
    df
        Any DataFrame (Parquet, Delta, a table...). Larger Arrow batches than
        Spark's default 10,000 rows (``spark.sql.execution.arrow.maxRecordsPerBatch``
        = 100000, as the job sets) make the tasks faster.
    timestamp
        A timestamp or date column: the profiles' time range and, with
        ``window``, what the windows are cut from. Always profiled.
    window
        Window length. A row's window starts at its timestamp floored to a
        multiple of ``window`` since the epoch, in UTC (``timedelta(hours=1)``:
        whole hours; ``timedelta(days=1)``: UTC days), as the service cuts its
        windows. Rows with a null timestamp form the window ``None``. Without
        ``window``: one profile for all rows.
    segments
        Columns whose values split the rows further: one profile per
        combination of values (nulls included as a value).
    columns
        Columns to profile; default: every column of ``df``.
    config
        Sketch settings; see :class:`~mlvigil.profile.ProfileConfig`. Its
        ``workers`` is ignored: each Spark task profiles on one thread.

    Returns
    -------
    SparkProfiles
        A mapping from :class:`~mlvigil.spark.ProfileKey` ``(window_start,
        segment)`` to :class:`~mlvigil.profile.DatasetProfile`.

    Raises
    ------
    InputError
        When a named column is missing, or ``timestamp`` is not a timestamp or
        date column.
    ConfigError
        When ``window`` is not a positive whole number of microseconds, or is
        given without ``timestamp``.
    ModuleNotFoundError
        Without PySpark, with the install hint.
    """
    functions = pyspark_module("pyspark.sql.functions")
    config = config or ProfileConfig()
    segments = tuple(segments)
    window_us = window_micros(window, timestamp)
    profiled = list(df.columns if columns is None else columns)
    if timestamp is not None and timestamp not in profiled:
        profiled.append(timestamp)
    check_columns(df, profiled, "columns")
    check_columns(df, segments, "segment columns")
    check_timestamp(df, timestamp)
    needed = [*profiled, *(name for name in segments if name not in profiled)]
    selected = df.select(*(functions.col(quoted(name)) for name in needed))
    profiler = PartitionProfiler(tuple(profiled), timestamp, window_us, segments, config)
    merged = collect_summaries(selected, profiler, "profile", DatasetProfile.deserialize)
    if not merged and window_us is None and not segments:
        empty = arrow_schema(selected.select(*map(quoted, profiled))).empty_table()
        merged[ProfileKey(None, ())] = profile_table(empty, timestamp=timestamp, config=config)
    return SparkProfiles(merged, timestamp=timestamp, window=window, segments=segments)
