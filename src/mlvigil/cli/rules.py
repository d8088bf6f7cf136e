"""``mlvigil rules export``: Prometheus alerting rules for the SDK's and service's metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error

rules_app = typer.Typer(help="Prometheus alerting rules.", no_args_is_help=True)


@rules_app.command("export")
def export(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the rules (YAML).")
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="mlvigil.yaml: adds per-model rules from its performance baselines and windows.",
        ),
    ] = None,
    runbooks: Annotated[
        str | None,
        typer.Option(help="Base URL of your runbooks; rules link to URL#alertname."),
    ] = None,
    max_error_rate: Annotated[float, typer.Option(help="Error share of predictions.")] = 0.05,
    max_p99_latency: Annotated[float, typer.Option(help="p99 latency, in seconds.")] = 0.5,
    min_median_confidence: Annotated[float, typer.Option(help="Median confidence.")] = 0.6,
    max_gpu_memory: Annotated[float, typer.Option(help="Share of GPU memory in use.")] = 0.9,
    min_host_memory_available: Annotated[
        float, typer.Option(help="Share of the host's memory available.")
    ] = 0.1,
    min_filesystem_available: Annotated[
        float, typer.Option(help="Share of the filesystem available.")
    ] = 0.1,
    max_null_rate: Annotated[float, typer.Option(help="Null share of a feature.")] = 0.1,
    max_data_age: Annotated[str, typer.Option(help="Age of a pipeline's data, e.g. 6h.")] = "6h",
) -> None:
    """Write Prometheus alerting rules (validate them with `promtool check rules`).

    Covers serving (error rate, p99 latency, median confidence, no predictions),
    infrastructure (GPU memory, host memory, disk), pipelines (failed runs, stale data,
    null ratios) and model health from the service (drift, null rates, quality, empty
    windows, performance vs baseline, monitoring staleness). SLO rules: `mlvigil slo
    export`.
    """
    import yaml

    from mlvigil.alerts.prometheus_rules import DEFAULT_RUNBOOKS, RuleThresholds, prometheus_rules
    from mlvigil.checks.quality.freshness import parse_duration

    with exit_on_user_error():
        settings = None
        if config is not None:
            from mlvigil.service.config import load_service_config

            settings = load_service_config(config)
        thresholds = RuleThresholds(
            max_error_rate=max_error_rate,
            max_p99_latency_seconds=max_p99_latency,
            min_median_confidence=min_median_confidence,
            max_gpu_memory_ratio=max_gpu_memory,
            min_host_memory_available_ratio=min_host_memory_available,
            min_filesystem_available_ratio=min_filesystem_available,
            max_null_rate=max_null_rate,
            max_data_age=parse_duration(max_data_age),
        )
        rules = prometheus_rules(
            settings, thresholds=thresholds, runbooks=runbooks or DEFAULT_RUNBOOKS
        )
    text = yaml.safe_dump(rules, sort_keys=False, width=100, allow_unicode=True)
    output.write_text(
        "# Written by `mlvigil rules export`; load it in Prometheus' rule_files.\n" + text
    )
    count = sum(len(group["rules"]) for group in rules["groups"])
    typer.echo(f"wrote {count} rules in {len(rules['groups'])} groups to {output}", err=True)
