"""``mlvigil check``: run the data-quality checks of a YAML file on a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error
from mlvigil.cli.formats import OutputFormat

#: Exit code when a check of severity error or critical failed.
CHECKS_FAILED = 1


def check(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file to check.")],
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Quality checks, as YAML (see README).")
    ],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Print a table or one JSON object.")
    ] = OutputFormat.TABLE,
) -> None:
    """Run the checks in CONFIG on DATA and print each with its value and threshold.

    Exit code 1 when a check of severity error or critical fails, 0 otherwise, and 2
    when the data or the configuration is bad.
    """
    with exit_on_user_error():
        from mlvigil.checks.config import load_quality_config
        from mlvigil.checks.quality import run_quality_checks

        report = run_quality_checks(data, load_quality_config(config))
    if output_format is OutputFormat.JSON:
        typer.echo(report.to_json())
    else:
        from mlvigil.cli.render import check_table

        check_table(report.results, passed=report.passed)
    if not report.passed:
        raise typer.Exit(CHECKS_FAILED)
