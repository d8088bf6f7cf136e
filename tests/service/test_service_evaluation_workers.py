"""Evaluation workers: windows checked in other processes, saved as the service's own."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from service_data import START, records

from mlvigil.service.config import ServiceConfig
from mlvigil.service.ingest import predictions_from_json
from mlvigil.service.monitor import MonitoringService

MODELS = 5
#: What a pass saved: every result's identity, value and status, and every profile.
SAVED = (
    'SELECT model, window_start, "check", metric, "column", segment, value, status, message '
    "FROM results ORDER BY ALL"
)


def _saved_by_a_pass(
    settings: ServiceConfig, store: Path, workers: int, *, remove_reference: bool = False
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Results and profiles after one pass over ``MODELS`` models with drifting windows."""
    credit = settings.models["credit"]
    named = {f"m{i}": replace(credit, name=f"m{i}") for i in range(MODELS)}
    config = replace(settings, models=named, store=store, evaluation_workers=workers)
    closed = START + timedelta(hours=1, minutes=10)  # the window closed, lateness passed
    service = MonitoringService(config, clock=lambda: closed)
    try:
        for i, (name, model) in enumerate(named.items()):
            rows = records(80, seed=i, income_shift=15_000 * (i % 2))  # every other drifts
            body = orjson.dumps({"records": rows})
            service.store.insert_predictions(name, predictions_from_json(body, model))
        if remove_reference:  # the workers cannot learn from it any more
            assert credit.reference_path is not None
            credit.reference_path.unlink()
        assert service.evaluate_due() == MODELS
        profiles = service.store.read("SELECT * FROM window_profiles ORDER BY ALL").fetchall()
        return service.store.read(SAVED).fetchall(), profiles
    finally:
        service.close()


@pytest.mark.parametrize("remove_reference", [False, True])
def test_workers_save_what_the_service_process_would(settings, tmp_path, caplog, remove_reference):
    here = _saved_by_a_pass(settings, tmp_path / "here.duckdb", 0)
    workers = _saved_by_a_pass(
        settings, tmp_path / "workers.duckdb", 2, remove_reference=remove_reference
    )
    results, profiles = here
    assert len(profiles) == MODELS
    assert {row[0] for row in results if row[2] == "drift" and row[7] == "failed"} == {"m1", "m3"}
    assert workers == here
    # Without its reference file a worker refuses, and the service evaluates the window.
    refused = [r for r in caplog.records if "a worker failed evaluating" in r.getMessage()]
    assert len(refused) == (MODELS if remove_reference else 0)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_window_whose_rows_cannot_be_read_is_an_error_and_the_others_go_on(
    settings, tmp_path, monkeypatch, workers
):
    credit = settings.models["credit"]
    named = {f"m{i}": replace(credit, name=f"m{i}") for i in range(3)}
    config = replace(
        settings, models=named, store=tmp_path / "s.duckdb", evaluation_workers=workers
    )
    closed = START + timedelta(hours=1, minutes=10)
    service = MonitoringService(config, clock=lambda: closed)
    try:
        for i, (name, model) in enumerate(named.items()):
            body = orjson.dumps({"records": records(80, seed=i)})
            service.store.insert_predictions(name, predictions_from_json(body, model))
        read = service.store.window_table

        def broken_for_m1(model, start, end):
            if model == "m1":
                raise OSError("disk read error")
            return read(model, start, end)

        monkeypatch.setattr(service.store, "window_table", broken_for_m1)
        assert service.evaluate_due() == 3
        statuses = dict(
            service.store.read(
                "SELECT model, list(DISTINCT status ORDER BY status) FROM results GROUP BY model"
            ).fetchall()
        )
        (message,) = service.store.read("SELECT message FROM results WHERE model = 'm1'").fetchone()
    finally:
        service.close()
    assert statuses["m1"] == ["error"]
    assert "disk read error" in message
    assert "passed" in statuses["m0"]  # checked as usual
    assert "passed" in statuses["m2"]
