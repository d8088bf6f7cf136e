"""Fixtures: a service configured for the credit model of ``service_data``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from service_data import write_config

from live_servers import free_port, start_logged, wait_until_serving
from mlvigil.service.config import ServiceConfig, load_service_config
from mlvigil.service.monitor import MonitoringService


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def settings(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> ServiceConfig:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    return load_service_config(config_path)


@pytest.fixture
def service_factory(settings: ServiceConfig) -> Iterator[Callable[[], MonitoringService]]:
    opened: list[MonitoringService] = []

    def open_service() -> MonitoringService:
        opened.append(MonitoringService(settings))
        return opened[-1]

    yield open_service
    for service in opened:
        if service.ready:
            service.close()


@pytest.fixture
def serve(config_path: Path) -> Iterator[Callable[[], tuple[str, subprocess.Popen[bytes]]]]:
    """Start `mlvigil serve` on the test config (scheduler every 0.2 s)."""
    text = config_path.read_text().replace(
        "evaluation_interval: 3600", "evaluation_interval: 0.2\nlateness: 1"
    )
    config_path.write_text(text)
    started: list[subprocess.Popen[bytes]] = []
    log = config_path.parent / "serve.log"

    def start() -> tuple[str, subprocess.Popen[bytes]]:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
        argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(config_path)]
        server = start_logged([*argv, "--port", str(port)], log, env=env)
        started.append(server)
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{url}/readyz", server, log)
        return url, server

    yield start
    for server in started:
        if server.poll() is None:
            server.kill()
            server.wait()
