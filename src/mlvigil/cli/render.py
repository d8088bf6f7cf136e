"""Rich tables for the terminal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlvigil.checks.drift_report import ColumnDrift, DriftReport
from mlvigil.checks.result import CheckResult, CheckStatus

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


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.4g}"


def _statistic(result: ColumnDrift) -> str:
    # Values computed from profiles carry a bound on their error.
    text = _number(result.statistic)
    if result.approximation_error:
        text += f" ±{_number(result.approximation_error)}"
    return text


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


def _console() -> Console:
    # In a pipe or a file nothing wraps lines, so don't squeeze tables.
    return Console() if Console().is_terminal else Console(width=200)


def _table(headers: Iterable[tuple[str, str]], wrapping: str | None = None) -> Table:
    # Every column keeps its values on one line except ``wrapping`` (free text).
    table = Table(show_edge=False, header_style="bold")
    for header, justify in headers:
        table.add_column(
            header,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=header != wrapping,
            max_width=60 if header == wrapping else None,
        )
    return table


def drift_table(report: DriftReport, console: Console | None = None) -> None:
    """Print a drift report: a verdict line, one row per column, then notes."""
    console = console or _console()
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
    table = _table(_DRIFT_COLUMNS)
    notes: list[tuple[str, str]] = []
    for result in report:
        p_value = result.p_value if result.p_value_adjusted is None else result.p_value_adjusted
        table.add_row(
            Text(result.column),
            result.type.value,
            result.method or "-",
            _statistic(result),
            _number(p_value),
            _number(result.threshold),
            _verdict(result),
            _nulls(result),
        )
        notes.extend((result.column, note) for note in _notes(result))
    console.print(table)
    if notes:
        console.print()
        for column, note in notes:
            console.print(Text.assemble((column, "bold"), ": ", note))


_CHECK_COLUMNS = [
    ("check", "left"),
    ("column", "left"),
    ("metric", "left"),
    ("value", "right"),
    ("threshold", "right"),
    ("result", "left"),
    ("severity", "left"),
    ("message", "left"),
]
_CHECK_STYLES = {
    CheckStatus.PASSED: ("pass", "green"),
    CheckStatus.FAILED: ("FAIL", "bold red"),
    CheckStatus.ERROR: ("ERROR", "bold yellow"),
}


def check_table(
    results: Iterable[CheckResult], *, passed: bool, console: Console | None = None
) -> None:
    """Print quality-check results: a verdict line and one row per check."""
    console = console or _console()
    results = list(results)
    failed = sum(1 for r in results if not r.passed)
    verdict = (
        Text("Checks passed", style="bold green")
        if passed
        else Text("Checks failed", style="bold red")
    )
    verdict.append(f": {len(results) - failed} of {len(results)} passed", style="default")
    console.print(verdict)
    table = _table(_CHECK_COLUMNS, wrapping="message")
    for result in results:
        label, style = _CHECK_STYLES[result.status]
        table.add_row(
            result.check,
            Text(_shorten(result.column or "-")),
            result.metric,
            _number(result.value),
            _number(result.threshold),
            Text(label, style=style),
            result.severity.value,
            Text(result.message, style="dim"),
        )
    console.print(table)


_PROFILE_COLUMNS = [
    ("column", "left"),
    ("type", "left"),
    ("count", "right"),
    ("nulls", "right"),
    ("distinct≈", "right"),
    ("min", "right"),
    ("p50", "right"),
    ("max", "right"),
    ("mean", "right"),
    ("top values", "left"),
]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return _number(value)
    return str(value)


def _shorten(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def profile_table(summary: Mapping[str, Any], console: Console | None = None) -> None:
    """Print a profile summary (``DatasetProfile.to_dict()``): totals, then a row per column."""
    console = console or _console()
    header = f"{summary['rows']:,} rows, {len(summary['columns'])} columns"
    if summary.get("time_range"):
        start, end = summary["time_range"]
        header += f", {start} → {end}"
    console.print(Text(header, style="bold"))
    table = _table(_PROFILE_COLUMNS)
    for name, column in summary["columns"].items():
        quantiles = column.get("quantiles") or {}
        top = column.get("frequent_items") or []
        table.add_row(
            Text(name),
            column.get("type", "-"),
            _cell(column.get("count")),
            _cell(column.get("nulls")),
            _cell(column.get("distinct")),
            _cell(column.get("min")),
            _cell(quantiles.get("p50")),
            _cell(column.get("max")),
            _cell(column.get("mean")),
            Text(", ".join(str(item[0]) for item in top[:3])),
        )
    console.print(table)
