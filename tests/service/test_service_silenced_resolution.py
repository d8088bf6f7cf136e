"""A page the receiver got is resolved for it, even when the alert was silenced meanwhile.

The `mlvigil demo` sequence that lost its ``[RESOLVED]`` page: an alert fires and is
delivered, on-call silences it, and it resolves under the silence (or just after it
ended, before its group was looked at again).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import yaml
from service_data import START, records

from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import predictions_from_json
from mlvigil.service.monitor import MonitoringService

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def pager(config_path, monkeypatch, local_receiver):
    """A service paging a local webhook, its clock, and the webhook."""
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    receiver = local_receiver()
    data = yaml.safe_load(config_path.read_text())
    data["alerting"] = {
        "receivers": {"pager": {"webhook": f"{receiver.url}/pager"}},
        "route": {
            "receiver": "pager",
            "group_by": ["alertname", "model"],
            "group_wait": "0s",
            "group_interval": "5m",
        },
    }
    config_path.write_text(yaml.safe_dump(data))
    clock = Clock()
    service = MonitoringService(load_service_config(config_path), clock=clock)
    yield service, clock, receiver
    if service.ready:
        service.close()


def window(service: MonitoringService, hour: int, *, drifted: bool) -> None:
    credit = service.config.models["credit"]
    start = START + hour * HOUR
    shift = 40_000 if drifted else 0
    rows = records(300, seed=3 + hour, start=start, income_shift=shift, prefix=f"w{hour}-")
    body = orjson.dumps({"records": rows})
    service.store.insert_predictions("credit", predictions_from_json(body, credit))
    service.evaluate("credit", start, start + HOUR)


def pages(receiver) -> list[tuple[str, str]]:
    bodies = [json.loads(r.body) for r in receiver.received() if r.status == 200]
    return [(a["labels"]["alertname"], a["status"]) for b in bodies for a in b["alerts"]]


def fired_and_silenced(service: MonitoringService, clock: Clock) -> None:
    window(service, 0, drifted=True)
    assert service.deliver_due() == 1  # the page
    service.add_silence(
        {"alertname": "dataset_drift"},
        duration=40 * MINUTE,
        created_by="on-call",
        comment="known pipeline bug",
    )
    clock.now += 5 * MINUTE
    assert service.deliver_due() == 0  # silencing sends nothing


def test_an_alert_resolved_under_a_silence_is_resolved_for_the_pager_when_it_ends(pager):
    service, clock, receiver = pager
    fired_and_silenced(service, clock)
    window(service, 1, drifted=False)
    states = service.store.alert_states().values()
    assert [a["state"] for a in states if a["labels"]["alertname"] == "dataset_drift"] == [
        "resolved"
    ]
    clock.now += 5 * MINUTE
    assert service.deliver_due() == 0  # still silenced: held back
    clock.now += 35 * MINUTE  # the silence is over
    assert service.deliver_due() == 1
    clock.now += 5 * HOUR
    assert service.deliver_due() == 0  # once
    assert pages(receiver) == [("dataset_drift", "firing"), ("dataset_drift", "resolved")]


def test_an_alert_resolved_just_after_its_silence_ended_is_resolved_for_the_pager(pager):
    service, clock, receiver = pager
    fired_and_silenced(service, clock)
    clock.now += 40 * MINUTE  # the silence ended; the group was not looked at since
    window(service, 1, drifted=False)
    assert service.deliver_due() == 1
    assert pages(receiver) == [("dataset_drift", "firing"), ("dataset_drift", "resolved")]
