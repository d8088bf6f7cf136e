"""Rich tables for the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlvigil.checks.drift_report import ColumnDrift, DriftReport

_DRIFT_COLUMNS = [
    ("column", "left"),
    ("type", "left"),
    ("method", "left"),
    ("statistic", "right"),
    ("p-value", "right"),
    ("threshold", "right"),
    ("drift", "left"),
    ("nulls ref→cur", "right"),
]


def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    if value != 0 and (abs(value) < 10**-digits or abs(value) >= 1e6):
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def _nulls(result: ColumnDrift) -> Text:
    text = Text(f"{result.reference_null_rate:.1%}→{result.current_null_rate:.1%}")
    if result.missing_rate_drifted:
        text.stylize("bold yellow")
    return text


def _verdict(result: ColumnDrift) -> Text:
    if not result.tested:
        return Text(result.status.value, style="yellow")
    return Text("DRIFT", style="bold red") if result.drifted else Text("ok", style="green")


def _notes(result: ColumnDrift) -> list[str]:
    notes = [result.message] if result.message else []
    if result.new_categories:
        notes.append("new categories: " + ", ".join(result.new_categories[:5]))
    if result.missing_categories:
        notes.append("categories gone: " + ", ".join(result.missing_categories[:5]))
    if result.missing_rate_drifted:
        notes.append(
            f"missing rate changed: {result.reference_null_rate:.1%} → "
            f"{result.current_null_rate:.1%}"
        )
    return notes


def drift_table(report: DriftReport, console: Console | None = None) -> None:
    """Print a drift report: a verdict line, one row per column, then notes."""
    if console is None:
        # In a pipe or a file nothing wraps lines, so don't squeeze the table.
        console = Console() if Console().is_terminal else Console(width=200)
    verdict = (
        Text("Dataset drift detected", style="bold red")
        if report.dataset_drift
        else Text("No dataset drift", style="bold green")
    )
    verdict.append(
        f": {report.number_of_drifted_columns} of {report.number_of_tested_columns} tested "
        f"columns drifted ({report.drift_share:.0%}; threshold "
        f"{report.drift_share_threshold:.0%})",
        style="default",
    )
    console.print(verdict)
    table = Table(show_edge=False, header_style="bold")
    for header, justify in _DRIFT_COLUMNS:
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    notes: list[tuple[str, str]] = []
    for result in report:
        p_value = result.p_value if result.p_value_adjusted is None else result.p_value_adjusted
        table.add_row(
            Text(result.column),
            result.type.value,
            result.method or "-",
            _number(result.statistic),
            _number(p_value),
            _number(result.threshold, 2),
            _verdict(result),
            _nulls(result),
        )
        notes.extend((result.column, note) for note in _notes(result))
    console.print(table)
    if notes:
        console.print()
        for column, note in notes:
            console.print(Text.assemble((column, "bold"), ": ", note))
