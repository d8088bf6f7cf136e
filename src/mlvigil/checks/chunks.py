"""Split rows into chunks: a number of rows each, or one period of a timestamp each.

Chunks are how a single file is analysed over time (``mlvigil drift --chunk-size``)
and how thresholds are learned from a reference (each reference chunk's statistic
shows how much the statistic varies when nothing changed). A :class:`Chunk` only names
its rows; :meth:`Chunk.take` cuts them out of any column, so a Parquet file can still
be read one column at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from mlvigil.exceptions import InputError
from mlvigil.io.conform import ConformError, conform_column
from mlvigil.schema import ColumnType

__all__ = ["Chunk", "period_chunks", "size_chunks", "timestamps_of"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Chunk:
    """Some rows of a table, in their original order.

    Attributes
    ----------
    index
        Position of the chunk, from 0.
    key
        A short name: ``rows 0-4999`` or the period's start (ISO 8601).
    rows
        Number of rows.
    offset
        First row, for a contiguous chunk (size chunks); ``None`` when :attr:`indices`
        lists the rows.
    indices
        Row numbers, for a period chunk (its rows need not be adjacent).
    start, end
        The period ``[start, end)`` of a period chunk.
    """

    index: int
    key: str
    rows: int
    offset: int | None = None
    indices: pa.Array | None = None
    start: datetime | None = None
    end: datetime | None = None

    def take(self, column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
        """The values of ``column`` (a column of the chunked table) in this chunk."""
        values = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])
        if self.indices is not None:
            return values.take(self.indices)
        assert self.offset is not None
        return values.slice(self.offset, self.rows)

    def rows_of(self, table: pa.Table) -> pa.Table:
        """The rows of ``table`` (the chunked table) in this chunk."""
        if self.indices is not None:
            return table.take(self.indices)
        assert self.offset is not None
        return table.slice(self.offset, self.rows)

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON view."""
        data: dict[str, object] = {"index": self.index, "key": self.key, "rows": self.rows}
        if self.start is not None and self.end is not None:
            data["start"] = self.start.isoformat()
            data["end"] = self.end.isoformat()
        return data


def size_chunks(rows: int, size: int) -> list[Chunk]:
    """Chunks of ``size`` consecutive rows; the last one keeps what is left.

    Examples
    --------
    >>> [(c.key, c.rows) for c in size_chunks(12, 5)]
    [('rows 0-4', 5), ('rows 5-9', 5), ('rows 10-11', 2)]
    """
    if size < 1:
        raise InputError(f"a chunk needs at least one row, got a size of {size}")
    return [
        Chunk(i, f"rows {start}-{min(start + size, rows) - 1}", min(size, rows - start), start)
        for i, start in enumerate(range(0, rows, size))
    ]


def timestamps_of(values: pa.ChunkedArray | pa.Array, column: str) -> pa.ChunkedArray:
    """A column as UTC timestamps: timestamps, dates, or ISO 8601 strings.

    Naive times count as UTC.

    Raises
    ------
    InputError
        When the column holds something else, or a string is not a time.
    """
    values = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    kind = values.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    readable = (
        pa.types.is_timestamp,
        pa.types.is_date,
        pa.types.is_string,
        pa.types.is_large_string,
    )
    if not any(check(kind) for check in readable):
        raise InputError(
            f"column {column!r} holds {kind} values, not times; name a timestamp column "
            "(a datetime, a date or ISO 8601 text)"
        )
    try:
        return conform_column(values, ColumnType.DATETIME)
    except ConformError as error:
        raise InputError(f"column {column!r}: {error}") from None


def period_chunks(timestamps: pa.ChunkedArray | pa.Array, period: timedelta) -> list[Chunk]:
    """One chunk per period (aligned to the Unix epoch) that holds rows, oldest first.

    Rows keep their order within a chunk. ``timestamps`` must be UTC timestamps
    (see :func:`timestamps_of`).

    Raises
    ------
    InputError
        When the period is not positive or a row has no timestamp.

    Examples
    --------
    >>> times = pa.array([datetime(2026, 1, 2, 5, tzinfo=UTC), datetime(2026, 1, 1, 9, tzinfo=UTC),
    ...                   datetime(2026, 1, 2, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    >>> [(c.key, c.indices.to_pylist()) for c in period_chunks(times, timedelta(days=1))]
    [('2026-01-01T00:00:00+00:00', [1]), ('2026-01-02T00:00:00+00:00', [0, 2])]
    """
    if period <= timedelta(0):
        raise InputError(f"a chunk period must be positive, got {period}")
    values = timestamps_of(timestamps, "timestamp")
    if values.null_count:
        first = values.is_null().to_pylist().index(True)
        raise InputError(f"row {first} has no timestamp; every row needs one to be chunked")
    micros = values.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
    width = period // _MICROSECOND
    buckets = np.floor_divide(micros, width)
    order = np.argsort(buckets, kind="stable")
    sorted_buckets = buckets[order]
    starts = np.flatnonzero(np.r_[True, sorted_buckets[1:] != sorted_buckets[:-1]])
    ends = np.r_[starts[1:], len(order)]
    chunks = []
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        start = _EPOCH + int(sorted_buckets[a]) * width * _MICROSECOND
        chunks.append(
            Chunk(
                i,
                start.isoformat(),
                b - a,
                indices=pa.array(order[a:b]),
                start=start,
                end=start + period,
            )
        )
    return chunks
