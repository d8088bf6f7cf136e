"""``mlvigil estimate``: a model's performance on unlabelled data, chunk by chunk.

The model's behaviour is learned on a labelled REFERENCE (its target, prediction and
scores); CURRENT is cut into chunks and each chunk's metrics are estimated from the
predictions and scores alone (:mod:`mlvigil.estimation`), judged by limits learned from
reference chunks of the same size. Mistakes in the options are reported in the
command's own terms (the flag, what to do) with exit code 2, before the library runs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error
from mlvigil.cli.formats import OutputFormat
from mlvigil.exceptions import ConfigError, InputError, MlvigilError

if TYPE_CHECKING:
    from mlvigil.checks.result import CheckResult
    from mlvigil.estimation import EstimationConfig, EstimationReport
    from mlvigil.io.tables import TableSource

#: Exit code when a chunk's estimate is worse than its limits.
ESTIMATE_DEGRADED = 1

_CHUNKS = "Chunks"
_COLUMNS = "Columns"


class Task(StrEnum):
    """What the model predicts."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


class ScoreIs(StrEnum):
    """What the --score column holds."""

    POSITIVE_PROBABILITY = "positive_probability"
    CONFIDENCE = "confidence"


class Calibration(StrEnum):
    """When scores are recalibrated on REFERENCE."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def parse_probabilities(pairs: Sequence[str]) -> dict[str, str] | None:
    """``--probabilities CLASS=COLUMN`` values as a mapping (``None`` when none given)."""
    found: dict[str, str] = {}
    for pair in pairs:
        label, sep, column = (part.strip() for part in pair.partition("="))
        if not sep or not label or not column:
            raise ConfigError(
                f"--probabilities: expected CLASS=COLUMN such as --probabilities "
                f"setosa=proba_setosa, got {pair!r}"
            )
        if label in found:
            raise ConfigError(f"--probabilities: class {label!r} is given twice")
        found[label] = column
    if found and len(found) < 2:
        raise ConfigError(
            "--probabilities needs one CLASS=COLUMN per class (at least 2); for a binary "
            "model's positive-class probability use --score COLUMN"
        )
    return found or None


def _chunking(chunk_size: int | None, chunk_period: str | None, timestamp: str | None) -> None:
    if (chunk_size is None) == (chunk_period is None):
        raise ConfigError(
            "give one of --chunk-size ROWS (rows per chunk) or --chunk-period PERIOD with "
            "--timestamp COLUMN (time per chunk)" + (", not both" if chunk_size is not None else "")
        )
    if chunk_size is not None and chunk_size < 1:
        raise ConfigError(f"--chunk-size must be at least 1 row, got {chunk_size}")
    if chunk_period is not None:
        from mlvigil.checks.quality.freshness import parse_duration

        if timestamp is None:
            raise ConfigError(
                "--chunk-period needs --timestamp COLUMN, the column that holds each row's time"
            )
        try:
            parse_duration(chunk_period)
        except MlvigilError as error:
            raise ConfigError(f"--chunk-period: {error}") from None


def _open(path: Path, argument: str) -> TableSource:
    from mlvigil.io.tables import open_table

    try:
        return open_table(path)
    except MlvigilError as error:
        raise InputError(f"{argument}: {error}") from None


def _check_columns(
    config: EstimationConfig,
    reference: Sequence[str],
    current: Sequence[str],
    timestamp: str | None,
) -> None:
    """Every named column exists where it is needed, or an error naming its flag."""
    named: list[tuple[str, str, bool]] = [  # flag, column, needed in CURRENT
        ("--target", config.target, False),
        ("--prediction", config.prediction, True),
    ]
    if config.task == "classification":
        if config.probabilities:
            named += [("--probabilities", c, True) for c in config.probabilities.values()]
        elif config.score is not None:
            named.append(("--score", config.score, True))
    named += [("--features", c, True) for c in config.features]
    for flag, column, in_current in named:
        sides = [("REFERENCE", reference)] + ([("CURRENT", current)] if in_current else [])
        for side, names in sides:
            if column not in names:
                close = difflib.get_close_matches(column, list(names), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"name a column of {side}"
                raise InputError(f"{flag}: {column!r} is not a column of {side}; {hint}")
    if timestamp is not None and timestamp not in current:
        raise InputError(f"--timestamp: {timestamp!r} is not a column of CURRENT")


def estimate(
    reference: Annotated[
        Path, typer.Argument(help="Labelled reference data: CSV or Parquet file.")
    ],
    current: Annotated[
        Path, typer.Argument(help="Data to estimate (labels not needed): CSV or Parquet file.")
    ],
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size",
            metavar="ROWS",
            help="Rows per chunk of CURRENT.",
            rich_help_panel=_CHUNKS,
        ),
    ] = None,
    chunk_period: Annotated[
        str | None,
        typer.Option(
            "--chunk-period",
            metavar="PERIOD",
            help="One chunk per PERIOD of --timestamp (1d, 6h, 1w; UTC).",
            rich_help_panel=_CHUNKS,
        ),
    ] = None,
    timestamp: Annotated[
        str | None,
        typer.Option(metavar="COLUMN", help="Column of each row's time.", rich_help_panel=_CHUNKS),
    ] = None,
    task: Annotated[Task, typer.Option(help="What the model predicts.")] = Task.CLASSIFICATION,
    prediction: Annotated[
        str,
        typer.Option(metavar="COLUMN", help="Predicted class or value.", rich_help_panel=_COLUMNS),
    ] = "prediction",
    target: Annotated[
        str,
        typer.Option(
            metavar="COLUMN",
            help="Label column (REFERENCE; in CURRENT it gives realized values).",
            rich_help_panel=_COLUMNS,
        ),
    ] = "label",
    score: Annotated[
        str,
        typer.Option(
            metavar="COLUMN", help="Score of a binary classifier.", rich_help_panel=_COLUMNS
        ),
    ] = "score",
    probabilities: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CLASS=COLUMN",
            help="Probability column of one class (multiclass models). Repeatable.",
            rich_help_panel=_COLUMNS,
        ),
    ] = None,
    score_is: Annotated[
        ScoreIs,
        typer.Option(
            help="What --score holds: the positive class's probability, or the predicted class's."
        ),
    ] = ScoreIs.POSITIVE_PROBABILITY,
    positive_label: Annotated[
        str, typer.Option(help="The positive class of a binary model.")
    ] = "1",
    features: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMNS",
            help="Regression: the model's input columns (comma-separated), for the loss model.",
            rich_help_panel=_COLUMNS,
        ),
    ] = None,
    metrics: Annotated[
        str | None,
        typer.Option(
            help="Metrics to estimate (comma-separated). Classification: accuracy, precision, "
            "recall, f1, specificity, roc_auc; regression: mae, mse, rmse, mape. Default: all."
        ),
    ] = None,
    calibration: Annotated[
        Calibration,
        typer.Option(help="Recalibrate scores on REFERENCE: auto (when it helps), always, never."),
    ] = Calibration.AUTO,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Print a table or one JSON object.")
    ] = OutputFormat.TABLE,
) -> None:
    """Estimate the performance of each chunk of CURRENT without labels, learned on REFERENCE.

    Classifiers are estimated from their calibrated scores (confidence-based
    estimation), regression models from a model of their errors (direct loss
    estimation). Each estimate is judged by limits learned from REFERENCE chunks of the
    same size; when CURRENT has the --target column, its labels give realized values.

    Exit code 1 when a chunk's estimate is outside its limits on the worse side
    (degraded), 0 otherwise, and 2 when the input or options are bad.
    """
    with exit_on_user_error():
        report = _run(
            reference,
            current,
            chunk_size,
            chunk_period,
            timestamp,
            task=task.value,
            prediction=prediction,
            target=target,
            score=score,
            probabilities=parse_probabilities(probabilities or []),
            score_is=score_is.value,
            positive_label=positive_label,
            features=_split(features),
            metrics=_split(metrics),
            calibration=calibration.value,
        )
    if output_format is OutputFormat.JSON:
        typer.echo(report.to_json())
    else:
        chunking = (
            f"chunks of {chunk_size:,} rows"
            if chunk_size is not None
            else f"chunks of {chunk_period} of {timestamp}"
        )
        estimate_table(report, chunking=chunking)
    if report.alerts:
        raise typer.Exit(ESTIMATE_DEGRADED)


def _run(
    reference: Path,
    current: Path,
    chunk_size: int | None,
    chunk_period: str | None,
    timestamp: str | None,
    **fields: object,
) -> EstimationReport:
    from mlvigil.cli.progress import column_progress
    from mlvigil.estimation import EstimationConfig, estimate_performance

    _chunking(chunk_size, chunk_period, timestamp)
    try:
        config = EstimationConfig(**fields)  # type: ignore[arg-type]
    except ConfigError as error:
        raise ConfigError(f"--metrics: {error}") from None  # the one option checked there
    ref_source, cur_source = _open(reference, "REFERENCE"), _open(current, "CURRENT")
    _check_columns(config, ref_source.column_names, cur_source.column_names, timestamp)
    if cur_source.num_rows == 0:
        raise InputError("CURRENT has no rows to estimate")
    try:
        with column_progress("Estimating chunks") as advance:
            return estimate_performance(
                ref_source,
                cur_source,
                chunk_size=chunk_size,
                chunk_period=chunk_period,
                timestamp=timestamp,
                config=config,
                on_chunk=advance,
            )
    except ConfigError as error:
        raise ConfigError(_flags(str(error))) from None


#: The library's option names as this command's flags, for its messages (in order).
_FLAGS = (
    (r"probabilities=\{class: column\}", "--probabilities CLASS=COLUMN"),
    (r"(?<![-\w])probabilities\b", "--probabilities"),
    (r"(?<![-\w])positive_label\b", "--positive-label"),
    (r"calibration='auto'", "--calibration auto"),
)


def _flags(message: str) -> str:
    for pattern, flag in _FLAGS:
        message = re.sub(pattern, flag, message)
    return message


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _verdict(result: CheckResult) -> object:
    from rich.text import Text

    if result.value is None:
        return Text("error", style="yellow")
    direction = result.details.get("direction")
    if direction == "degraded":
        return Text("DEGRADED", style="bold red")
    if direction == "improved":
        return Text("improved", style="cyan")
    return Text("ok", style="green") if direction == "within" else Text("-", style="dim")


def estimate_table(report: EstimationReport, *, chunking: str) -> None:
    """Print the estimates: a verdict line, a row per chunk and metric, then notes."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console() if Console().is_terminal else Console(width=200)
    alerts = report.alerts
    degraded = {chunk.index for chunk, _ in alerts}
    verdict = (
        Text(f"Degraded in {len(degraded)} of {len(report)} chunks", style="bold red")
        if alerts
        else Text(f"No degradation in any of the {len(report)} chunks", style="bold green")
    )
    recalibrated = "recalibrated" if report.calibrated else "not recalibrated"
    verdict.append(
        f": estimated {report.task} performance of CURRENT ({report.current_rows:,} rows) in "
        f"{chunking}, learned on REFERENCE ({report.reference_rows:,} rows"
        + (f"; scores {recalibrated})" if report.task == "classification" else ")"),
        style="default",
    )
    console.print(verdict)
    table = Table(show_edge=False, header_style="bold")
    for header in ("chunk", "rows", "metric", "estimate", "band ±3 SE", "limits", "realized"):
        justify = "left" if header in ("chunk", "metric") else "right"
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("verdict", no_wrap=True)
    notes: list[str] = []
    for item in report:
        for position, result in enumerate(item.results):
            details = result.details
            limits = details.get("limits")
            band = details.get("lower_band"), details.get("upper_band")
            table.add_row(
                item.chunk.key if position == 0 else "",
                f"{item.chunk.rows:,}" if position == 0 else "",
                result.metric,
                _cell(result.value),
                "-" if band[0] is None else f"{band[0]:.4g}–{band[1]:.4g}",
                "-" if not limits else f"{limits['lower']:.4g}–{limits['upper']:.4g}",
                _cell(details.get("realized")),
                _verdict(result),  # type: ignore[arg-type]
            )
            if result.value is None:
                notes.append(f"{item.chunk.key} {result.metric}: {result.message}")
        table.add_section()
    console.print(table)
    for note in dict.fromkeys([*report.warnings, *notes]):
        console.print(Text(note, style="yellow"))
