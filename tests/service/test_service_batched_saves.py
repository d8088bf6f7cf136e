"""A scheduler pass saves its evaluations a batch of models at a time, and loses none."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import duckdb
import orjson
from service_data import START, records

from mlvigil.service import window_writes
from mlvigil.service.config import ServiceConfig
from mlvigil.service.ingest import predictions_from_json
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.store import EvaluatedWindow

HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)


def _service(settings: ServiceConfig, models: int) -> MonitoringService:
    """``models`` copies of the credit model, each with one closed window of 60 rows."""
    credit = settings.models["credit"]
    named = {f"m{i}": replace(credit, name=f"m{i}") for i in range(models)}
    closed = START + HOUR + 10 * MINUTE  # the window closed, lateness passed
    service = MonitoringService(replace(settings, models=named), clock=lambda: closed)
    for name, model in named.items():
        body = orjson.dumps({"records": records(60, seed=len(name))})
        service.store.insert_predictions(name, predictions_from_json(body, model))
    return service


def test_a_pass_saves_windows_in_batches_of_models(settings, monkeypatch):
    monkeypatch.setattr(window_writes, "BATCH", 2)
    service = _service(settings, 5)
    saved: list[list[str]] = []
    save = service.store.save_windows

    def spy(evaluated: list[EvaluatedWindow], cleared: dict[str, int] | None = None) -> None:
        saved.append([e.model for e in evaluated])
        save(evaluated, cleared)

    monkeypatch.setattr(service.store, "save_windows", spy)
    try:
        assert service.evaluate_due() == 5
        assert saved == [["m0", "m1"], ["m2", "m3"], ["m4"]]
        for name in service.config.models:
            (window,) = service.store.windows(name)
            assert window.rows == 60
            assert service.store.results(name, start=window.start, end=window.end)
        assert service.evaluate_due() == 0
    finally:
        service.close()


def test_windows_whose_save_failed_are_evaluated_again_at_the_next_pass(settings, monkeypatch):
    service = _service(settings, 3)
    save = service.store.save_windows

    def full_disk(evaluated: list[EvaluatedWindow], cleared: dict[str, int] | None = None) -> None:
        raise duckdb.IOException("No space left on device")

    monkeypatch.setattr(service.store, "save_windows", full_disk)
    try:
        assert service.evaluate_due() == 3  # evaluated, but not saved
        assert all(service.store.windows(name) == [] for name in service.config.models)
        monkeypatch.setattr(service.store, "save_windows", save)
        assert service.evaluate_due() == 3
        assert all(len(service.store.windows(name)) == 1 for name in service.config.models)
    finally:
        service.close()
