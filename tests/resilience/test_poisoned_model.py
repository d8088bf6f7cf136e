"""A poisoned model next to healthy ones: every other model is still evaluated.

Before, one NaN latency made ``_latency()`` raise: ``POST /evaluate`` answered 500 and
every scheduler pass died at that window, before later windows and later models (50
models: none evaluated after one bad row in the first). Now a failing step is an
``error`` result of its window, a window that cannot be evaluated at all is saved with
one, both are logged with their traceback, and the pass goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow as pa
import pytest
from ingest_service import HOUR, credit_records, evaluate, last_hour, windows, write_config
from serving import launch, stop

from live_servers import wait_until
from mlvigil.service import evaluation
from mlvigil.service.app import create_app
from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import read_predictions
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.store import Store
from service.service_data import AUTH

MODELS = tuple(f"m{i:02d}" for i in range(12))
POISONED = MODELS[0]  # the first: before, the pass never reached the others


def _fill(store: Store, settings: Any, *, nan_latency_in: str | None = None) -> None:
    """A closed hour of rows for every model; ``nan_latency_in``'s latencies all NaN.

    Written to the store directly, as an older version stored them (NaN kept).
    """
    for model in MODELS:
        body = orjson.dumps({"records": credit_records(40, last_hour(), prefix=f"{model}-")})
        rows = read_predictions(body, "json", settings.models[model])
        if model == nan_latency_in:
            nan = pa.array([float("nan")] * rows.num_rows)
            rows = rows.set_column(rows.column_names.index("latency_ms"), "latency_ms", nan)
        store.insert_predictions(model, rows)


def test_a_store_with_nan_latencies_in_one_model_stops_no_model(tmp_path: Path):
    config = write_config(tmp_path, models=MODELS)
    settings = load_service_config(config)
    store = Store(settings.store, settings.models)
    _fill(store, settings, nan_latency_in=POISONED)
    store.close()
    served = launch(tmp_path, config=config)
    try:
        hour = last_hour().isoformat()

        def every_model_evaluated() -> bool:
            return all(
                any(w["start"] == hour and w["rows"] == 40 for w in windows(served.url, model))
                for model in MODELS
            )

        wait_until(every_model_evaluated, timeout=60)
        answer = evaluate(served.url, POISONED, last_hour())
        assert answer.status_code == 200, answer.text
    finally:
        stop(served)


class Client:
    """HTTP calls into the app in process (the scheduler off: the test runs its passes)."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost", headers=AUTH
            ) as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(call())


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MonitoringService]:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_service_config(write_config(tmp_path, models=MODELS))
    opened = MonitoringService(settings)
    _fill(opened.store, settings)
    yield opened
    opened.close()


def _poison_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drift of the poisoned model raises, as a check meeting data it cannot handle."""
    drift = evaluation._drift

    def failing(config, *args, **kwargs):
        if config.name == POISONED:
            raise RuntimeError("the drift engine met data it cannot handle")
        return drift(config, *args, **kwargs)

    monkeypatch.setattr(evaluation, "_drift", failing)


def test_a_failing_check_is_an_error_result_of_its_window_and_alerts(service, monkeypatch, caplog):
    _poison_drift(monkeypatch)
    client = Client(create_app(service, schedule=False))
    start, end = last_hour(), last_hour() + HOUR
    with caplog.at_level(logging.ERROR, logger="mlvigil.service"):
        answer = client.request(
            "POST",
            f"/api/v1/models/{POISONED}/evaluate",
            params={"start": start.isoformat(), "end": end.isoformat()},
        )
    assert answer.status_code == 200, answer.text
    assert "the drift engine met data it cannot handle" in caplog.text  # with its traceback
    assert "Traceback" in caplog.text
    rows = client.request("GET", f"/api/v1/models/{POISONED}/results").json()["results"]
    errors = [r for r in rows if r["status"] == "error" and r["check"] == "drift"]
    assert [e["message"] for e in errors] == [
        "drift failed: RuntimeError: the drift engine met data it cannot handle; "
        "the service log has the traceback"
    ]
    checks = {r["check"] for r in rows if r["status"] != "error"}
    assert {"completeness", "performance"} <= checks  # the other steps still ran
    alerts = client.request("GET", "/api/v1/alerts").json()["alerts"]
    assert any(
        a["labels"]["alertname"] == "check_error" and a["labels"]["model"] == POISONED
        for a in alerts
    )


def test_a_window_that_cannot_be_read_is_saved_as_an_error_and_the_pass_goes_on(
    service, monkeypatch
):
    _poison_drift(monkeypatch)
    read = Store.window_table

    def unreadable(store, model, start, end):
        if model == MODELS[5]:
            raise OSError("the disk returned garbage")
        return read(store, model, start, end)

    monkeypatch.setattr(Store, "window_table", unreadable)
    assert service.evaluate_due() > 0  # one pass over every model
    hour = last_hour()
    for model in MODELS:
        evaluated = [w for w in service.store.windows(model) if w.start == hour]
        assert evaluated, f"{model}: its window was not evaluated in the pass"
    failed = service.store.results(MODELS[5], start=hour, end=hour + HOUR)
    assert [(r.check.value, r.status.value) for r in failed] == [("volume", "error")]
    assert failed[0].message.startswith("evaluating the window failed: OSError: the disk")
    drift = service.store.results(POISONED, check="drift", start=hour, end=hour + HOUR)
    assert [r.status.value for r in drift] == ["error"]
    healthy = service.store.results(MODELS[-1], check="drift", start=hour, end=hour + HOUR)
    assert healthy
    assert all(r.status.value != "error" for r in healthy)
