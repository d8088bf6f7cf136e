"""Time is bounded: rows far from now are refused, epochs need a unit, the scheduler is lazy.

Before, ``0001-01-01T00:00:00Z`` was accepted and the scheduler then listed every hourly
window since year 1 (3 GB, `/evaluate` blocked); year 9999 was accepted and showed a
negative data age; a JSON number was read as epoch seconds whatever it meant. Now rows
outside ``[now - accept.max_age, now + accept.max_future]`` (``max_age`` capped by the
model's retention) are refused whole and counted, integer times need
``schema.timestamp_unit``, and the scheduler walks its calendar lazily from the oldest
accepted time, a bounded number of windows per pass.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from ingest_service import (
    ARROW,
    HOUR,
    arrow_body,
    counter,
    credit_records,
    evaluate,
    frame,
    last_hour,
    post,
    post_json,
    stored,
    windows,
    write_config,
)
from serving import launch, stop

from live_servers import wait_until
from mlvigil.service import window_pass
from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import read_predictions
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.store import Store
from mlvigil.telemetry.records import PredictionRecord
from mlvigil.telemetry.sinks import HttpSink
from service.service_data import TOKEN

YEAR_1 = "0001-01-01T00:00:00+00:00"
YEAR_9999 = "9999-12-31T00:00:00+00:00"


def times(table: pa.Table) -> list[datetime]:
    """The table's ISO 8601 timestamps as times."""
    return [datetime.fromisoformat(text) for text in table.column("timestamp").to_pylist()]


@pytest.fixture
def start_server(tmp_path: Path):
    started = []

    def start(**options):
        config = write_config(tmp_path, **options)
        started.append(launch(tmp_path, config=config))
        return started[-1]

    yield start
    for server in started:
        stop(server)


def test_rows_outside_the_accepted_range_are_refused_whole_naming_row_and_bound(start_server):
    served = start_server()
    batch = credit_records(6, last_hour(), prefix="range-")
    now = datetime.now(UTC)
    batch[1]["timestamp"] = YEAR_1
    batch[3]["timestamp"] = YEAR_9999
    batch[4]["timestamp"] = (now - timedelta(days=31)).isoformat()
    batch[5]["timestamp"] = (now + timedelta(minutes=10)).isoformat()
    answer = post_json(served.url, "credit", "predictions", {"records": batch})
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert [(p["row"], p["field"]) for p in problems] == [(r, "timestamp") for r in (1, 3, 4, 5)]
    assert problems[0]["message"].startswith(f"{YEAR_1} is older than rows are accepted")
    assert "now - 30d, accept.max_age" in problems[0]["message"]
    assert "accept.max_future" in problems[1]["message"]
    assert "nothing was stored" in answer.json()["detail"]
    assert stored(served.url, "credit") == 0

    def rejected(reason: str) -> float:
        return counter(served.url, "mlvigil_rows_rejected_total", model="credit", reason=reason)

    assert (rejected("too_old"), rejected("in_future"), rejected("batch")) == (2, 2, 2)

    # The same bounds on every path: an Arrow timestamp column, and labels' times.
    table = frame(credit_records(3, last_hour(), prefix="arrow-range-"))
    moments = pa.array([datetime(1, 1, 1, tzinfo=UTC), *times(table)[1:]])
    table = table.set_column(table.column_names.index("timestamp"), "timestamp", moments)
    answer = post(served.url, "credit", "predictions", content=arrow_body(table), media=ARROW)
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"][0]["row"] == 0
    labels = [{"id": "range-1", "label": 1, "timestamp": YEAR_9999}]
    answer = post_json(served.url, "credit", "labels", {"records": labels})
    assert answer.status_code == 422, answer.text
    assert (answer.json()["problems"][0]["row"], answer.json()["problems"][0]["field"]) == (
        0,
        "timestamp",
    )


def test_the_oldest_accepted_row_is_the_models_retention_when_it_is_shorter(start_server):
    served = start_server(retention="2d")
    batch = credit_records(2, last_hour(), prefix="kept-")
    batch[1]["timestamp"] = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    answer = post_json(served.url, "credit", "predictions", {"records": batch})
    assert answer.status_code == 422, answer.text
    assert "now - 2d, retention" in answer.json()["problems"][0]["message"]


def test_epoch_numbers_without_a_unit_are_refused_saying_how_to_send_times(start_server):
    served = start_server()
    batch = credit_records(2, last_hour(), prefix="epoch-")
    batch[0]["timestamp"] = int(time.time())
    answer = post_json(served.url, "credit", "predictions", {"records": batch})
    assert answer.status_code == 422, answer.text
    assert "schema.timestamp_unit" in answer.json()["problems"][0]["message"]
    table = frame(credit_records(2, last_hour(), prefix="epoch-arrow-"))
    seconds = pa.array([int(t.timestamp()) for t in times(table)])
    table = table.set_column(table.column_names.index("timestamp"), "timestamp", seconds)
    answer = post(served.url, "credit", "predictions", content=arrow_body(table), media=ARROW)
    assert answer.status_code == 422, answer.text
    assert "schema.timestamp_unit" in answer.json()["problems"][0]["message"]


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_schema_timestamp_unit_reads_epoch_numbers_in_that_unit(start_server, unit):
    served = start_server(schema=f"timestamp_unit: {unit}")
    scale = 1 if unit == "s" else 1_000
    start = last_hour()
    batch = credit_records(30, start, prefix="json-")
    for record in batch:
        record["timestamp"] = int(datetime.fromisoformat(record["timestamp"]).timestamp()) * scale
    assert post_json(served.url, "credit", "predictions", {"records": batch}).status_code == 201
    table = frame(credit_records(30, start, prefix="arrow-"))
    epochs = [int(t.timestamp()) * scale for t in times(table)]
    table = table.set_column(table.column_names.index("timestamp"), "timestamp", pa.array(epochs))
    answer = post(served.url, "credit", "predictions", content=arrow_body(table), media=ARROW)
    assert answer.status_code == 201, answer.text
    evaluated = evaluate(served.url, "credit", start)
    assert evaluated.status_code == 200, evaluated.text
    assert evaluated.json()["windows"][0]["rows"] == 60  # all in the hour they were sent for


def test_the_sdk_logger_times_are_accepted(start_server):
    served = start_server()
    sink = HttpSink(served.url, token=TOKEN)
    try:
        sink.write_predictions(
            [
                PredictionRecord(f"sdk-{i}", time.time(), "credit", "1", {"income": 1.0}, 1, 0.8, 2)
                for i in range(3)
            ]
        )
    finally:
        sink.close()
    assert stored(served.url, "credit") == 3


def _store_with_a_row_from_year_1(directory: Path) -> Path:
    """A store written before ingest bounded times: a row of year 1 beside recent ones.

    Rows are accepted for a day (``accept.max_age``), so the scheduler has a day of
    windows to walk, not the 720 of the default 30 days.
    """
    config = write_config(directory, accept="accept: {max_age: 1d}")
    settings = load_service_config(config)
    store = Store(settings.store, settings.models)
    batch = credit_records(40, last_hour(), prefix="recent-")
    batch[0]["timestamp"] = YEAR_1
    body = httpx.Request("POST", "/", json={"records": batch}).content
    store.insert_predictions("credit", read_predictions(body, "json", settings.models["credit"]))
    store.close()
    return config


def test_a_row_from_year_1_in_the_store_does_not_make_the_scheduler_walk_centuries(tmp_path):
    served = launch(tmp_path, config=_store_with_a_row_from_year_1(tmp_path))
    try:
        target = last_hour().isoformat()

        def recent_window_evaluated() -> bool:
            return any(
                w["start"] == target and w["rows"] == 39 for w in windows(served.url, "credit")
            )

        wait_until(recent_window_evaluated, timeout=60)
        assert evaluate(served.url, "credit", last_hour()).status_code == 200
        oldest = datetime.fromisoformat(windows(served.url, "credit")[0]["start"])
        assert oldest >= datetime.now(UTC) - timedelta(days=1) - HOUR  # from accept.max_age
    finally:
        stop(served)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_each_pass_evaluates_a_bounded_number_of_windows_and_the_next_goes_on(
    tmp_path, monkeypatch
):
    budget = 5  # windows per model and pass (a day of hourly windows is due)
    monkeypatch.setattr(window_pass, "MAX_WINDOWS_PER_PASS", budget)
    settings = load_service_config(_store_with_a_row_from_year_1(tmp_path))
    service = MonitoringService(settings, clock=Clock(datetime.now(UTC)))
    try:
        assert service.evaluate_due() == budget
        first = service.store.windows("credit")
        assert first[0].start >= datetime.now(UTC) - timedelta(days=1) - HOUR
        assert service.evaluate_due() == budget
        second = service.store.windows("credit")
        assert second[budget].start == first[-1].end  # on from where it stopped
    finally:
        service.close()
