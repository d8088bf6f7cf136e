"""``mlvigil grafana export``: a provisioning-ready Grafana dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

grafana_app = typer.Typer(help="Grafana dashboards.", no_args_is_help=True)


@grafana_app.command("export")
def export(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory to write the files into.")
    ],
    prometheus_url: Annotated[
        str, typer.Option(help="The Prometheus server Grafana queries.")
    ] = "http://localhost:9090",
    dashboards_path: Annotated[
        str | None,
        typer.Option(help="Where Grafana sees DIR/dashboards (e.g. in a container)."),
    ] = None,
) -> None:
    """Write a Grafana dashboard and the files that provision it.

    Panels cover serving, pipelines, ML health and infrastructure; DIR/provisioning
    holds the datasource and dashboard-provider YAML. Point Grafana at it (the
    GF_PATHS_PROVISIONING setting), or copy the files into /etc/grafana/provisioning.
    """
    from mlvigil.grafana import write_provisioning

    for path in write_provisioning(
        output, prometheus_url=prometheus_url, dashboards_path=dashboards_path
    ):
        typer.echo(f"wrote {path}", err=True)
