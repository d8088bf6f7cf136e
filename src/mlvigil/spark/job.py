r"""The Spark job: profile a model's predictions per window and push them to the service.

Run it with ``spark-submit``, with ``python -m``, or as ``mlvigil spark profile``::

    spark-submit "$(python -c 'import mlvigil.spark.job as j; print(j.__file__)')" \\
        --input s3a://lake/predictions --model churn --window 1h \\
        --push https://mlvigil.internal:8000 --token "$MLVIGIL_TOKEN"
    python -m mlvigil.spark.job --input lake/ --model churn --window 1h --output profiles/

It reads the prediction logger's layout (``ROOT/model=<m>/date=/hour=``, see
:mod:`mlvigil.spark.lake`) or any Parquet directory, profiles each window in the
Spark tasks (:func:`~mlvigil.spark.profile_dataframe`) and, with ``--push``, posts
each window's profile to the service, which stores it as the window (per source:
a job run again replaces its profiles) and evaluates it at once: drift against the
reference, data quality, alerts. Without ``--push`` the profiles are written as
files under ``--output``. With ``--performance`` it also sends each window's
:class:`~mlvigil.checks.performance_state.PerformanceState` (labels joined from the
logger's ``labels/``, or a ``--label`` column). It prints one line per window:
rows, profile bytes, and the service's answer.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

import orjson

from mlvigil.checks.quality.freshness import parse_duration
from mlvigil.exceptions import ConfigError, InputError
from mlvigil.spark.driver import pyspark_module
from mlvigil.spark.push import TOKEN_ENV, Pusher, default_source, summary_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "JobOptions",
    "WindowOutcome",
    "label_value",
    "main",
    "parse_args",
    "print_outcomes",
    "run",
]


@dataclass(frozen=True)
class JobOptions:
    """What the job does; the command-line options, typed.

    Attributes
    ----------
    input
        The logger's root directory (with ``model=...`` inside) or any Parquet path.
    model
        The model whose predictions are profiled (and the service's model name).
    window
        Window length (the model's ``window`` in the service's configuration).
    timestamp
        Timestamp column (the logger's ``timestamp``).
    segments
        Columns to split each window by (``--output`` only: the service takes one
        profile per window).
    exclude
        Columns not profiled.
    push, token, source
        The service URL, its token (default ``$MLVIGIL_TOKEN``), and the source name
        (default: a hash of the input, model and window, stable across runs).
    output
        Directory for the profile files.
    performance, label, prediction, task, positive_label, score
        Performance states: the label column (the logger's joined labels by
        default), the prediction column, the task, and the positive class and
        score column of a binary classifier.
    master
        Spark master when not run by ``spark-submit`` (default ``local[*]``).
    """

    input: str
    model: str
    window: timedelta
    timestamp: str = "timestamp"
    segments: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    push: str | None = None
    token: str | None = None
    source: str | None = None
    output: Path | None = None
    performance: bool = False
    label: str = "label"
    prediction: str = "prediction"
    task: str = "classification"
    positive_label: Any = None
    score: str | None = None
    master: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        """Raise :class:`ConfigError` for options that cannot work together."""
        if self.push is None and self.output is None:
            raise ConfigError("nothing to do: give --push URL (the service) or --output DIR")
        if self.push is not None and self.segments:
            raise ConfigError(
                "the service takes one profile per window: --segment goes with --output only"
            )

    @property
    def job_source(self) -> str:
        """The source name the service files this job's summaries under."""
        return self.source or default_source(self.input, self.model, str(self.window))


@dataclass(frozen=True)
class WindowOutcome:
    """One window (and segment) the job profiled, and what became of it."""

    start: datetime | None
    segment: tuple[Any, ...]
    rows: int
    profile_bytes: int
    performance_bytes: int | None = None
    labelled: int | None = None
    pushed: dict[str, Any] | None = None
    written: tuple[Path, ...] = ()


#: Arrow batches of 100,000 rows (Spark's default: 10,000) cut the per-batch cost of
#: the tasks; a value given to spark-submit or with --conf wins.
ARROW_BATCH = ("spark.sql.execution.arrow.maxRecordsPerBatch", "100000")


def _session(options: JobOptions) -> SparkSession:
    session = pyspark_module("pyspark.sql").SparkSession
    builder = session.builder.appName(f"mlvigil spark profile {options.model}")
    if options.master:
        builder = builder.master(options.master)
    if not pyspark_module("pyspark").SparkConf().contains(ARROW_BATCH[0]):
        builder = builder.config(*ARROW_BATCH)
    for key, value in options.extra.items():
        builder = builder.config(key, value)
    spark: SparkSession = builder.getOrCreate()
    return spark


def run(options: JobOptions, spark: SparkSession | None = None) -> list[WindowOutcome]:
    """Profile (and push, or write) every window of ``options.model``'s predictions.

    Parameters
    ----------
    options
        What to read and where the profiles go.
    spark
        A session to use; default: the active one, or a new one.

    Raises
    ------
    ConfigError
        For options that do not go together.
    InputError
        When the input cannot be read or lacks a named column.
    ReceiverError
        When the service refuses a window or cannot be reached.
    """
    from mlvigil.spark.dataframe import profile_dataframe
    from mlvigil.spark.lake import read_predictions, with_labels
    from mlvigil.spark.performance import performance_state_dataframe

    options.check()
    spark = spark or _session(options)
    found = read_predictions(spark, options.input, options.model)
    frame = found.frame
    if options.timestamp not in frame.columns:
        raise InputError(
            f"no timestamp column {options.timestamp!r} in {options.input}; columns: "
            f"{', '.join(frame.columns)} (set --timestamp)"
        )
    columns = [c for c in frame.columns if c not in options.exclude]
    profiles = profile_dataframe(
        frame,
        timestamp=options.timestamp,
        window=options.window,
        segments=options.segments,
        columns=columns,
    )
    states: dict[Any, Any] = {}
    if options.performance:
        labelled = with_labels(found) if found.layout == "logger" else frame
        score = options.score or ("score" if "score" in labelled.columns else None)
        binary = options.task == "classification" and options.positive_label is not None
        states = dict(
            performance_state_dataframe(
                labelled,
                label=options.label,
                prediction=options.prediction,
                score=score if binary else None,
                task=options.task,
                positive_label=options.positive_label,
                timestamp=options.timestamp,
                window=options.window,
                segments=options.segments,
            )
        )
    outcomes = []
    pusher = None if options.push is None else Pusher(options.push, token=options.token)
    try:
        for key, profile in profiles.items():
            body = profile.serialize()
            state = states.get(key)
            state_body = None if state is None else state.serialize()
            written: list[Path] = []
            if options.output is not None:
                written.append(_write(options, key.window_start, key.segment, "profile", body))
                if state_body is not None:
                    where = _write(
                        options, key.window_start, key.segment, "performance", state_body
                    )
                    written.append(where)
            pushed = None
            if pusher is not None and key.window_start is not None:
                source = options.job_source
                pushed = pusher.push(options.model, "profile", key.window_start, source, body).body
                if state_body is not None:
                    pusher.push(options.model, "performance", key.window_start, source, state_body)
            outcomes.append(
                WindowOutcome(
                    key.window_start,
                    key.segment,
                    profile.row_count,
                    len(body),
                    None if state_body is None else len(state_body),
                    None if state is None else state.labelled,
                    pushed,
                    tuple(written),
                )
            )
    finally:
        if pusher is not None:
            pusher.close()
    return outcomes


def _write(
    options: JobOptions, start: datetime | None, segment: tuple[Any, ...], kind: str, data: bytes
) -> Path:
    assert options.output is not None
    path = summary_path(options.output, options.model, start, kind)
    if segment:
        label = orjson.dumps(list(segment), default=str).decode()
        path = path.with_name(f"{path.stem}.segment-{_safe(label)}.{kind}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path


def _safe(text: str) -> str:
    return quote(text, safe="")


def print_outcomes(outcomes: Sequence[WindowOutcome], options: JobOptions, out: TextIO) -> None:
    """The job's table: one line per window, then the totals."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"mlvigil spark profile: model {options.model}", title_justify="left")
    for name in ("window start (UTC)", "segment", "rows", "profile bytes"):
        table.add_column(name, justify="right" if "rows" in name or "bytes" in name else "left")
    if options.performance:
        table.add_column("labelled", justify="right")
        table.add_column("state bytes", justify="right")
    if options.push:
        table.add_column("service", justify="left")
    for outcome in outcomes:
        start = "no timestamp" if outcome.start is None else outcome.start.isoformat()
        cells = [start, "" if not outcome.segment else str(list(outcome.segment))]
        cells += [f"{outcome.rows:,}", f"{outcome.profile_bytes:,}"]
        if options.performance:
            cells += [f"{outcome.labelled or 0:,}", f"{outcome.performance_bytes or 0:,}"]
        if options.push:
            answer = outcome.pushed
            cells.append(
                "not pushed (no timestamp)"
                if answer is None
                else f"{answer.get('rows', '?')} rows, {answer.get('sources', '?')} sources, "
                f"{answer.get('failed', '?')} of {answer.get('results', '?')} checks failed"
            )
        table.add_row(*cells)
    console = Console(file=out, width=160)
    console.print(table)
    rows = sum(o.rows for o in outcomes)
    size = sum(o.profile_bytes for o in outcomes)
    console.print(
        f"{len(outcomes)} windows, {rows:,} rows, {size:,} profile bytes"
        + (f"; pushed to {options.push} as source {options.job_source}" if options.push else "")
        + (f"; written under {options.output}" if options.output else "")
    )


def label_value(text: str | None) -> Any:
    """A positive label as typed: ``1`` is a number, ``yes`` or ``"1"`` text."""
    if text is None:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return value if isinstance(value, str | int | float | bool) else text


def parser() -> argparse.ArgumentParser:
    """The job's command line (the same options as ``mlvigil spark profile``)."""
    parser = argparse.ArgumentParser(
        prog="mlvigil.spark.job", description=(__doc__ or "").splitlines()[0]
    )
    add = parser.add_argument
    add("--input", required=True, help="logger root (with model=...) or any Parquet path")
    add("--model", required=True, help="model name (as the service knows it)")
    add("--window", required=True, help="window length, e.g. 1h (the model's window)")
    add("--timestamp", default="timestamp", help="timestamp column (default: timestamp)")
    add("--segment", action="append", default=[], help="segment column (repeatable)")
    add("--exclude", action="append", default=[], help="column not to profile (repeatable)")
    add("--push", help="service URL: POST each window's profile to it")
    add("--token", help=f"service token with the ingest scope (default: ${TOKEN_ENV})")
    add("--source", help="source name for the service (default: stable hash of the job)")
    add("--output", type=Path, help="directory to write the profiles into")
    add("--performance", action="store_true", help="also send per-window performance states")
    add("--label", default="label", help="label column (default: the logger's joined labels)")
    add("--prediction", default="prediction", help="prediction column (default: prediction)")
    add("--task", default="classification", choices=["classification", "regression"])
    add("--positive-label", help="positive class of a binary classifier (JSON scalar or text)")
    add("--score", help="score column of a binary classifier (default: score)")
    add("--master", help="Spark master when not run by spark-submit (default: local[*])")
    add("--conf", action="append", default=[], help="extra Spark setting KEY=VALUE")
    return parser


def parse_args(argv: Sequence[str]) -> JobOptions:
    """Options from a command line; exits with the usage on bad ones."""
    args = parser().parse_args(list(argv))
    extra = dict(item.partition("=")[::2] for item in args.conf)
    return JobOptions(
        input=args.input,
        model=args.model,
        window=parse_duration(args.window),
        timestamp=args.timestamp,
        segments=tuple(args.segment),
        exclude=tuple(args.exclude),
        push=args.push,
        token=args.token or os.environ.get(TOKEN_ENV),
        source=args.source,
        output=args.output,
        performance=args.performance,
        label=args.label,
        prediction=args.prediction,
        task=args.task,
        positive_label=label_value(args.positive_label),
        score=args.score,
        master=args.master,
        extra=extra,
    )


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    """Run the job from a command line; print the table; return the exit status.

    Errors of input, options or delivery print one ``error:`` line and return 2.
    """
    from mlvigil.exceptions import MlvigilError

    try:
        options = parse_args(sys.argv[1:] if argv is None else argv)
        with warnings.catch_warnings():
            # PySpark 4.0's notice about pandas 3 on every Arrow call: not this job's news.
            warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
            outcomes = run(options, spark)
    except MlvigilError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_outcomes(outcomes, options, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
