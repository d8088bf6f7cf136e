"""``mlvigil report``: a self-contained HTML drift and quality report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error


def report(
    reference: Annotated[Path, typer.Argument(help="Reference data: CSV or Parquet file.")],
    current: Annotated[Path, typer.Argument(help="Current data: CSV or Parquet file.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the HTML file.")
    ] = Path("report.html"),
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Quality checks to run on CURRENT, as YAML."),
    ] = None,
    title: Annotated[str, typer.Option(help="Heading of the report.")] = "Drift report",
) -> None:
    """Compare CURRENT with REFERENCE and write one HTML file that opens offline.

    It holds the dataset verdict, a sortable table of every column (method, statistic,
    p-value, threshold, drifted, nulls) with a reference-vs-current chart, and the
    quality results when --config is given. Exit code 2 when the input is bad.
    """
    with exit_on_user_error():
        from mlvigil.checks.config import load_quality_config
        from mlvigil.cli.progress import column_progress
        from mlvigil.report import dataset_report

        quality = load_quality_config(config) if config is not None else None
        with column_progress("Comparing columns") as advance:
            html = dataset_report(
                reference, current, quality=quality, title=title, on_column=advance
            )
        try:
            output.write_text(html, encoding="utf-8")
        except OSError as error:
            raise typer.BadParameter(f"cannot write {output}: {error.strerror}") from None
    typer.echo(f"Report written to {output} ({len(html.encode()) / 1024:,.0f} KB)")
