"""Reports and chart data: reference-vs-current distributions and self-contained HTML."""

from mlvigil.report.distributions import Distribution, column_distribution, distributions
from mlvigil.report.files import chunked_report, dataset_report
from mlvigil.report.html import ReportData, render_report

__all__ = [
    "Distribution",
    "ReportData",
    "chunked_report",
    "column_distribution",
    "dataset_report",
    "distributions",
    "render_report",
]
