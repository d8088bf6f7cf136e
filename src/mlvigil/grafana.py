"""A Grafana dashboard for the SDK's and the service's metrics, ready to provision.

:func:`write_provisioning` writes ``dashboards/mlvigil.json`` (the classic dashboard
model, with ``datasource`` and ``model`` template variables) and the datasource and
dashboard-provider YAML Grafana reads from ``provisioning/``. Rows: serving (request and
error rates, latency quantiles, confidence), pipelines (runs, duration, freshness, null
ratios, throughput), ML health from the service (drift, quality, performance, label
coverage), model versions and business outcomes (canary verdicts, differences from the
baseline, per-version performance and outcomes), SLOs (error budget left, burn rates)
and infrastructure.

The infrastructure row reads mlvigil's own host and GPU series
(:mod:`mlvigil.telemetry.host`, :mod:`mlvigil.telemetry.gpu`): host CPU, memory, disk,
filesystem and network, and per GPU utilisation, memory, temperature and power. The GPU
panels fall back to NVIDIA's DCGM exporter's names (``DCGM_FI_DEV_FB_USED`` and
``_FREE`` are MiB, ``DCGM_FI_DEV_GPU_UTIL`` a percentage) where mlvigil's are absent.
Its Kubernetes panels (restarts, CPU and memory against limits) use the standard names
of kube-state-metrics and the kubelet's cAdvisor, filtered by a ``namespace`` variable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mlvigil.grafana_panels import PANELS

SCHEMA_VERSION = 39
"""Grafana 10.4 / 11 dashboards."""

DASHBOARD_UID = "mlvigil-overview"
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


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
        for index, (title, unit, queries, description) in enumerate(row_panels):
            panels.append(
                {
                    "id": next_id,
                    "type": "timeseries",
                    "title": title,
                    "description": description,
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
                {
                    "name": "namespace",
                    "label": "Namespace (Kubernetes)",
                    "type": "query",
                    "datasource": _DATASOURCE,
                    "query": {
                        "query": "label_values(kube_pod_info, namespace)",
                        "refId": "namespaces",
                    },
                    "definition": "label_values(kube_pod_info, namespace)",
                    "includeAll": True,
                    "allValue": ".*",
                    "multi": True,
                    "refresh": 2,
                    "current": {"text": "All", "value": "$__all"},
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
