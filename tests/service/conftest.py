"""Fixtures: a service configured for the credit model of ``service_data``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from service_data import CONFIG, applicants

from mlvigil.service.config import ServiceConfig, load_service_config
from mlvigil.service.monitor import MonitoringService


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    reference = applicants(2_000, seed=0)
    labels = [int(i < 45_000) for i in reference["income"]]
    pq.write_table(
        pa.table({**reference, "prediction": labels, "label": labels}),
        tmp_path / "reference.parquet",
    )
    path = tmp_path / "mlvigil.yaml"
    path.write_text(CONFIG)
    return path


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
