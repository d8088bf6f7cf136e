"""``mlvigil spark profile``: profile a model's predictions per window on Spark, push them.

The same job as ``spark-submit .../mlvigil/spark/job.py`` and ``python -m
mlvigil.spark.job`` (:mod:`mlvigil.spark.job`). PySpark is imported only when the
command runs, so ``mlvigil --help`` works without it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error

spark_app = typer.Typer(
    help="Scale-out: profiles per window computed on Spark (pip install 'mlvigil[spark]').",
    no_args_is_help=True,
)


@spark_app.command("profile", no_args_is_help=True)
def profile(
    input_path: Annotated[
        str,
        typer.Option(
            "--input", help="The prediction logger's root (with model=...) or any Parquet path."
        ),
    ],
    model: Annotated[str, typer.Option(help="The model (as the service names it).")],
    window: Annotated[str, typer.Option(help="Window length, e.g. 1h: the model's window.")],
    push: Annotated[
        str | None, typer.Option(help="Service URL: POST each window's profile to it.")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="MLVIGIL_TOKEN", help="Service token with the ingest scope."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Source name at the service [default: a stable hash of the job]."),
    ] = None,
    timestamp: Annotated[str, typer.Option(help="Timestamp column.")] = "timestamp",
    segment: Annotated[
        list[str] | None, typer.Option(help="Segment column (repeatable; with --output).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="Column not to profile (repeatable).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Directory to write profiles into.")
    ] = None,
    performance: Annotated[
        bool, typer.Option(help="Also send per-window performance states.")
    ] = False,
    label: Annotated[
        str, typer.Option(help="Label column [default: the logger's labels, joined].")
    ] = "label",
    prediction: Annotated[str, typer.Option(help="Prediction column.")] = "prediction",
    task: Annotated[str, typer.Option(help="classification or regression.")] = "classification",
    positive_label: Annotated[
        str | None, typer.Option(help="Positive class of a binary classifier.")
    ] = None,
    score: Annotated[str | None, typer.Option(help="Score column of a binary classifier.")] = None,
    master: Annotated[
        str | None, typer.Option(help="Spark master [default: local[*], or spark-submit's].")
    ] = None,
) -> None:
    """Profile every window of MODEL's predictions on Spark; push or write the profiles.

    Reads the prediction logger's layout (ROOT/model=NAME/date=/hour=) or any Parquet
    directory; each Spark task profiles its rows per window and only the profiles
    reach the driver. With --push each window's profile is stored by the service as
    that window and evaluated at once (drift, quality, alerts); running the job
    again replaces this source's profiles. Prints rows and profile bytes per window.
    """
    with exit_on_user_error():
        from mlvigil.checks.quality.freshness import parse_duration
        from mlvigil.spark.job import JobOptions, label_value, print_outcomes, run

        options = JobOptions(
            input=input_path,
            model=model,
            window=parse_duration(window),
            timestamp=timestamp,
            segments=tuple(segment or ()),
            exclude=tuple(exclude or ()),
            push=push,
            token=token,
            source=source,
            output=output,
            performance=performance,
            label=label,
            prediction=prediction,
            task=task,
            positive_label=label_value(positive_label),
            score=score,
            master=master,
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
            outcomes = run(options)
    import sys

    print_outcomes(outcomes, options, sys.stdout)
