"""A report comparing two datasets (files or in-memory tables), whole or chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pyarrow as pa

from mlvigil.checks.chunked import ChunkDrift, detect_drift_chunks
from mlvigil.checks.chunks import Chunk
from mlvigil.checks.drift import DriftConfig, _open, detect_drift, prepare_reference
from mlvigil.checks.drift_report import ColumnDrift
from mlvigil.checks.drift_results import drift_check_results
from mlvigil.checks.quality.options import QualityConfig
from mlvigil.checks.quality.runner import run_quality_checks
from mlvigil.io.tables import TableLike
from mlvigil.profile import profile_table
from mlvigil.report.distributions import distributions
from mlvigil.report.html import ReportData, render_report

__all__ = ["chunked_report", "dataset_report"]


def _label(data: TableLike, default: str) -> str:
    return Path(data).name if isinstance(data, str | Path) else default


def _labels(
    reference: TableLike, current: TableLike, labels: tuple[str, str] | None
) -> tuple[str, str]:
    if labels is not None:
        return labels
    return _label(reference, "reference"), _label(current, "current")


def dataset_report(
    reference: TableLike,
    current: TableLike,
    *,
    quality: QualityConfig | None = None,
    drift: DriftConfig | None = None,
    title: str = "Drift report",
    exclude: Sequence[str] | None = None,
    labels: tuple[str, str] | None = None,
    on_column: Callable[[ColumnDrift], None] | None = None,
) -> str:
    """Compare ``current`` with ``reference`` and render the HTML report.

    Drift statistics are exact (:func:`~mlvigil.detect_drift` on the data); the charts
    come from profiles of both sides, so the file holds a few numbers per column
    whatever the row count.

    Parameters
    ----------
    reference, current
        CSV or Parquet paths, or pyarrow / pandas / polars tables.
    quality
        Quality checks to run on ``current`` and show below the drift table (a
        ``drift`` check in it is left out: the table compares every column already).
    drift
        Methods and thresholds (defaults as in :func:`~mlvigil.detect_drift`).
    thresholds
        ``fixed`` or ``learned`` from reference chunks, as
        :func:`~mlvigil.checks.chunked.detect_drift_chunks` takes it.
    title
        The page heading.
    exclude
        Columns not compared (ids, timestamps).
    labels
        What to call the reference and the current data on the page; default: their
        file names.
    on_column
        Called after each column's drift test (progress bars).

    Returns
    -------
    str
        One self-contained HTML document.
    """
    report = detect_drift(reference, current, exclude=exclude, config=drift, on_column=on_column)
    columns = [c.column for c in report]
    reference_profile = profile_table(reference)
    current_profile = profile_table(current)
    results = [r.to_dict() for r in drift_check_results(report)]
    if quality is not None:
        checked = run_quality_checks(current, quality).results
        # The drift table already compares every column with the reference.
        results.extend(r.to_dict() for r in checked if r.check != "drift")
    reference_label, current_label = _labels(reference, current, labels)
    return render_report(
        ReportData(
            title=title,
            reference_label=reference_label,
            current_label=current_label,
            reference_rows=reference_profile.row_count,
            current_rows=current_profile.row_count,
            results=results,
            distributions=distributions(reference_profile, current_profile, columns),
        )
    )


def chunked_report(
    reference: TableLike,
    current: TableLike,
    *,
    chunk_size: int | None = None,
    chunk_period: timedelta | str | None = None,
    chunks: Sequence[Chunk] | None = None,
    timestamp: str | None = None,
    id: str | None = None,
    exclude: Sequence[str] | None = None,
    quality: QualityConfig | None = None,
    drift: DriftConfig | None = None,
    thresholds: Literal["fixed", "learned"] = "fixed",
    title: str = "Drift report",
    chunking: str = "",
    labels: tuple[str, str] | None = None,
    on_chunk: Callable[[ChunkDrift], None] | None = None,
) -> str:
    """Cut ``current`` into chunks, compare each with ``reference``, render the HTML report.

    The page shows a column-by-chunk heatmap of drift scores, each chunk's verdict,
    and the column table with charts for the last chunk.

    Parameters
    ----------
    reference, current
        As :func:`dataset_report` takes them (or sources from
        :func:`~mlvigil.io.open_table`).
    chunk_size, chunk_period, chunks, timestamp, id, exclude
        How to cut ``current`` and which columns to leave out, as
        :func:`~mlvigil.checks.chunked.detect_drift_chunks` takes them.
    quality
        Quality checks to run on the whole of ``current``.
    drift
        Methods and thresholds (defaults as in :func:`~mlvigil.detect_drift`).
    thresholds
        ``fixed`` or ``learned`` from reference chunks, as
        :func:`~mlvigil.checks.chunked.detect_drift_chunks` takes it.
    title
        The page heading.
    chunking
        How the chunks were cut, in words for the page (``"chunks of 1,000 rows"``).
    labels
        As :func:`dataset_report` takes them.
    on_chunk
        Called after each chunk's comparison (progress bars).

    Returns
    -------
    str
        One self-contained HTML document.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> rng = np.random.default_rng(0)
    >>> reference = pa.table({"x": rng.normal(0, 1, 600)})
    >>> current = pa.table({"x": np.r_[rng.normal(0, 1, 400), rng.normal(3, 1, 200)]})
    >>> html = chunked_report(reference, current, chunk_size=200)
    >>> "Drift in 1 of 3 chunks" in html, html.count('class="hm')
    (True, 3)
    """
    source = _open(current)
    # Read once: the chunks, the last chunk's charts and the quality checks share it.
    table = pa.table({name: source.column(name) for name in source.column_names})
    reference_source = _open(reference)
    prepared = prepare_reference(reference_source)
    report = detect_drift_chunks(
        prepared,
        table,
        chunk_size=chunk_size,
        chunk_period=chunk_period,
        chunks=chunks,
        timestamp=timestamp,
        id=id,
        exclude=exclude,
        config=drift,
        thresholds=thresholds,
        on_chunk=on_chunk,
    )
    last = report[-1]
    columns = list(report.columns)
    last_rows = pa.table({name: last.chunk.take(table.column(name)) for name in columns})
    results = [r.to_dict() for r in drift_check_results(last.report)]
    if quality is not None:
        checked = run_quality_checks(table, quality).results
        results.extend(r.to_dict() for r in checked if r.check != "drift")
    # The charts compare the compared columns only (read a second time, as profiles).
    reference_rows = pa.table({name: reference_source.column(name) for name in columns})
    reference_label, current_label = _labels(reference, current, labels)
    return render_report(
        ReportData(
            title=title,
            reference_label=reference_label,
            current_label=current_label,
            reference_rows=prepared.num_rows,
            current_rows=table.num_rows,
            results=results,
            distributions=distributions(
                profile_table(reference_rows), profile_table(last_rows), columns
            ),
            chunks=report.to_dict(),
            chunking=chunking,
        )
    )
