"""Fixtures: a service configured for the credit model of ``service_data``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from service_data import write_config

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
