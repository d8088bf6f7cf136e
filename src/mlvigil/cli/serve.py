"""``mlvigil serve``: run the monitoring service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error


def serve(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The service configuration (mlvigil.yaml).")
    ],
    host: Annotated[
        str | None,
        typer.Option(help="Interface to listen on [default: the config's, else 127.0.0.1]."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on [default: the config's, else 8000].")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the monitoring service: ingest API, scheduled evaluation, /metrics.

    Environment variables MLVIGIL_STORE, MLVIGIL_HOST and MLVIGIL_PORT override the
    configuration file; --host and --port override both.
    """
    with exit_on_user_error():
        from mlvigil.service.config import load_service_config
        from mlvigil.service.monitor import MonitoringService

        settings = load_service_config(config)
        service = MonitoringService(settings)
    import uvicorn

    from mlvigil.service.app import create_app
    from mlvigil.telemetry.logs import configure_logging

    configure_logging(level=log_level.upper(), renderer="auto")
    bind_host = host or settings.host
    bind_port = settings.port if port is None else port
    typer.echo(
        f"mlvigil serving {len(settings.models)} model(s) on http://{bind_host}:{bind_port} "
        f"(API docs at /docs, metrics at /metrics; store {settings.store})",
        err=True,
    )
    try:
        uvicorn.run(
            create_app(service),
            host=bind_host,
            port=bind_port,
            log_config=None,
            log_level=log_level.lower(),
        )
    finally:
        service.close()
