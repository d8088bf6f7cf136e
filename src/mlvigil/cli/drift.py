"""``mlvigil drift``: compare a current dataset with a reference."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error
from mlvigil.cli.formats import OutputFormat

if TYPE_CHECKING:
    from mlvigil.checks.drift_report import DriftReport


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    return names or None


def _parse_types(pairs: list[str]) -> dict[str, str]:
    types = {}
    for pair in pairs:
        column, sep, kind = pair.partition("=")
        if not sep or not column or not kind:
            raise typer.BadParameter(f"expected COLUMN=TYPE, got {pair!r}", param_hint="--type")
        types[column.strip()] = kind.strip()
    return types


def drift(
    reference: Annotated[Path, typer.Argument(help="Reference data: CSV or Parquet file.")],
    current: Annotated[Path, typer.Argument(help="Current data: CSV or Parquet file.")],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Print a table or one JSON object.")
    ] = OutputFormat.TABLE,
    method: Annotated[
        str | None,
        typer.Option(
            help="Use this method on every column it applies to: ks, wasserstein, "
            "anderson, cramer_von_mises, energy, psi, jensenshannon, hellinger, "
            "kl_div, chisquare, z, fisher_exact, g_test."
        ),
    ] = None,
    columns: Annotated[
        str | None, typer.Option(help="Compare only these columns (comma-separated).")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Threshold for every method: significance level for tests, distance for distances."
        ),
    ] = None,
    drift_share: Annotated[
        float, typer.Option(help="Share of drifted columns that makes the dataset drifted.")
    ] = 0.5,
    correction: Annotated[
        str | None,
        typer.Option(help="Multiple-testing correction of p-values: bonferroni or bh."),
    ] = None,
    column_type: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="Override an inferred type, as COLUMN=TYPE (numerical, "
            "categorical, boolean, datetime, text). Repeatable.",
        ),
    ] = None,
) -> None:
    """Compare CURRENT with REFERENCE, column by column, and print the drift found.

    Exit code 0 whether or not drift is found, 2 when the input or options are bad.
    """
    types = _parse_types(column_type or [])
    with exit_on_user_error():
        from mlvigil.checks.drift import DriftConfig, detect_drift
        from mlvigil.cli.progress import column_progress

        config = DriftConfig(
            method=method, threshold=threshold, drift_share=drift_share, correction=correction
        )
        with column_progress("Comparing columns") as advance:
            report = detect_drift(
                reference,
                current,
                columns=_split(columns),
                schema=types,
                config=config,
                on_column=advance,
            )
    if output_format is OutputFormat.JSON:
        typer.echo(report.to_json())
    else:
        _print_table(report)


def _print_table(report: DriftReport) -> None:
    from mlvigil.cli.render import drift_table

    drift_table(report)
