"""``mlvigil drift --multivariate``: the columns compared together, after the column table.

A change in how columns move together (a correlation that flips, an embedding that
shifts) leaves every column's own distribution alone; the multivariate methods
(PCA reconstruction error, a domain classifier, MMD for embeddings) see it. The table
lists each chunk's verdict per method and the columns that tell it from the reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from mlvigil.cli.render import _console, _table

if TYPE_CHECKING:
    from mlvigil.cli.drift import Chunking
    from mlvigil.io.tables import TableSource
    from mlvigil.multivariate import MultivariateReport

__all__ = ["compare_multivariate", "multivariate_table"]


def compare_multivariate(
    reference: TableSource,
    current: TableSource,
    columns: list[str] | None,
    chunking: Chunking,
    types: dict[str, str],
) -> MultivariateReport:
    """Run the multivariate methods on the compared columns, cut as the options say."""
    from mlvigil.cli.progress import column_progress
    from mlvigil.multivariate import multivariate_drift

    with column_progress("Comparing the columns together"):
        return multivariate_drift(
            reference,
            current,
            chunk_size=chunking.size,
            chunk_period=chunking.period,
            timestamp=chunking.timestamp,
            columns=columns,
            exclude=chunking.left_out if columns is None else list(chunking.exclude),
            schema=types,
        )


def multivariate_table(report: MultivariateReport) -> None:
    """Print one row per chunk and method: value, limit, verdict, separating columns."""
    table = _table(
        [
            ("chunk", "left"),
            ("method", "left"),
            ("column", "left"),
            ("value", "right"),
            ("limit", "right"),
            ("verdict", "left"),
            ("what separates it", "left"),
        ]
    )
    for item in report.chunks:
        for result in item.results:
            importances = result.details.get("importances") or ()
            top = ", ".join(f"{name} {share:.2f}" for name, share in list(importances)[:3])
            verdict = (
                Text("drift", style="bold red")
                if result.status.value == "failed"
                else Text(result.status.value, style="green" if result.passed else "yellow")
            )
            table.add_row(
                item.chunk.key,
                result.metric,
                result.column or "(all)",
                "—" if result.value is None else f"{result.value:.4g}",
                "—" if result.threshold is None else f"{result.threshold:.4g}",
                verdict,
                top or (result.message if result.status.value == "error" else ""),
            )
    console = _console()
    console.print(table)
    drifted = sum(1 for item in report.chunks if item.drifted)
    console.print(f"multivariate drift in {drifted} of {len(report.chunks)} chunks")
