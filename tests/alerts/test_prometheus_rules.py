"""`mlvigil rules export` writes rules the real promtool accepts, and key rules fire and resolve."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import yaml
from typer.testing import CliRunner

from live_servers import system_binary
from mlvigil.alerts.prometheus_rules import RuleThresholds, prometheus_rules
from mlvigil.cli.app import app as cli
from mlvigil.service.config import parse_service_config

CONFIG = """
store: mlvigil.duckdb
models:
  credit:
    schema:
      features: {income: numerical}
      prediction: prediction
      target: label
    window: 1h
    checks:
      performance:
        task: classification
        metrics: [accuracy, log_loss]
        baseline: {accuracy: 0.9, log_loss: 0.3}
        max_degradation: 0.05
"""
RUNBOOKS = "https://runbooks.example.com/ml"
RUNBOOK_PAGE = Path(__file__).parents[2] / "docs" / "runbooks.md"


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = system_binary("promtool", "prometheus")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_exported_rules_pass_promtool_check_and_cover_every_family(tmp_path):
    config = tmp_path / "mlvigil.yaml"
    config.write_text(CONFIG)
    result = CliRunner().invoke(
        cli, ["rules", "export", "-c", str(config), "-o", str(tmp_path / "rules.yml")]
    )
    assert result.exit_code == 0, result.output
    checked = promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = yaml.safe_load((tmp_path / "rules.yml").read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {
        "MLHighErrorRate",
        "MLHighP99Latency",
        "MLLowMedianConfidence",
        "MLGPUMemoryHigh",
        "MLHostMemoryHigh",
        "MLHostDiskFull",
        "MLNoPredictions",
        "MLFeatureDrift",
        "MLDatasetDrift",
        "MLNullRateHigh",
        "MLDataStale",
        "MLMonitoringStale",
        "MLPerformanceBelowBaseline",
    } <= names
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("info", "warning", "error", "critical")
            assert "for" in rule
            assert rule["annotations"]["runbook_url"].endswith("#" + rule["alert"].lower())


def alert(labels: dict[str, str], summary: str, description: str, name: str) -> dict:
    return {
        "exp_labels": labels,
        "exp_annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{RUNBOOKS}#{name.lower()}",
        },
    }


def test_key_rules_fire_and_resolve_under_promtool_test(tmp_path):
    settings = parse_service_config(yaml.safe_load(CONFIG), base_dir=tmp_path)
    rules = prometheus_rules(
        settings,
        thresholds=RuleThresholds(max_data_age=timedelta(minutes=10)),
        runbooks=RUNBOOKS,
    )
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    # 75 good and 25 failed predictions a minute for 20 minutes, then no errors.
                    {
                        "series": 'ml_prediction_requests_total{model="credit",status="success"}',
                        "values": "0+75x40",
                    },
                    {
                        "series": 'ml_prediction_requests_total{model="credit",status="error"}',
                        "values": "0+25x20 500+0x20",
                    },
                    {"series": 'mlvigil_dataset_drift{model="credit"}', "values": "0x5 1x15 0x20"},
                    {
                        "series": 'mlvigil_performance{model="credit",metric="accuracy"}',
                        "values": "0.95x5 0.7x15 0.95x20",
                    },
                    # Updated at t=0, then (the pipeline recovered) at t=30m.
                    {
                        "series": 'ml_data_last_updated_timestamp_seconds{dataset="features"}',
                        "values": "0x29 1800x10",
                    },
                ],
                "alert_rule_test": [
                    {"eval_time": "3m", "alertname": "MLHighErrorRate", "exp_alerts": []},
                    {
                        "eval_time": "10m",
                        "alertname": "MLHighErrorRate",
                        "exp_alerts": [
                            alert(
                                {"model": "credit", "severity": "critical"},
                                "credit: predictions are failing",
                                "25% of credit's predictions failed over 5 minutes (limit 5%).",
                                "MLHighErrorRate",
                            )
                        ],
                    },
                    {"eval_time": "35m", "alertname": "MLHighErrorRate", "exp_alerts": []},
                    {"eval_time": "8m", "alertname": "MLDatasetDrift", "exp_alerts": []},
                    {
                        "eval_time": "15m",
                        "alertname": "MLDatasetDrift",
                        "exp_alerts": [
                            alert(
                                {"model": "credit", "severity": "warning"},
                                "credit: dataset drift",
                                "Enough of credit's columns drifted from the reference in the "
                                "latest window to call the dataset drifted.",
                                "MLDatasetDrift",
                            )
                        ],
                    },
                    {"eval_time": "25m", "alertname": "MLDatasetDrift", "exp_alerts": []},
                    {
                        "eval_time": "15m",
                        "alertname": "MLPerformanceBelowBaseline",
                        "exp_alerts": [
                            alert(
                                {
                                    "model": "credit",
                                    "metric": "accuracy",
                                    "severity": "error",
                                },
                                "credit: accuracy below baseline",
                                "accuracy is 0.7 in the latest labelled window "
                                "(baseline 0.9, worst allowed 0.85).",
                                "MLPerformanceBelowBaseline",
                            )
                        ],
                    },
                    {
                        "eval_time": "30m",
                        "alertname": "MLPerformanceBelowBaseline",
                        "exp_alerts": [],
                    },
                    {"eval_time": "15m", "alertname": "MLDataStale", "exp_alerts": []},
                    {
                        "eval_time": "25m",
                        "alertname": "MLDataStale",
                        "exp_alerts": [
                            alert(
                                {"dataset": "features", "severity": "warning"},
                                "dataset features is stale",
                                "features was last updated 25m 0s ago (limit 10m).",
                                "MLDataStale",
                            )
                        ],
                    },
                    {"eval_time": "35m", "alertname": "MLDataStale", "exp_alerts": []},
                ],
            }
        ],
    }
    (tmp_path / "rules_test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    tested = promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout + tested.stderr


def test_every_exported_alert_has_a_runbook_section(tmp_path):
    settings = parse_service_config(yaml.safe_load(CONFIG), base_dir=tmp_path)
    rules = prometheus_rules(settings)
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    sections = set(re.findall(r"^## (\w+)$", RUNBOOK_PAGE.read_text(), flags=re.MULTILINE))
    assert sorted(names - sections) == []


GPU_A = {"instance": "model-1:8000", "job": "model", "gpu": "0", "uuid": "GPU-a", "name": "L4"}
DCGM_B = {"instance": "10.0.0.7:9400", "job": "dcgm", "gpu": "1", "UUID": "GPU-b"}


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    text = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{text}}}", "values": values}


def test_infrastructure_rules_fire_on_mlvigil_and_dcgm_series(tmp_path):
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(prometheus_rules(runbooks=RUNBOOKS)))
    dcgm_b = {**DCGM_B, "Hostname": "node-7"}
    host = {"instance": "model-1:8000", "job": "model"}
    healthy = {"instance": "model-2:8000", "job": "model"}
    gpu_a_alert = alert(
        {**GPU_A, "severity": "warning"},
        "GPU 0 on model-1:8000 is nearly out of memory",
        "93.75% of the GPU's memory is in use (limit 90%).",
        "MLGPUMemoryHigh",
    )
    gpu_b_alert = alert(
        {**dcgm_b, "severity": "warning"},
        "GPU 1 on node-7 is nearly out of memory",
        "96.77% of the GPU's memory is in use (limit 90%).",
        "MLGPUMemoryHigh",
    )
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    # mlvigil's GPU series: 15 of 16 GiB from 5m to 24m, then 4.
                    series("mlvigil_gpu_memory_used_bytes", GPU_A, "8x4 15x19 4x16"),
                    series("mlvigil_gpu_memory_total_bytes", GPU_A, "16x40"),
                    # A GPU only a DCGM exporter watches (MiB), full all along.
                    series("DCGM_FI_DEV_FB_USED", dcgm_b, "15000x40"),
                    series("DCGM_FI_DEV_FB_FREE", dcgm_b, "500x40"),
                    # One host short of memory and disk, one with plenty.
                    series("mlvigil_host_memory_available_bytes", host, "1x40"),
                    series("mlvigil_host_memory_total_bytes", host, "16x40"),
                    series("mlvigil_host_memory_available_bytes", healthy, "8x40"),
                    series("mlvigil_host_memory_total_bytes", healthy, "16x40"),
                    series(
                        "mlvigil_host_filesystem_avail_bytes", {**host, "mountpoint": "/"}, "5x40"
                    ),
                    series(
                        "mlvigil_host_filesystem_size_bytes", {**host, "mountpoint": "/"}, "100x40"
                    ),
                    series(
                        "mlvigil_host_filesystem_avail_bytes",
                        {**healthy, "mountpoint": "/"},
                        "50x40",
                    ),
                    series(
                        "mlvigil_host_filesystem_size_bytes",
                        {**healthy, "mountpoint": "/"},
                        "100x40",
                    ),
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "12m",
                        "alertname": "MLGPUMemoryHigh",
                        "exp_alerts": [gpu_b_alert],
                    },
                    {
                        "eval_time": "16m",
                        "alertname": "MLGPUMemoryHigh",
                        "exp_alerts": [gpu_a_alert, gpu_b_alert],
                    },
                    {
                        "eval_time": "30m",
                        "alertname": "MLGPUMemoryHigh",
                        "exp_alerts": [gpu_b_alert],
                    },
                    {"eval_time": "5m", "alertname": "MLHostMemoryHigh", "exp_alerts": []},
                    {
                        "eval_time": "15m",
                        "alertname": "MLHostMemoryHigh",
                        "exp_alerts": [
                            alert(
                                {**host, "severity": "warning"},
                                "model-1:8000 is running out of memory",
                                "Only 6.25% of the host's memory is available (limit 10%).",
                                "MLHostMemoryHigh",
                            )
                        ],
                    },
                    {
                        "eval_time": "15m",
                        "alertname": "MLHostDiskFull",
                        "exp_alerts": [
                            alert(
                                {**host, "mountpoint": "/", "severity": "warning"},
                                "model-1:8000: / is nearly full",
                                "Only 5% of / is available (limit 10%).",
                                "MLHostDiskFull",
                            )
                        ],
                    },
                ],
            }
        ],
    }
    (tmp_path / "rules_test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    tested = promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout + tested.stderr


def test_host_thresholds_given_on_the_command_line_reach_the_rules(tmp_path):
    output = tmp_path / "rules.yml"
    args = ["rules", "export", "-o", str(output), "--min-host-memory-available", "0.2"]
    result = CliRunner().invoke(cli, [*args, "--min-filesystem-available", "0.05"])
    assert result.exit_code == 0, result.output
    rules = {
        rule["alert"]: rule["expr"]
        for group in yaml.safe_load(output.read_text())["groups"]
        for rule in group["rules"]
    }
    assert rules["MLHostMemoryHigh"].endswith("< 0.2")
    assert rules["MLHostDiskFull"].rstrip().endswith("< 0.05")
