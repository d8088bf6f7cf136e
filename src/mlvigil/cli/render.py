"""Rich tables for the terminal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlvigil.checks.chunked import ChunkedDriftReport, drift_score
from mlvigil.checks.chunks import Chunk
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


#: Above this many columns, a chunk table shows only the columns that drifted somewhere.
CHUNK_TABLE_COLUMNS = 8


def _score_cell(result: ColumnDrift) -> Text:
    if not result.tested:
        return Text(result.status.value, style="yellow")
    score = drift_score(result)
    text = "-" if score is None else f"{score:.2f}"
    if result.drifted:
        return Text(f"{text} ●", style="bold red")
    return Text(text, style="green" if score is not None and score < 0.5 else "default")


def _chunk_label(chunk: Chunk) -> str:
    # Period chunks by their start (UTC): the date alone for whole days.
    if chunk.start is None or chunk.end is None:
        return chunk.key
    whole_days = chunk.start.hour == chunk.start.minute == chunk.start.second == 0 and not (
        (chunk.end - chunk.start) % timedelta(days=1)
    )
    return chunk.start.strftime("%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M")


def chunked_drift_table(
    report: ChunkedDriftReport, *, chunking: str = "chunks", console: Console | None = None
) -> None:
    """Print drift by chunk: a verdict line, a row per chunk with a cell per column, notes.

    Cells hold the drift score (1 = the method's threshold), comparable across
    methods, so a column reads the same whichever test a chunk's size picked.
    """
    console = console or _console()
    drifted = len(report.drifted_chunks)
    verdict = (
        Text(f"Drift in {drifted} of {len(report)} chunks", style="bold red")
        if drifted
        else Text(f"No drift in any of the {len(report)} chunks", style="bold green")
    )
    verdict.append(
        f": CURRENT ({report.current_rows:,} rows) in {chunking}, each compared with "
        f"REFERENCE ({report.reference_rows:,} rows); a chunk drifts when "
        f"{report.drift_share_threshold:.0%} of its tested columns do",
        style="default",
    )
    console.print(verdict)
    columns = list(report.columns)
    found = report.drifted_columns
    shown = columns
    if len(columns) > CHUNK_TABLE_COLUMNS:
        # The columns that drifted in most chunks, in table order.
        ranked = sorted(columns, key=lambda c: -len(found.get(c, ())))
        kept = {c for c in ranked[:CHUNK_TABLE_COLUMNS] if c in found}
        shown = [c for c in columns if c in kept]
    table = Table(show_edge=False, header_style="bold")
    periods = any(item.chunk.start is not None for item in report)
    table.add_column("chunk (UTC)" if periods else "chunk", no_wrap=True)
    table.add_column("rows", justify="right", no_wrap=True)
    for name in shown:
        table.add_column(Text(_shorten(name, 20)), justify="right", no_wrap=True)
    table.add_column("drifted", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for item in report:
        chunk_report = item.report
        table.add_row(
            Text(_chunk_label(item.chunk)),
            f"{item.chunk.rows:,}",
            *(_score_cell(chunk_report[name]) for name in shown),
            f"{chunk_report.number_of_drifted_columns} of {chunk_report.number_of_tested_columns}",
            Text("DRIFT", style="bold red") if item.dataset_drift else Text("ok", style="green"),
        )
    console.print(table)
    console.print(
        Text(
            "Cells: drift score, 1 = the threshold (statistic / threshold for distances, "
            "log p / log α for tests, statistic / learned limit with --thresholds learned); "
            "● drifted. --format json has the statistics.",
            style="dim",
        )
    )
    hidden = [c for c in columns if c not in shown]
    if hidden:
        names = ", ".join(_shorten(c, 20) for c in hidden[:10]) + (
            ", …" if len(hidden) > 10 else ""
        )
        console.print(
            Text(
                f"{len(hidden)} columns with drift in fewer chunks are not shown: {names}",
                style="dim",
            )
        )
    if found:
        console.print()
    for name, chunks in found.items():
        keys = ", ".join(_chunk_label(c) for c in chunks[:5]) + (", …" if len(chunks) > 5 else "")
        console.print(
            Text.assemble(
                (name, "bold"), f": drifted in {len(chunks)} of {len(report)} chunks ({keys})"
            )
        )


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
    CheckStatus.INCONCLUSIVE: ("undecided", "yellow"),
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
