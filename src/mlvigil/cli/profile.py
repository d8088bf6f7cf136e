"""``mlvigil profile``: summarise data once into a small, mergeable profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlvigil.cli.default_group import DefaultCommandGroup
from mlvigil.cli.errors import exit_on_user_error
from mlvigil.cli.formats import OutputFormat

app = typer.Typer(
    cls=DefaultCommandGroup,
    help="Profile data (`mlvigil profile DATA -o OUT.profile`), merge or show profiles.",
    no_args_is_help=True,
)


@app.command("create", no_args_is_help=True)
def create(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file to profile.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Profile file to write.")],
    timestamp: Annotated[
        str | None, typer.Option(help="Timestamp column: records the profile's time range.")
    ] = None,
) -> None:
    """Profile DATA and write the profile to OUTPUT (also: `mlvigil profile DATA -o OUT`)."""
    with exit_on_user_error():
        from mlvigil.profile import profile_table

        profile = profile_table(data, timestamp=timestamp)
        profile.save(output)
    typer.echo(f"wrote {output} ({profile.row_count:,} rows, {len(profile.columns)} columns)")


@app.command("merge", no_args_is_help=True)
def merge(
    profiles: Annotated[list[Path], typer.Argument(help="Profiles to merge.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Merged profile to write.")],
) -> None:
    """Merge PROFILES (e.g. hourly windows, or partitions) into one profile."""
    with exit_on_user_error():
        from mlvigil.profile import DatasetProfile

        merged = DatasetProfile.load(profiles[0])
        for path in profiles[1:]:
            merged = merged.merge(DatasetProfile.load(path))
        merged.save(output)
    typer.echo(f"wrote {output} ({merged.row_count:,} rows from {len(profiles)} profiles)")


@app.command("show", no_args_is_help=True)
def show(
    profile: Annotated[Path, typer.Argument(help="Profile file.")],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Print a table or one JSON object.")
    ] = OutputFormat.TABLE,
) -> None:
    """Print a profile's summary: rows, time range and per-column statistics."""
    with exit_on_user_error():
        from mlvigil.profile import DatasetProfile

        loaded = DatasetProfile.load(profile)
    if output_format is OutputFormat.JSON:
        import orjson

        typer.echo(orjson.dumps(loaded.to_dict()).decode())
    else:
        from mlvigil.cli.render import profile_table as render_profile

        render_profile(loaded.to_dict())
