"""The ``mlvigil`` Typer application: global options and command registration.

Heavy libraries are imported inside commands, so ``mlvigil --help`` and
``mlvigil --version`` answer at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mlvigil._version import __version__
from mlvigil.cli import profile
from mlvigil.cli.alerts import alerts_app, silence_app
from mlvigil.cli.canary import canary
from mlvigil.cli.check import check
from mlvigil.cli.demo import demo
from mlvigil.cli.drift import drift
from mlvigil.cli.estimate import estimate
from mlvigil.cli.grafana import grafana_app
from mlvigil.cli.init import init
from mlvigil.cli.report import report
from mlvigil.cli.rules import rules_app
from mlvigil.cli.serve import serve
from mlvigil.cli.shards import shards
from mlvigil.cli.slo import slo_app
from mlvigil.cli.spark import spark_app

app = typer.Typer(
    name="mlvigil",
    help="ML observability: drift, data quality and model monitoring.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command(no_args_is_help=True)(drift)
app.command(no_args_is_help=True)(estimate)
app.command(no_args_is_help=True)(check)
app.add_typer(profile.app, name="profile")
app.command(no_args_is_help=True)(report)
app.command(no_args_is_help=True)(serve)
app.command()(shards)
app.command(no_args_is_help=True)(init)
app.command()(demo)
app.add_typer(alerts_app, name="alerts")
app.command(no_args_is_help=True)(canary)
app.add_typer(silence_app, name="silence")
app.add_typer(rules_app, name="rules")
app.add_typer(slo_app, name="slo")
app.add_typer(grafana_app, name="grafana")
app.add_typer(spark_app, name="spark")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"mlvigil {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """ML observability: drift, data quality and model monitoring."""


def main() -> None:
    """Entry point of the ``mlvigil`` console script."""
    app()
