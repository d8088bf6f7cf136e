"""The work of one Spark task: summarise its Arrow batches per window and segment.

This module needs only pyarrow and numpy: its callables are the functions handed to
``DataFrame.mapInArrow``. Batches are buffered up to a byte budget, so each summary
call sees many rows (Spark's batches hold 10,000 by default) while a task's memory
stays bounded. Rows are split into windows and segments with vectorised Arrow and
numpy calls (dictionary codes, one stable sort, slices), never a Python loop per
row. A task yields one small row per key it saw: window start, segment values as
JSON, and the summary's bytes (:data:`OUTPUT_SCHEMA`).

Two kinds of summary travel this way: profiles (:class:`PartitionProfiler`) and
performance states (:class:`~mlvigil.spark.performance.PartitionPerformance`). A
second pass, :class:`PartialMerger`, merges the partial summaries of each key on
the executors, so the driver receives one summary per key however many partitions
there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, Self, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.profile import DatasetProfile, ProfileConfig, profile_table
from mlvigil.spark.keys import encode_segment

__all__ = [
    "BUFFER_BYTES",
    "OUTPUT_SCHEMA",
    "PartialMerger",
    "PartitionProfiler",
    "Splitter",
    "summarize_batches",
    "window_starts",
]

#: The rows a task yields, as a Spark DDL schema.
OUTPUT_SCHEMA = "window_start long, segment string, summary binary"

_OUTPUT_ARROW = pa.schema(
    [("window_start", pa.int64()), ("segment", pa.string()), ("summary", pa.binary())]
)

#: Arrow bytes buffered before summarising: large enough that per-call costs vanish,
#: small enough that a task's memory does not grow with its partition.
BUFFER_BYTES = 64 << 20

_Key = tuple[int | None, str]


class _Summary(Protocol):
    def merge(self, other: Self, /) -> Self: ...

    def serialize(self) -> bytes: ...


S = TypeVar("S", bound=_Summary)


def window_starts(values: pa.ChunkedArray | pa.Array, window_us: int) -> pa.Array:
    """Start of each value's window, in microseconds since the epoch (UTC).

    Windows are aligned on the epoch: ``floor(t / window) * window``. Zoned
    timestamps are stored in UTC; zone-less ones and dates are read as UTC.

    Examples
    --------
    >>> from datetime import datetime
    >>> starts = window_starts(pa.array([datetime(2024, 1, 1, 1, 59), None]), 3_600_000_000)
    >>> pa.array(starts, pa.timestamp("us")).to_pylist()
    [datetime.datetime(2024, 1, 1, 1, 0), None]
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_date(values.type):
        values = values.cast(pa.timestamp("us"))
    micros = values.cast(pa.timestamp("us", getattr(values.type, "tz", None))).cast(pa.int64())
    raw: npt.NDArray[np.int64] = pc.fill_null(micros, 0).to_numpy(zero_copy_only=False)
    starts = np.floor_divide(raw, window_us) * window_us
    mask = None if micros.null_count == 0 else micros.is_null().to_numpy(zero_copy_only=False)
    return pa.array(starts, pa.int64(), mask=mask)


def _group_codes(keys: list[pa.Array]) -> npt.NDArray[np.int64]:
    """One dense code per distinct combination of key values (nulls are a value)."""
    codes: npt.NDArray[np.int64] | None = None
    for array in keys:
        encoded = pc.dictionary_encode(array, null_encoding="encode")
        index = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        if codes is None:
            codes = index  # dictionary codes are dense already
            continue
        # Re-densify after each further column, so the combined code never overflows.
        _, inverse = np.unique(codes * len(encoded.dictionary) + index, return_inverse=True)
        codes = inverse.reshape(-1).astype(np.int64)
    assert codes is not None
    return codes


@dataclass(frozen=True, slots=True)
class Splitter:
    """Splits a table's rows by (window start, segment values).

    Attributes
    ----------
    timestamp
        Timestamp column the windows are cut from.
    window_us
        Window length in microseconds, or ``None`` for no windows.
    segments
        Segment columns; one part per combination of their values.
    """

    timestamp: str | None
    window_us: int | None
    segments: tuple[str, ...]

    def __call__(self, table: pa.Table) -> Iterator[tuple[_Key, pa.Table]]:
        """Yield ``((window start, segment JSON), rows)`` for each key in ``table``."""
        keys: list[pa.Array] = []
        windowed = self.window_us is not None and self.timestamp is not None
        if windowed:
            assert self.timestamp is not None
            assert self.window_us is not None
            keys.append(window_starts(table[self.timestamp], self.window_us))
        keys.extend(table[name].combine_chunks() for name in self.segments)

        def key_of(row: int) -> _Key:  # once per key, not per row
            values = [array[row].as_py() for array in keys]
            window = values.pop(0) if windowed else None
            return window, encode_segment(values)

        if not keys:
            yield (None, encode_segment([])), table
            return
        codes = _group_codes(keys)
        if not codes.any():  # one group: no need to reorder the rows
            yield key_of(0), table
            return
        order = np.argsort(codes, kind="stable")
        ordered = table.take(pa.array(order))
        start = 0
        for size in np.bincount(codes).tolist():
            if size:
                yield key_of(int(order[start])), ordered.slice(start, size)
            start += size


def _emit(partials: dict[_Key, bytes]) -> Iterator[pa.RecordBatch]:
    if partials:
        yield pa.RecordBatch.from_pydict(
            {
                "window_start": [key[0] for key in partials],
                "segment": [key[1] for key in partials],
                "summary": list(partials.values()),
            },
            schema=_OUTPUT_ARROW,
        )


def summarize_batches(
    batches: Iterator[pa.RecordBatch],
    split: Splitter,
    summarize: Callable[[pa.Table], S],
    *,
    buffer_bytes: int = BUFFER_BYTES,
) -> Iterator[pa.RecordBatch]:
    """One task's batches as one batch of ``(window_start, segment, summary)`` rows.

    Parameters
    ----------
    batches
        The partition's Arrow batches, as ``mapInArrow`` hands them.
    split
        How rows are keyed.
    summarize
        Summary of some rows of one key (a profile, a performance state).
    buffer_bytes
        Arrow bytes buffered before each round of summaries.
    """
    partials: dict[_Key, S] = {}

    def add(table: pa.Table) -> None:
        for key, part in split(table):
            summary = summarize(part)
            earlier = partials.get(key)
            partials[key] = summary if earlier is None else earlier.merge(summary)

    buffered: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        buffered.append(batch)
        size += batch.nbytes
        if size >= buffer_bytes:
            add(pa.Table.from_batches(buffered))
            buffered, size = [], 0
    if buffered:
        add(pa.Table.from_batches(buffered))
    yield from _emit({key: summary.serialize() for key, summary in partials.items()})


@dataclass(frozen=True, slots=True)
class PartitionProfiler:
    """Profiles one partition's batches per (window start, segment values).

    Attributes
    ----------
    columns
        Columns profiled (the timestamp among them when there is one).
    timestamp
        Timestamp column: the profiles' time range and the windows.
    window_us
        Window length in microseconds, or ``None`` for no windows.
    segments
        Segment columns; one profile per combination of their values.
    config
        Sketch settings.
    buffer_bytes
        Arrow bytes buffered before each profiling call.
    """

    columns: tuple[str, ...]
    timestamp: str | None
    window_us: int | None
    segments: tuple[str, ...]
    config: ProfileConfig
    buffer_bytes: int = BUFFER_BYTES

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Yield one batch of ``(window_start, segment, summary)`` rows, or none."""
        # Spark already runs one task per core: one thread per task avoids oversubscription.
        config = replace(self.config, workers=1)

        def summarize(part: pa.Table) -> DatasetProfile:
            return profile_table(part.select(self.columns), timestamp=self.timestamp, config=config)

        split = Splitter(self.timestamp, self.window_us, self.segments)
        return summarize_batches(batches, split, summarize, buffer_bytes=self.buffer_bytes)


def _decoder(kind: str) -> Callable[[bytes], Any]:
    if kind == "profile":
        return DatasetProfile.deserialize
    from mlvigil.checks.performance_state import PerformanceState

    return PerformanceState.deserialize


@dataclass(frozen=True, slots=True)
class PartialMerger:
    """Merges the partial summaries of each key that reach one task (the second pass).

    Attributes
    ----------
    kind
        ``profile`` or ``performance``: how the summaries are read.
    """

    kind: Literal["profile", "performance"]

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Yield one batch holding one merged summary per key, or none."""
        decode = _decoder(self.kind)
        merged: dict[_Key, Any] = {}
        for batch in batches:
            columns = batch.to_pydict()
            for window, segment, data in zip(
                columns["window_start"], columns["segment"], columns["summary"], strict=True
            ):
                summary = decode(data)
                earlier = merged.get((window, segment))
                merged[(window, segment)] = summary if earlier is None else earlier.merge(summary)
        yield from _emit({key: summary.serialize() for key, summary in merged.items()})
