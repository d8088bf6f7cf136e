"""A report comparing two datasets (files or in-memory tables)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mlvigil.checks.drift import DriftConfig, detect_drift
from mlvigil.checks.drift_report import ColumnDrift
from mlvigil.checks.quality.drift_results import drift_check_results
from mlvigil.checks.quality.options import QualityConfig
from mlvigil.checks.quality.runner import run_quality_checks
from mlvigil.io.tables import TableLike
from mlvigil.profile import profile_table
from mlvigil.report.distributions import distributions
from mlvigil.report.html import ReportData, render_report

__all__ = ["dataset_report"]


def _label(data: TableLike, default: str) -> str:
    return Path(data).name if isinstance(data, str | Path) else default


def dataset_report(
    reference: TableLike,
    current: TableLike,
    *,
    quality: QualityConfig | None = None,
    drift: DriftConfig | None = None,
    title: str = "Drift report",
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
    title
        The page heading.
    on_column
        Called after each column's drift test (progress bars).

    Returns
    -------
    str
        One self-contained HTML document.
    """
    report = detect_drift(reference, current, config=drift, on_column=on_column)
    columns = [c.column for c in report]
    reference_profile = profile_table(reference)
    current_profile = profile_table(current)
    results = [r.to_dict() for r in drift_check_results(report)]
    if quality is not None:
        checked = run_quality_checks(current, quality).results
        # The drift table already compares every column with the reference.
        results.extend(r.to_dict() for r in checked if r.check != "drift")
    return render_report(
        ReportData(
            title=title,
            reference_label=_label(reference, "reference"),
            current_label=_label(current, "current"),
            reference_rows=reference_profile.row_count,
            current_rows=current_profile.row_count,
            results=results,
            distributions=distributions(reference_profile, current_profile, columns),
        )
    )
