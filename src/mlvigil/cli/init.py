"""``mlvigil init``: write an example service configuration to start from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the example in.")],
    force: Annotated[bool, typer.Option(help="Overwrite an existing mlvigil.yaml.")] = False,
) -> None:
    """Write DIRECTORY/mlvigil.yaml and its reference data: a working service to edit.

    Run it with `mlvigil serve --config DIRECTORY/mlvigil.yaml`.
    """
    with exit_on_user_error():
        from mlvigil.demo.example import write_example

        config = write_example(directory, overwrite=force)
    typer.echo(f"wrote {config} and {config.parent / 'reference.parquet'}")
    typer.echo(f"next: mlvigil serve --config {config}")
