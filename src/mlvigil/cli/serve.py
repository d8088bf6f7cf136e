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
    configuration file; --host and --port override both. Listening beyond loopback
    (e.g. --host 0.0.0.0) needs tokens in the configuration's security section.
    """
    with exit_on_user_error():
        from mlvigil.service.auth import check_exposure
        from mlvigil.service.config import load_service_config
        from mlvigil.service.monitor import MonitoringService

        settings = load_service_config(config)
        bind_host = host or settings.host
        # Beyond loopback without tokens, anyone reaching the port could mute the pager.
        exposure = check_exposure(bind_host, settings.security)
        service = MonitoringService(settings)
    from mlvigil.service.app import create_app
    from mlvigil.service.http_server import run
    from mlvigil.telemetry.logs import configure_logging
    from mlvigil.telemetry.redaction import Redactor

    # URLs keep only scheme and host: receivers' secrets are in their paths and queries.
    redactor = Redactor(patterns=("email", "card", "ssn", "phone", "url"))
    configure_logging(level=log_level.upper(), renderer="auto", redactor=redactor)
    bind_port = settings.port if port is None else port
    if exposure is not None:
        typer.echo(f"warning: {exposure}", err=True)
    typer.echo(
        f"mlvigil serving {len(settings.models)} model(s) on http://{bind_host}:{bind_port} "
        f"(API docs at /docs, metrics at /metrics; store {settings.store})",
        err=True,
    )
    try:
        # On SIGTERM or SIGINT: requests in flight finish (bounded), the scheduler stops,
        # then the store is checkpointed here and the process exits 0.
        run(
            create_app(service),
            host=bind_host,
            port=bind_port,
            limits=settings.limits,
            log_level=log_level.lower(),
        )
    finally:
        service.close()
