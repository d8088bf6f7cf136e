"""The whole Prometheus path, for real: Prometheus scrapes `mlvigil serve`, evaluates the
exported rules and pages through Alertmanager, which mlvigil also forwards its own
alerts to; a local webhook receives both.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from service_data import AUTH, TOKEN, records
from typer.testing import CliRunner

from live_servers import (
    free_port,
    start_logged,
    system_binary,
    wait_until,
    wait_until_serving,
)
from mlvigil.cli.app import app as cli
from mlvigil.service.evaluation import window_bounds


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start a Debian-packaged server on 127.0.0.1; returns its URL once /-/ready."""
    started: list[subprocess.Popen[bytes]] = []

    def start(program: str, package: str, *args: str) -> str:
        port = free_port()
        log = tmp_path / f"{program}.log"
        argv = [system_binary(program, package), *args, f"--web.listen-address=127.0.0.1:{port}"]
        server = start_logged(argv, log, cwd=tmp_path)
        started.append(server)
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{url}/-/ready", server, log)
        return url

    yield start
    for server in started:
        server.terminate()
        server.wait(timeout=30)


def alertnames(receiver) -> set[str]:
    names = set()
    for request in receiver.received("/alertmanager"):
        for alert in json.loads(request.body)["alerts"]:
            names.add(alert["labels"]["alertname"])
    return names


def test_prometheus_and_mlvigil_alerts_reach_a_webhook_through_alertmanager(
    tmp_path, config_path, serve, daemon, local_receiver
):
    webhook = local_receiver()
    (tmp_path / "alertmanager.yml").write_text(
        yaml.safe_dump(
            {
                "route": {
                    "receiver": "hook",
                    "group_by": ["alertname", "model"],
                    "group_wait": "1s",
                    "group_interval": "1s",
                },
                "receivers": [
                    {
                        "name": "hook",
                        "webhook_configs": [
                            {"url": f"{webhook.url}/alertmanager", "send_resolved": True}
                        ],
                    }
                ],
            }
        )
    )
    alertmanager = daemon(
        "prometheus-alertmanager",
        "prometheus-alertmanager",
        "--config.file=alertmanager.yml",
        "--storage.path=alertmanager-data",
        "--cluster.listen-address=",  # no gossip: a single instance
    )

    config = yaml.safe_load(config_path.read_text())
    config["alerting"] = {
        "receivers": {"alertmanager": {"alertmanager": alertmanager}},
        "route": {"receiver": "alertmanager", "group_wait": "0s"},
    }
    config_path.write_text(yaml.safe_dump(config))
    service, _ = serve()

    exported = CliRunner().invoke(
        cli, ["rules", "export", "-c", str(config_path), "-o", str(tmp_path / "rules.yml")]
    )
    assert exported.exit_code == 0, exported.output
    rules = yaml.safe_load((tmp_path / "rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == "MLDatasetDrift":
                rule["for"] = "0s"  # `for` is promtool-tested; here the path is under test
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    (tmp_path / "prometheus.yml").write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": ["rules.yml"],
                "alerting": {
                    "alertmanagers": [
                        {"static_configs": [{"targets": [alertmanager.removeprefix("http://")]}]}
                    ]
                },
                "scrape_configs": [
                    {
                        "job_name": "mlvigil",
                        "static_configs": [{"targets": [service.removeprefix("http://")]}],
                        # /metrics needs the read scope, as Prometheus sends it
                        "authorization": {"type": "Bearer", "credentials": TOKEN},
                    }
                ],
            }
        )
    )
    prometheus = daemon(
        "prometheus",
        "prometheus",
        "--config.file=prometheus.yml",
        "--storage.tsdb.path=prometheus-data",
    )

    # A drifted last hour: the service's scheduler evaluates it once it has closed.
    last_hour, _ = window_bounds(datetime.now(UTC) - timedelta(hours=1), timedelta(hours=1))
    drifted = records(300, seed=3, start=last_hour, income_shift=40_000)
    posted = httpx.post(
        f"{service}/api/v1/models/credit/predictions", json={"records": drifted}, headers=AUTH
    )
    assert posted.status_code == 201

    wait_until(lambda: {"MLDatasetDrift", "dataset_drift"} <= alertnames(webhook), timeout=90)
    firing = httpx.get(f"{prometheus}/api/v1/alerts").json()["data"]["alerts"]
    assert any(
        a["labels"]["alertname"] == "MLDatasetDrift" and a["labels"]["model"] == "credit"
        for a in firing
    )
    in_alertmanager = httpx.get(f"{alertmanager}/api/v2/alerts").json()
    assert {a["labels"]["alertname"] for a in in_alertmanager} >= {
        "MLDatasetDrift",
        "dataset_drift",
    }
