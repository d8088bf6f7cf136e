"""``mlvigil shards``: which instance serves which model, when several share the models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error


def shards(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="mlvigil.yaml, with its shards: section.")
    ] = Path("mlvigil.yaml"),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {instance URL: [models]} as JSON.")
    ] = False,
) -> None:
    """Print each instance and the models it serves (for SDK and scrape configurations).

    Every instance of a sharded deployment reads the same file; a model goes to the
    instance its `shard:` names, else to the one the hash of its name picks.
    """
    import os

    from mlvigil.service.config import load_service_config
    from mlvigil.service.shards import SHARD_ENV

    given = os.environ.get(SHARD_ENV)
    os.environ[SHARD_ENV] = given or "0"  # which instance asks does not change the map
    try:
        with exit_on_user_error():
            settings = load_service_config(config)
    finally:
        if given is None:
            del os.environ[SHARD_ENV]
    sharding = settings.sharding
    if sharding is None:
        typer.echo(f"{config} has no shards: section: one instance serves every model", err=True)
        raise typer.Exit(1)
    served: dict[str, list[str]] = {url: [] for url in sharding.instances}
    for model, index in sorted(sharding.owners.items()):
        served[sharding.instances[index]].append(model)
    if as_json:
        typer.echo(json.dumps(served, indent=2))
        return
    for url, models in served.items():
        typer.echo(f"{url}  ({len(models)} models)")
        for model in models:
            typer.echo(f"  {model}")
