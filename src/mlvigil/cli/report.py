"""``mlvigil report``: a self-contained HTML drift and quality report, whole or by chunk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlvigil.cli.drift import (
    ChunkPeriodOption,
    ChunkSizeOption,
    ExcludeOption,
    IdOption,
    Thresholds,
    ThresholdsOption,
    TimestampOption,
    check_columns,
    column_names,
    data_inputs,
    make_chunks,
    open_input,
    parse_chunking,
)
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
    exclude: ExcludeOption = None,
    chunk_size: ChunkSizeOption = None,
    chunk_period: ChunkPeriodOption = None,
    timestamp: TimestampOption = None,
    id_column: IdOption = None,
    thresholds: ThresholdsOption = Thresholds.FIXED,
) -> None:
    """Compare CURRENT with REFERENCE and write one HTML file that opens offline.

    It holds the dataset verdict, a sortable table of every column (method, statistic,
    p-value, threshold, drifted, nulls) with a reference-vs-current chart, and the
    quality results when --config is given. With --chunk-size or --chunk-period it
    also holds a heatmap of drift by column and chunk, and the column table is the
    last chunk's. Exit code 2 when the input is bad.
    """
    with exit_on_user_error():
        from mlvigil.checks.config import load_quality_config
        from mlvigil.cli.progress import column_progress
        from mlvigil.report import chunked_report, dataset_report

        chunking = parse_chunking(
            chunk_size, chunk_period, timestamp, id_column, exclude, thresholds
        )
        quality = load_quality_config(config) if config is not None else None
        ref_input = open_input(reference, "REFERENCE")
        cur_input = open_input(current, "CURRENT")
        check_columns(
            column_names(ref_input), column_names(cur_input), columns=None, chunking=chunking
        )
        labels = (reference.name, current.name)
        if chunking.chunked:
            flag = "--chunk-size" if chunking.size is not None else "--chunk-period"
            ref_source, cur_source = data_inputs(ref_input, cur_input, flag)
            chunks = make_chunks(cur_source, chunking)
            with column_progress(f"Comparing {len(chunks):,} chunks") as advance:
                html = chunked_report(
                    ref_source,
                    cur_source,
                    chunks=chunks,
                    timestamp=chunking.timestamp,
                    id=chunking.id,
                    exclude=chunking.exclude,
                    quality=quality,
                    thresholds=chunking.thresholds,
                    title=title,
                    chunking=chunking.description,
                    labels=labels,
                    on_chunk=advance,
                )
        else:
            with column_progress("Comparing columns") as advance:
                html = dataset_report(
                    reference,
                    current,
                    quality=quality,
                    title=title,
                    exclude=chunking.left_out,
                    labels=labels,
                    on_column=advance,
                )
        try:
            output.write_text(html, encoding="utf-8")
        except OSError as error:
            raise typer.BadParameter(f"cannot write {output}: {error.strerror}") from None
    typer.echo(f"Report written to {output} ({len(html.encode()) / 1024:,.0f} KB)")
