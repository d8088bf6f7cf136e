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
    """Write DIRECTORY/mlvigil.yaml, its reference data and tokens: a service to edit.

    Two tokens are generated, each in a file readable by its owner only: sdk.token
    (scope ingest, for the model servers) and on-call.token (scopes read and admin, for
    people: the dashboard, the CLI, silences). Run it with
    `mlvigil serve --config DIRECTORY/mlvigil.yaml`.
    """
    with exit_on_user_error():
        from mlvigil.demo.example import TOKENS, write_example

        config = write_example(directory, overwrite=force)
    folder = config.parent
    typer.echo(f"wrote {config} and {folder / 'reference.parquet'}")
    typer.echo("tokens (secret, mode 0600; the configuration reads them from these files):")
    for name, scopes, used_by in TOKENS:
        typer.echo(f"  {folder / f'{name}.token'}  [{scopes}] for {used_by}")
    sdk, on_call = folder / "sdk.token", folder / "on-call.token"
    typer.echo(
        "use them as:\n"
        f"  model servers  MLVIGIL_TOKEN=$(cat {sdk})  (the prediction logger sends it)\n"
        f"  the CLI        MLVIGIL_TOKEN=$(cat {on_call}) mlvigil silence list\n"
        f'  HTTP           curl -H "Authorization: Bearer $(cat {on_call})" ...\n'
        "  the dashboard  asks for the on-call token"
    )
    typer.echo(f"next: mlvigil serve --config {config}")
