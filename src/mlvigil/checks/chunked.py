"""Drift of one table over time: its rows cut into chunks, each compared with a reference.

:func:`detect_drift_chunks` cuts the current table into chunks of a number of rows or
of one period of a timestamp column (:mod:`mlvigil.checks.chunks`) and compares each
chunk with the reference as :func:`~mlvigil.checks.drift.detect_drift` would compare
it on its own, so each chunk gets a :class:`~mlvigil.checks.drift_report.DriftReport`.
The reference is prepared once (:func:`~mlvigil.checks.drift.prepare_reference`):
each of its columns is read, sorted or counted a single time whatever the number of
chunks; each compared current column is read once and cut into chunks in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from mlvigil.checks.chunk_reports import ChunkSequence, chunk_fields
from mlvigil.checks.chunks import Chunk, period_chunks, size_chunks, timestamps_of
from mlvigil.checks.drift import (
    DriftConfig,
    PreparedReference,
    _declared_types,
    _open,
    _resolve_columns,
    detect_drift,
    prepare_reference,
)
from mlvigil.checks.drift_report import ColumnDrift, DriftReport, drift_score
from mlvigil.checks.thresholds import LearnedDrift, apply_drift_limits, learn_drift_limits
from mlvigil.exceptions import ConfigError, InputError
from mlvigil.io.tables import TableLike
from mlvigil.schema import ColumnType

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ChunkDrift", "ChunkedDriftReport", "detect_drift_chunks", "drift_score"]


def _cell(result: ColumnDrift) -> dict[str, Any]:
    return {
        "method": result.method,
        "statistic": result.statistic,
        "p_value": result.p_value,
        "p_value_adjusted": result.p_value_adjusted,
        "threshold": result.threshold,
        "drifted": result.drifted,
        "status": result.status.value,
        "score": drift_score(result),
    }


@dataclass(frozen=True, slots=True)
class ChunkDrift:
    """One chunk of the current table and its drift report.

    Attributes
    ----------
    chunk
        Which rows: key, row count, and the period for period chunks.
    report
        The drift of those rows from the reference, as
        :func:`~mlvigil.checks.drift.detect_drift` reports it.
    """

    chunk: Chunk
    report: DriftReport

    @property
    def dataset_drift(self) -> bool:
        """Whether the chunk drifted as a dataset (its drift share reached the threshold)."""
        return self.report.dataset_drift

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        """Columns that drifted in this chunk, in table order."""
        return tuple(c.column for c in self.report if c.drifted)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view: the chunk, its verdict, and one cell per column."""
        return {
            **chunk_fields(self.chunk),
            "dataset_drift": self.report.dataset_drift,
            "drift_share": self.report.drift_share,
            "number_of_drifted_columns": self.report.number_of_drifted_columns,
            "number_of_tested_columns": self.report.number_of_tested_columns,
            "drifted_columns": list(self.drifted_columns),
            "columns": {c.column: _cell(c) for c in self.report},
        }


@dataclass(frozen=True, slots=True)
class ChunkedDriftReport(ChunkSequence[ChunkDrift]):
    """Drift of each chunk of a current table from one reference.

    Attributes
    ----------
    chunks
        One :class:`ChunkDrift` per chunk, in chunk order (oldest first for periods).
    columns
        The compared columns, in table order.
    reference_rows, current_rows
        Rows of the reference and of the whole current table.
    drift_share_threshold
        Share of drifted columns at which a chunk counts as drifted.
    """

    chunks: tuple[ChunkDrift, ...]
    columns: tuple[str, ...]
    reference_rows: int
    current_rows: int
    drift_share_threshold: float = 0.5

    @property
    def drifted_chunks(self) -> tuple[ChunkDrift, ...]:
        """Chunks that drifted as a dataset."""
        return tuple(c for c in self.chunks if c.dataset_drift)

    @property
    def drifted_columns(self) -> dict[str, tuple[Chunk, ...]]:
        """Per column that drifted somewhere, the chunks it drifted in (table order)."""
        found = {
            name: tuple(c.chunk for c in self.chunks if c.report[name].drifted)
            for name in self.columns
        }
        return {name: chunks for name, chunks in found.items() if chunks}

    def column(self, name: str) -> tuple[ColumnDrift, ...]:
        """One column's result in each chunk.

        Raises
        ------
        KeyError
            When the column was not compared.
        """
        if name not in self.columns:
            raise KeyError(name)
        return tuple(c.report[name] for c in self.chunks)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view, as printed by ``mlvigil drift --chunk-size ... --format json``.

        ``chunks`` lists each chunk (index, key, rows, start, end, verdict) with a cell
        per column: method, statistic, p-value, threshold, drifted, status and
        :func:`drift_score`.
        """
        return {
            "number_of_chunks": len(self.chunks),
            "number_of_drifted_chunks": len(self.drifted_chunks),
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "drift_share_threshold": self.drift_share_threshold,
            "columns": list(self.columns),
            "drifted_columns": {
                name: [c.key for c in chunks] for name, chunks in self.drifted_columns.items()
            },
            "chunks": [c.to_dict() for c in self.chunks],
        }

    def to_dataframe(self) -> pd.DataFrame:
        """One row per chunk and column (long format), as a pandas DataFrame.

        Columns: ``chunk`` (index), ``key``, ``start``, ``end``, ``rows``,
        ``dataset_drift``, ``column`` and the cell's fields. Needs ``mlvigil[pandas]``.
        """
        return self._frame(
            lambda item: (
                {"dataset_drift": item.dataset_drift, "column": result.column, **_cell(result)}
                for result in item.report
            )
        )


def _chunks_of(
    current_rows: int,
    read: Callable[[str], pa.ChunkedArray],
    chunk_size: int | None,
    chunk_period: timedelta | str | float | None,
    timestamp: str | None,
) -> list[Chunk]:
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ConfigError(f"chunk_size must be a whole number of rows >= 1, got {chunk_size!r}")
        return size_chunks(current_rows, chunk_size)
    from mlvigil.checks.quality.freshness import parse_duration

    assert chunk_period is not None
    assert timestamp is not None
    period = parse_duration(chunk_period)
    return period_chunks(timestamps_of(read(timestamp), timestamp), period)


def _check_chunks(chunks: Sequence[Chunk], rows: int) -> None:
    for chunk in chunks:
        if chunk.indices is not None:
            last = max(chunk.indices.to_pylist(), default=-1)
        else:
            last = (chunk.offset or 0) + chunk.rows - 1
        if chunk.rows < 1 or last >= rows:
            raise InputError(
                f"chunk {chunk.key!r} does not fit current ({rows} rows); make chunks "
                "from this table with size_chunks or period_chunks"
            )


def _learned(
    reference: PreparedReference,
    names: Sequence[str],
    declared: Mapping[str, ColumnType],
    config: DriftConfig,
    chunks: Sequence[Chunk],
) -> LearnedDrift:
    # Size chunks: their size (the last may be short); period chunks: a typical one.
    contiguous = chunks[0].offset is not None
    size = chunks[0].rows if contiguous else int(np.median([c.rows for c in chunks]))
    learned = learn_drift_limits(
        reference.table(names),
        size_chunks(reference.num_rows, size),
        columns=names,
        schema=declared,
        config=config,
    )
    if not learned.limits:
        raise InputError(
            f"learned thresholds need at least 2 reference chunks of {size:,} rows (the "
            f"current's chunk size), and the reference has {reference.num_rows:,} rows; "
            "use a larger reference or smaller chunks"
        )
    return learned


def detect_drift_chunks(
    reference: TableLike,
    current: TableLike,
    *,
    chunk_size: int | None = None,
    chunk_period: timedelta | str | float | None = None,
    chunks: Sequence[Chunk] | None = None,
    timestamp: str | None = None,
    id: str | None = None,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    schema: Mapping[str, ColumnType | str] | None = None,
    config: DriftConfig | None = None,
    thresholds: Literal["fixed", "learned"] = "fixed",
    on_chunk: Callable[[ChunkDrift], None] | None = None,
) -> ChunkedDriftReport:
    """Cut ``current`` into chunks and compare each chunk with ``reference``.

    Give exactly one of ``chunk_size``, ``chunk_period`` or ``chunks``. Every row of
    ``current`` is in a chunk: a short last chunk is kept and evaluated (a small
    chunk may get a significance test where the others get a distance, as
    :func:`~mlvigil.checks.drift.detect_drift` picks by sample size).

    Parameters
    ----------
    reference
        As :func:`~mlvigil.checks.drift.detect_drift` takes it (data, not a profile),
        or a :class:`~mlvigil.checks.drift.PreparedReference` to reuse across calls.
    current
        The table to cut: a CSV or Parquet path, a pyarrow / pandas / polars table,
        or a :class:`~mlvigil.io.TableSource` (:func:`~mlvigil.io.open_table`).
    chunk_size
        Rows per chunk, in table order.
    chunk_period
        A period per chunk, e.g. ``"1d"``, ``"6h"`` or a :class:`~datetime.timedelta`
        (aligned to the Unix epoch, UTC); needs ``timestamp``.
    chunks
        Chunks made beforehand with :func:`~mlvigil.checks.chunks.size_chunks` or
        :func:`~mlvigil.checks.chunks.period_chunks`.
    timestamp
        The column of each row's time: datetimes (naive ones count as UTC), dates or
        ISO 8601 text. It is not tested for drift unless ``columns`` names it.
    id
        An id column; not tested for drift unless ``columns`` names it.
    columns
        Compare only these columns; by default every column of both tables except
        ``timestamp``, ``id`` and ``exclude``.
    exclude
        Leave these columns out.
    schema, config
        Column types and drift options, as :func:`~mlvigil.checks.drift.detect_drift`
        takes them.
    thresholds
        ``fixed``: each method's threshold; ``learned``: limits learned from chunks of
        the reference as large as the current's chunks (each compared with the rest of
        the reference; see :mod:`mlvigil.checks.thresholds`), which keep false alarms
        rare and catch smaller shifts.
    on_chunk
        Called with each chunk's result as soon as it is ready (progress bars).

    Returns
    -------
    ChunkedDriftReport
        One :class:`~mlvigil.checks.drift_report.DriftReport` per chunk, each equal to
        ``detect_drift(reference, rows of the chunk)``.

    Raises
    ------
    ConfigError
        When not exactly one way of chunking is given, or ``chunk_period`` comes
        without ``timestamp``.
    InputError
        When an input cannot be read, a named column is missing, the timestamp
        column does not hold times, or ``current`` has no rows.

    Examples
    --------
    >>> import pyarrow as pa
    >>> reference = pa.table({"id": list(range(8)), "x": [1.0, 2.0, 3.0, 4.0] * 2})
    >>> current = pa.table({"id": list(range(10)),
    ...                     "x": [1.0, 2.0, 3.0, 4.0, 9.0, 9.5, 8.5, 9.0, 9.2, 9.1]})
    >>> report = detect_drift_chunks(reference, current, chunk_size=4, id="id")
    >>> [(c.chunk.key, c.chunk.rows, c.dataset_drift) for c in report]
    [('rows 0-3', 4, False), ('rows 4-7', 4, True), ('rows 8-9', 2, True)]
    >>> report.columns, [c.key for c in report.drifted_columns["x"]]
    (('x',), ['rows 4-7', 'rows 8-9'])
    """
    given = [n for n, v in [("chunk_size", chunk_size), ("chunk_period", chunk_period),
                            ("chunks", chunks)] if v is not None]  # fmt: skip
    if len(given) != 1:
        raise ConfigError(
            "give exactly one of chunk_size, chunk_period or chunks"
            + (f", not {' and '.join(given)}" if given else "")
        )
    if chunk_period is not None and timestamp is None:
        raise ConfigError("chunk_period needs timestamp=, the column that holds each row's time")
    config = config or DriftConfig()
    declared = _declared_types("schema", schema)
    prepared = (
        reference if isinstance(reference, PreparedReference) else prepare_reference(reference)
    )
    source = _open(current)
    for option, name in (("timestamp", timestamp), ("id", id)):
        if name is not None and name not in source.column_names:
            raise InputError(f"{option} column {name!r} not found in current")
    # The id and the timestamp are left out as ``exclude`` is, unless ``columns`` asks for them.
    excluded = list(exclude or ())
    if columns is None:
        excluded += [n for n in (timestamp, id) if n is not None and n not in excluded]
    names = _resolve_columns(prepared.column_names, source.column_names, columns, excluded)
    unknown = sorted(
        (set(declared) | set(config.column_methods) | set(config.column_thresholds)) - set(names)
    )
    if unknown:
        raise ConfigError(f"options name columns that are not compared: {', '.join(unknown)}")
    rows = source.num_rows
    if rows == 0:
        raise InputError("current has no rows; there is nothing to cut into chunks")
    if chunks is None:
        chunks = _chunks_of(rows, source.column, chunk_size, chunk_period, timestamp)
    else:
        _check_chunks(chunks, rows)

    workers = config.workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        table = pa.table(dict(zip(names, pool.map(source.column, names), strict=True)))
    learned = LearnedDrift()
    if thresholds == "learned":
        learned = _learned(prepared, names, declared, config, chunks)
        config = learned.config(config, names)
    results = []
    for chunk in chunks:
        rows_of_chunk = pa.table({name: chunk.take(table.column(name)) for name in names})
        report = detect_drift(
            prepared, rows_of_chunk, columns=names, schema=declared, config=config
        )
        item = ChunkDrift(chunk, apply_drift_limits(report, learned))
        results.append(item)
        if on_chunk is not None:
            on_chunk(item)
    return ChunkedDriftReport(
        chunks=tuple(results),
        columns=tuple(names),
        reference_rows=prepared.num_rows,
        current_rows=rows,
        drift_share_threshold=config.drift_share,
    )
