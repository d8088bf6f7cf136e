"""`mlvigil grafana export`: provisioning files whose every query names a metric the
project really exports (read from a live `mlvigil serve` /metrics and the SDK's
exposition, host and GPU collectors included) or a named external exporter's, in PromQL
the real promtool accepts.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import yaml
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from service_data import AUTH, records
from typer.testing import CliRunner

from fake_nvml import FakeGpu, FakeNvml, proc
from live_servers import system_binary
from mlvigil import catalog
from mlvigil.cli.app import app as cli
from mlvigil.grafana import expressions
from mlvigil.service.evaluation import window_bounds
from mlvigil.slo import SLOModel, slo_rules
from mlvigil.telemetry import ModelMonitor, PipelineMonitor

#: Metrics a panel may use that other exporters provide, by exporter.
EXTERNAL = {
    "NVIDIA DCGM exporter": {
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_FB_FREE",
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_POWER_USAGE",
    },
    "kube-state-metrics": {
        "kube_pod_info",
        "kube_pod_container_status_restarts_total",
        "kube_pod_container_resource_limits",
    },
    "cAdvisor (kubelet)": {
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
    },
}
EXTERNAL_NAMES = set().union(*EXTERNAL.values())
PROMQL_FUNCTIONS = {"sum", "max", "rate", "increase", "histogram_quantile", "count", "time"}
PROMQL_OPERATORS = {"and", "or", "unless"}


def exported_names(exposition: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(exposition):
        names.update(sample.name for sample in family.samples)
    return names


def sdk_exposition() -> str:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    monitor = ModelMonitor("credit", registry=registry)
    with monitor.predict({"income": 1.0}) as scope:
        scope.set("approve", score=0.9)
    monitor.set_model_memory(1e6)
    pipeline = PipelineMonitor("features", registry=registry)
    with pipeline.run():
        pipeline.record_processed("extract", 10)
    pipeline.mark_updated("applicants")
    pipeline.set_null_ratio("applicants", "income", 0.1)
    # A fake NVML stands in for the GPU these machines lack; the collector is the real one.
    gpu = FakeGpu("GPU-a", "NVIDIA L4", processes=[proc(4242, 1 << 30)])
    monitor.collect_host_metrics(nvml=FakeNvml([gpu]))
    return generate_latest(registry).decode()


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label names and functions left out)."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    tokens = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text))  # recording rules have ":"
    return tokens - PROMQL_FUNCTIONS - PROMQL_OPERATORS


def test_metric_names_leave_out_labels_functions_and_grouping():
    expr = (
        'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!=""}[5m]))'
        " / on (pod) group_left () kube_pod_info or time() - up - slo:objective:ratio"
    )
    assert metric_names(expr) == {
        "container_cpu_usage_seconds_total",
        "kube_pod_info",
        "up",
        "slo:objective:ratio",
    }


def test_every_panel_queries_metrics_the_project_exports_in_valid_promql(tmp_path, serve):
    exported = CliRunner().invoke(cli, ["grafana", "export", "-o", str(tmp_path / "grafana")])
    assert exported.exit_code == 0, exported.output
    board = json.loads((tmp_path / "grafana/dashboards/mlvigil.json").read_text())
    assert board["schemaVersion"] >= 36
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows == [
        "Serving",
        "Pipelines",
        "ML health (mlvigil service)",
        "Versions and business outcomes (mlvigil service)",
        "SLOs",
        "Infrastructure",
    ]
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            read = set().union(*(metric_names(t["expr"]) for t in panel["targets"]))
            if read & EXTERNAL["kube-state-metrics"]:
                assert "kube-state-metrics" in panel["description"], panel["title"]
    provider = yaml.safe_load(
        (tmp_path / "grafana/provisioning/dashboards/mlvigil.yaml").read_text()
    )
    assert provider["providers"][0]["options"]["path"].endswith("dashboards")
    datasource = yaml.safe_load(
        (tmp_path / "grafana/provisioning/datasources/mlvigil.yaml").read_text()
    )
    assert datasource["datasources"][0]["type"] == "prometheus"

    url, _ = serve()
    # The last hour: the service's scheduler evaluates every closed window up to now.
    start, end = window_bounds(datetime.now(UTC) - timedelta(hours=1), timedelta(hours=1))
    drifted = records(300, seed=3, start=start, income_shift=40_000)
    assert httpx.post(
        f"{url}/api/v1/models/credit/predictions", json={"records": drifted}, headers=AUTH
    ).is_success
    labels = [{"id": r["id"], "label": r["prediction"]} for r in drifted]
    posted = httpx.post(
        f"{url}/api/v1/models/credit/labels", json={"records": labels}, headers=AUTH
    )
    assert posted.is_success
    evaluated = httpx.post(
        f"{url}/api/v1/models/credit/evaluate",
        params={"start": start.isoformat(), "end": end.isoformat()},
        headers=AUTH,
    )
    assert evaluated.is_success, evaluated.text
    live = exported_names(httpx.get(f"{url}/metrics", headers=AUTH).text) | exported_names(
        sdk_exposition()
    )
    # SLO series: the rules `mlvigil slo export` records, and the service's gauges
    # (exported once SLOs are declared; this service has none).
    sample = SLOModel.model_validate(
        {"name": "s", "model": "credit", "objective": 99, "sli": {"drift": {}}}
    ).resolve()
    groups = slo_rules([sample], runbooks="https://example.com")["groups"]
    live |= {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}
    live |= {metric.name for metric in catalog.SLO_METRICS}
    # Exported once a model declares outcomes or sends two versions (this one does
    # neither): tests/service/test_service_versions.py finds each in /metrics.
    live |= {m.name for m in (*catalog.VERSION_METRICS, catalog.SEGMENT_PERFORMANCE)}

    queries = expressions(board)
    used = set().union(*(metric_names(q) for q in queries))
    assert used - live - EXTERNAL_NAMES == set()
    assert {"ml_prediction_latency_seconds_bucket", "mlvigil_drift_share"} <= used
    assert {
        "mlvigil_host_cpu_seconds_total",
        "mlvigil_host_memory_available_bytes",
        "mlvigil_host_disk_read_bytes_total",
        "mlvigil_host_network_receive_bytes_total",
        "mlvigil_gpu_utilization_ratio",
        "mlvigil_gpu_memory_used_bytes",
        "mlvigil_gpu_temperature_celsius",
        "mlvigil_gpu_power_watts",
    } <= used & live
    variable_queries = [v["definition"] for v in variables.values() if "definition" in v]
    assert {"ml_prediction_requests_total", "kube_pod_info"} == {
        re.search(r"label_values\((\w+),", q).group(1) for q in variable_queries
    }

    # promtool checks PromQL inside rule files: one recording rule per query.
    concrete = [
        q.replace("$__rate_interval", "5m").replace("$model", ".*").replace("$namespace", ".*")
        for q in queries
    ]
    rules = {
        "groups": [
            {
                "name": "grafana-queries",
                "rules": [{"record": f"panel:query{n}", "expr": q} for n, q in enumerate(concrete)],
            }
        ]
    }
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    checked = subprocess.run(
        [system_binary("promtool", "prometheus"), "check", "rules", "queries.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
