"""``mlvigil slo export``: Prometheus recording and burn-rate alerting rules for SLOs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error

slo_app = typer.Typer(help="Service-level objectives and error budgets.", no_args_is_help=True)


@slo_app.command("export")
def export(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the rules (YAML).")
    ],
    config: Annotated[
        Path,
        typer.Option("--config", "-c", help="mlvigil.yaml, whose slos: section to export."),
    ] = Path("mlvigil.yaml"),
    runbooks: Annotated[
        str | None,
        typer.Option(help="Base URL of your runbooks; alerts link to URL#slo-budget-burn."),
    ] = None,
) -> None:
    """Write the SLOs' rules (validate them with `promtool check rules`).

    Per SLO: the error ratio over 5m, 30m, 1h, 2h, 6h, 1d, 3d and the period (scaled
    with the period), objective, budget remaining and burn rates, and the multiwindow
    multi-burn-rate page and ticket alerts. Serving SLIs read the SDK's metrics; model
    SLIs read mlvigil_slo_sli_good from the service's /metrics.
    """
    import yaml

    from mlvigil.alerts.prometheus_rules import DEFAULT_RUNBOOKS
    from mlvigil.service.config import load_service_config
    from mlvigil.slo import slo_rules

    with exit_on_user_error():
        settings = load_service_config(config)
        if not settings.slos:
            typer.echo(f"{config} declares no slos: nothing to export", err=True)
            raise typer.Exit(1)
        rules = slo_rules(settings.slos, runbooks=runbooks or DEFAULT_RUNBOOKS)
    text = yaml.safe_dump(rules, sort_keys=False, width=100, allow_unicode=True)
    output.write_text(
        "# Written by `mlvigil slo export`; load it in Prometheus' rule_files.\n" + text
    )
    count = sum(len(group["rules"]) for group in rules["groups"])
    typer.echo(f"wrote {count} rules for {len(settings.slos)} SLOs to {output}", err=True)
