"""Windows of a fixed number of rows: `window: {rows: N}`."""

from __future__ import annotations

import itertools
from datetime import timedelta

import orjson
from service_data import START, records

from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import predictions_from_json
from mlvigil.service.monitor import MonitoringService


def test_windows_close_every_n_rows_and_are_evaluated_once(config_path, monkeypatch):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    config_path.write_text(config_path.read_text().replace("window: 1h", "window: {rows: 100}"))
    settings = load_service_config(config_path)
    assert settings.models["credit"].window_rows == 100
    service = MonitoringService(settings)
    credit = settings.models["credit"]

    def ingest(rows: list[dict]) -> None:
        body = orjson.dumps({"records": rows})
        service.store.insert_predictions("credit", predictions_from_json(body, credit))

    try:
        ingest(records(350, start=START))
        assert service.evaluate_due() == 3  # the last 50 rows wait for their window to fill
        ingest(records(60, seed=2, start=START + timedelta(hours=1), prefix="q"))
        assert service.evaluate_due() == 1
        assert service.evaluate_due() == 0  # nothing evaluated twice
        windows = service.store.windows("credit")
        assert [w.rows for w in windows] == [100, 100, 100, 100]
        assert all(a.end == b.start for a, b in itertools.pairwise(windows))
        # The evaluate endpoint's path: windows overlapping a range, re-evaluated now.
        again = service.evaluate("credit", START, START + timedelta(minutes=5))
        assert [e.window.rows for e in again] == [100]
    finally:
        service.close()
