"""A Grafana dashboard for the SDK's and the service's metrics, ready to provision.

:func:`write_provisioning` writes ``dashboards/mlvigil.json`` (the classic dashboard
model, with ``datasource`` and ``model`` template variables) and the datasource and
dashboard-provider YAML Grafana reads from ``provisioning/``. Rows: serving (request and
error rates, latency quantiles, confidence), pipelines (runs, duration, freshness, null
ratios, throughput), ML health from the service (drift, quality, performance, label
coverage) and infrastructure (CPU, memory, GPU memory from NVIDIA's DCGM exporter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mlvigil import catalog

SCHEMA_VERSION = 39
"""Grafana 10.4 / 11 dashboards."""

DASHBOARD_UID = "mlvigil-overview"
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_MODEL = 'model=~"$model"'

#: (row title, [(panel title, unit, [(PromQL, legend)])]).
PANELS: list[tuple[str, list[tuple[str, str, list[tuple[str, str]]]]]] = [
    (
        "Serving",
        [
            (
                "Prediction rate",
                "reqps",
                [
                    (
                        f"sum by (model, status) (rate(ml_prediction_requests_total{{{_MODEL}}}"
                        "[$__rate_interval]))",
                        "{{model}} {{status}}",
                    )
                ],
            ),
            (
                "Error rate",
                "percentunit",
                [
                    (
                        "sum by (model) (rate(ml_prediction_requests_total"
                        f'{{{_MODEL},status="error"}}[$__rate_interval]))\n'
                        f"  / sum by (model) (rate(ml_prediction_requests_total{{{_MODEL}}}"
                        "[$__rate_interval]))",
                        "{{model}}",
                    )
                ],
            ),
            (
                "Latency p50 / p95 / p99",
                "s",
                [
                    (
                        f"histogram_quantile({q}, sum by (model, le) "
                        f"(rate(ml_prediction_latency_seconds_bucket{{{_MODEL}}}"
                        "[$__rate_interval])))",
                        f"{{{{model}}}} p{round(q * 100)}",
                    )
                    for q in (0.5, 0.95, 0.99)
                ],
            ),
            (
                "Median confidence",
                "percentunit",
                [
                    (
                        "histogram_quantile(0.5, sum by (model, le) "
                        f"(rate(ml_prediction_confidence_bucket{{{_MODEL}}}[$__rate_interval])))",
                        "{{model}}",
                    )
                ],
            ),
        ],
    ),
    (
        "Pipelines",
        [
            (
                "Runs",
                "short",
                [
                    (
                        "sum by (pipeline, status) "
                        "(increase(ml_pipeline_runs_total[$__rate_interval]))",
                        "{{pipeline}} {{status}}",
                    )
                ],
            ),
            (
                "Run duration p95",
                "s",
                [
                    (
                        "histogram_quantile(0.95, sum by (pipeline, le) "
                        "(rate(ml_pipeline_run_duration_seconds_bucket[$__rate_interval])))",
                        "{{pipeline}}",
                    )
                ],
            ),
            (
                "Data age",
                "s",
                [("time() - ml_data_last_updated_timestamp_seconds", "{{dataset}}")],
            ),
            (
                "Feature null ratio",
                "percentunit",
                [("ml_feature_null_ratio", "{{dataset}} {{feature}}")],
            ),
            (
                "Records processed",
                "short",
                [
                    (
                        "sum by (pipeline, stage) "
                        "(rate(ml_pipeline_records_processed_total[$__rate_interval]))",
                        "{{pipeline}} {{stage}}",
                    )
                ],
            ),
        ],
    ),
    (
        "ML health (mlvigil service)",
        [
            ("Drift share", "percentunit", [(f"{catalog.DRIFT_SHARE}{{{_MODEL}}}", "{{model}}")]),
            (
                "Drift score by column",
                "short",
                [(f"{catalog.DRIFT_SCORE}{{{_MODEL}}}", "{{model}} {{column}} ({{method}})")],
            ),
            (
                "Null rate by column",
                "percentunit",
                [(f"{catalog.NULL_RATE}{{{_MODEL}}}", "{{model}} {{column}}")],
            ),
            (
                "Failing quality checks",
                "short",
                [
                    (
                        f"count by (model) ({catalog.QUALITY_CHECK_PASSED}{{{_MODEL}}} == 0)",
                        "{{model}}",
                    )
                ],
            ),
            (
                "Performance (labels matured)",
                "short",
                [(f"{catalog.PERFORMANCE}{{{_MODEL}}}", "{{model}} {{metric}}")],
            ),
            (
                "Label coverage",
                "percentunit",
                [(f"{catalog.LABEL_COVERAGE}{{{_MODEL}}}", "{{model}}")],
            ),
            (
                "Rows ingested",
                "short",
                [
                    (
                        f"sum by (model) (rate({catalog.ROWS_INGESTED}{{{_MODEL}}}"
                        "[$__rate_interval]))",
                        "{{model}}",
                    )
                ],
            ),
        ],
    ),
    (
        "Infrastructure",
        [
            (
                "CPU",
                "percentunit",
                [("rate(process_cpu_seconds_total[$__rate_interval])", "{{job}} {{instance}}")],
            ),
            (
                "Memory",
                "bytes",
                [
                    ("process_resident_memory_bytes", "{{job}} {{instance}} RSS"),
                    ("ml_model_memory_bytes", "{{model}} {{version}} model"),
                ],
            ),
            (
                "GPU memory in use (DCGM exporter)",
                "percentunit",
                [
                    (
                        "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)",
                        "{{Hostname}} GPU {{gpu}}",
                    )
                ],
            ),
        ],
    ),
]


def dashboard() -> dict[str, Any]:
    """The dashboard JSON (classic model)."""
    panels: list[dict[str, Any]] = []
    y = 0
    next_id = 1
    for row_title, row_panels in PANELS:
        panels.append(
            {
                "id": next_id,
                "type": "row",
                "title": row_title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        next_id += 1
        y += 1
        for index, (title, unit, queries) in enumerate(row_panels):
            panels.append(
                {
                    "id": next_id,
                    "type": "timeseries",
                    "title": title,
                    "datasource": _DATASOURCE,
                    "gridPos": {"h": 8, "w": 8, "x": 8 * (index % 3), "y": y + 8 * (index // 3)},
                    "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                    "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
                    "targets": [
                        {
                            "refId": chr(ord("A") + n),
                            "datasource": _DATASOURCE,
                            "expr": expr,
                            "legendFormat": legend,
                        }
                        for n, (expr, legend) in enumerate(queries)
                    ],
                }
            )
            next_id += 1
        y += 8 * ((len(row_panels) + 2) // 3)
    return {
        "uid": DASHBOARD_UID,
        "title": "mlvigil: ML models in production",
        "tags": ["mlvigil", "ml"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                },
                {
                    "name": "model",
                    "label": "Model",
                    "type": "query",
                    "datasource": _DATASOURCE,
                    "query": {
                        "query": "label_values(ml_prediction_requests_total, model)",
                        "refId": "models",
                    },
                    "definition": "label_values(ml_prediction_requests_total, model)",
                    "includeAll": True,
                    "allValue": ".*",
                    "multi": True,
                    "refresh": 2,
                    "current": {},
                },
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def write_provisioning(
    directory: Path, *, prometheus_url: str, dashboards_path: str | None = None
) -> list[Path]:
    """Write the dashboard and Grafana's provisioning files under ``directory``.

    Parameters
    ----------
    directory
        Where to write ``dashboards/`` and ``provisioning/``.
    prometheus_url
        The Prometheus server Grafana queries.
    dashboards_path
        Where Grafana will find ``dashboards/`` (e.g. a container's mount point);
        this machine's path by default.

    Returns
    -------
    The files written.
    """
    dashboards = directory / "dashboards"
    datasources = directory / "provisioning" / "datasources"
    providers = directory / "provisioning" / "dashboards"
    for folder in (dashboards, datasources, providers):
        folder.mkdir(parents=True, exist_ok=True)
    written = [
        dashboards / "mlvigil.json",
        datasources / "mlvigil.yaml",
        providers / "mlvigil.yaml",
    ]
    written[0].write_text(json.dumps(dashboard(), indent=2) + "\n")
    written[1].write_text(
        yaml.safe_dump(
            {
                "apiVersion": 1,
                "datasources": [
                    {
                        "name": "Prometheus",
                        "type": "prometheus",
                        "uid": "prometheus",
                        "access": "proxy",
                        "url": prometheus_url,
                        "isDefault": True,
                    }
                ],
            },
            sort_keys=False,
        )
    )
    written[2].write_text(
        yaml.safe_dump(
            {
                "apiVersion": 1,
                "providers": [
                    {
                        "name": "mlvigil",
                        "folder": "mlvigil",
                        "type": "file",
                        "disableDeletion": False,
                        "updateIntervalSeconds": 30,
                        "options": {"path": dashboards_path or str(dashboards.resolve())},
                    }
                ],
            },
            sort_keys=False,
        )
    )
    return written


def expressions(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard's panels."""
    return [target["expr"] for panel in board["panels"] for target in panel.get("targets", ())]
