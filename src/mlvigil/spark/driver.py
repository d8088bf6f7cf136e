"""The driver's side of every Spark function: options checked, tasks run, summaries merged.

PySpark is imported here on first use, never when the module is imported, so that
``mlvigil`` and its documentation build work without it; a missing install raises
:class:`ModuleNotFoundError` with the install hint.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, TypeVar

import pyarrow as pa

from mlvigil.exceptions import ConfigError, InputError
from mlvigil.spark.keys import ProfileKey, decode_segment, window_start
from mlvigil.spark.partition import OUTPUT_SCHEMA, PartialMerger

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = [
    "INSTALL_HINT",
    "arrow_schema",
    "check_columns",
    "check_timestamp",
    "collect_summaries",
    "pyspark_module",
    "quoted",
    "window_micros",
]

INSTALL_HINT = "mlvigil.spark needs PySpark 3.5 or later: pip install 'mlvigil[spark]'"

_ONE_MICROSECOND = timedelta(microseconds=1)


class _Mergeable(Protocol):
    def merge(self, other: Self, /) -> Self: ...


S = TypeVar("S", bound=_Mergeable)


def pyspark_module(name: str = "pyspark.sql") -> ModuleType:
    """Import a PySpark module, or raise :class:`ModuleNotFoundError` with the hint."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.split(".")[0] == "pyspark":
            raise ModuleNotFoundError(INSTALL_HINT, name="pyspark") from error
        raise


def quoted(name: str) -> str:
    """A column name Spark reads literally (backticks: dots are not struct fields)."""
    return "`" + name.replace("`", "``") + "`"


def window_micros(window: timedelta | None, timestamp: str | None) -> int | None:
    """The window length in microseconds, checked; ``None`` without windows."""
    if window is None:
        return None
    if not isinstance(window, timedelta) or window <= timedelta(0):
        raise ConfigError(f"window must be a positive timedelta, got {window!r}")
    if window % _ONE_MICROSECOND:
        raise ConfigError(f"window must be a whole number of microseconds, got {window!r}")
    if timestamp is None:
        raise ConfigError("a window needs the timestamp column it is cut from")
    return window // _ONE_MICROSECOND


def check_columns(df: DataFrame, names: Iterable[str], what: str) -> None:
    """Raise :class:`InputError` naming the columns of ``names`` that ``df`` lacks."""
    missing = [name for name in names if name not in df.columns]
    if missing:
        raise InputError(
            f"{what} {', '.join(map(repr, missing))} not found; columns: {', '.join(df.columns)}"
        )


def check_timestamp(df: DataFrame, timestamp: str | None) -> None:
    """Raise :class:`InputError` unless ``timestamp`` is a timestamp or date column."""
    if timestamp is None:
        return
    check_columns(df, [timestamp], "timestamp column")
    types = pyspark_module("pyspark.sql.types")
    kind = df.schema[timestamp].dataType
    if not isinstance(kind, types.TimestampType | types.TimestampNTZType | types.DateType):
        raise InputError(
            f"timestamp column {timestamp!r} holds {kind.simpleString()} values, "
            "not timestamps or dates"
        )


def arrow_schema(df: DataFrame) -> pa.Schema:
    """The Arrow schema of ``df``'s batches, with PySpark 3.5's and 4.x's signatures."""
    to_arrow_schema = pyspark_module("pyspark.sql.pandas.types").to_arrow_schema
    if "timezone" in inspect.signature(to_arrow_schema).parameters:
        zone = df.sparkSession.conf.get("spark.sql.session.timeZone")
        return to_arrow_schema(df.schema, timezone=zone)
    return to_arrow_schema(df.schema)


def _merge_tasks(df: DataFrame) -> int:
    try:
        return max(1, int(df.sparkSession.sparkContext.defaultParallelism))
    except Exception:  # Spark Connect has no SparkContext
        return max(1, int(df.sparkSession.conf.get("spark.sql.shuffle.partitions") or 1))


def collect_summaries(
    df: DataFrame,
    task: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
    kind: Literal["profile", "performance"],
    decode: Callable[[bytes], S],
) -> dict[ProfileKey, S]:
    """Run ``task`` on every partition of ``df`` and return one summary per key.

    The tasks' partial summaries are shuffled by key and merged on the executors
    (:class:`~mlvigil.spark.partition.PartialMerger`), so the driver receives one
    small row per key: its memory depends on the number of windows and segments,
    not on the rows or the partitions.
    """
    functions = pyspark_module("pyspark.sql.functions")
    partials = df.mapInArrow(task, OUTPUT_SCHEMA)
    merged = partials.repartition(
        _merge_tasks(df), functions.col("window_start"), functions.col("segment")
    ).mapInArrow(PartialMerger(kind), OUTPUT_SCHEMA)
    found: dict[ProfileKey, S] = {}
    rows: list[Any] = merged.collect()  # one small row per key: no data row
    for row in rows:
        key = ProfileKey(window_start(row.window_start), decode_segment(row.segment))
        summary = decode(row.summary)
        earlier = found.get(key)  # each key is in one task; merged anyway if not
        found[key] = summary if earlier is None else earlier.merge(summary)
    return found
