"""Notifications go through the outbox: delivered, retried through outages, never lost."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
import yaml
from service_data import AUTH, START, records

from mlvigil.exceptions import ConfigError
from mlvigil.service.app import create_app
from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import predictions_from_json
from mlvigil.service.monitor import MonitoringService
from mlvigil.telemetry.prediction_log import RetryPolicy

HOUR = timedelta(hours=1)
FAST = RetryPolicy(initial=1.0, multiplier=2.0, maximum=4.0)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def configure(config_path, monkeypatch):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)

    def write(webhook_url: str, *, pager_url: str | None = None, **timing: str):
        monkeypatch.setenv("RISK_WEBHOOK_URL", webhook_url)
        data = yaml.safe_load(config_path.read_text())
        receivers = {"risk": {"webhook": {"env": "RISK_WEBHOOK_URL"}}}
        # group_wait 0s: notify on the evaluation that fires (grouping has its own tests).
        route: dict = {
            "receiver": "risk",
            "group_by": ["alertname", "model"],
            "group_wait": "0s",
            **timing,
        }
        if pager_url:
            receivers["pager"] = {"webhook": pager_url}
            # As in Alertmanager: `continue` lets the catch-all route after it match too.
            route["routes"] = [
                {
                    "matchers": {"severity": "~error|critical"},
                    "receiver": "pager",
                    "continue": True,
                },
                {"receiver": "risk"},
            ]
        data["alerting"] = {
            "external_url": "http://mlvigil.test",
            "receivers": receivers,
            "route": route,
        }
        config_path.write_text(yaml.safe_dump(data))
        return load_service_config(config_path)

    return write


def open_service(settings, clock) -> MonitoringService:
    return MonitoringService(settings, clock=clock, retry=FAST)


def drift_window(service: MonitoringService, **shape) -> None:
    credit = service.config.models["credit"]
    body = orjson.dumps({"records": records(300, seed=3, income_shift=40_000, **shape)})
    service.store.insert_predictions("credit", predictions_from_json(body, credit))
    service.evaluate("credit", START, START + HOUR)


def webhooks(receiver) -> list[dict]:
    return [json.loads(r.body) for r in receiver.received() if r.status == 200]


def test_a_firing_alert_is_delivered_once_as_alertmanager_webhook_json(configure, local_receiver):
    receiver = local_receiver()
    clock = Clock()
    service = open_service(configure(f"{receiver.url}/hook"), clock)
    try:
        drift_window(service)
        assert service.deliver_due() == 1
        assert service.deliver_due() == 0  # delivered: not sent again
    finally:
        service.close()
    (body,) = webhooks(receiver)
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "risk"
    assert body["groupLabels"] == {"alertname": "dataset_drift", "model": "credit"}
    assert body["externalURL"] == "http://mlvigil.test"
    assert [a["labels"]["alertname"] for a in body["alerts"]] == ["dataset_drift"]


def test_an_outage_delays_delivery_and_loses_nothing(configure, local_receiver):
    receiver = local_receiver(lambda n, path: 503 if n < 3 else 200)
    clock = Clock()
    service = open_service(configure(f"{receiver.url}/hook"), clock)
    try:
        drift_window(service)
        for _ in range(3):
            assert service.deliver_due() == 0
            clock.now += timedelta(seconds=5)  # past the (jittered, capped) backoff
        assert service.deliver_due() == 1
    finally:
        service.close()
    assert [r.status for r in receiver.received()] == [503, 503, 503, 200]


def test_a_receiver_down_for_ten_minutes_gets_every_notification_when_back(
    configure, local_receiver
):
    down = True
    receiver = local_receiver(lambda n, path: 503 if down else 200)
    clock = Clock()
    service = MonitoringService(configure(f"{receiver.url}/hook"), clock=clock)  # default backoff
    try:
        drift_window(service, null_income=0.3)  # two alerts, two groups: two notifications
        outage_ends = clock.now + timedelta(minutes=10)
        while clock.now < outage_ends:
            assert service.deliver_due() == 0
            clock.now += timedelta(seconds=10)
        down = False
        delivered = 0
        back = clock.now
        while delivered < 2 and clock.now - back <= timedelta(minutes=6):
            delivered += service.deliver_due()
            clock.now += timedelta(seconds=10)
        assert delivered == 2
        assert clock.now - back <= timedelta(minutes=5, seconds=10)  # the backoff's cap
    finally:
        service.close()
    accepted = sorted(b["groupLabels"]["alertname"] for b in webhooks(receiver))
    assert accepted == ["dataset_drift", "quality_failure"]
    assert sum(r.status == 503 for r in receiver.received()) >= 2 * 8  # it kept trying


def test_a_restart_mid_retry_neither_loses_nor_duplicates(configure, local_receiver):
    receiver = local_receiver(lambda n, path: 503 if n < 1 else 200)
    clock = Clock()
    settings = configure(f"{receiver.url}/hook")
    first = open_service(settings, clock)
    drift_window(first)
    assert first.deliver_due() == 0  # receiver down
    first.close()

    clock.now += timedelta(seconds=5)
    second = open_service(settings, clock)
    try:
        assert second.deliver_due() == 1
        second.evaluate("credit", START, START + HOUR)  # same alert still firing: no new page
        assert second.deliver_due() == 0
        (queued,) = second.store.outbox()
        assert queued["attempts"] == 2
        assert queued["delivered_at"] is not None
    finally:
        second.close()
    assert len(webhooks(receiver)) == 1


def test_a_restart_during_group_wait_sends_the_group_once(configure, local_receiver):
    receiver = local_receiver()
    clock = Clock()
    settings = configure(f"{receiver.url}/hook", group_wait="30s")
    first = open_service(settings, clock)
    drift_window(first)
    assert first.deliver_due() == 0  # waiting for more alerts of the group
    first.close()

    clock.now += timedelta(seconds=30)
    second = open_service(settings, clock)
    try:
        assert second.deliver_due() == 1
        clock.now += timedelta(minutes=10)  # past group_interval, short of repeat_interval
        assert second.deliver_due() == 0
    finally:
        second.close()
    assert [b["status"] for b in webhooks(receiver)] == ["firing"]


def test_a_resolved_alert_is_notified_once_after_group_interval(configure, local_receiver):
    receiver = local_receiver()
    clock = Clock()
    service = open_service(configure(f"{receiver.url}/hook", group_interval="5m"), clock)
    credit = service.config.models["credit"]
    try:
        drift_window(service)
        assert service.deliver_due() == 1
        clean = orjson.dumps({"records": records(300, seed=4, start=START + HOUR, prefix="q")})
        service.store.insert_predictions("credit", predictions_from_json(clean, credit))
        service.evaluate("credit", START + HOUR, START + 2 * HOUR)  # the drift is gone
        assert service.deliver_due() == 0  # changes wait for group_interval
        clock.now += timedelta(minutes=5)
        assert service.deliver_due() == 1
        clock.now += timedelta(hours=5)
        assert service.deliver_due() == 0
    finally:
        service.close()
    first, last = webhooks(receiver)
    assert (first["status"], last["status"]) == ("firing", "resolved")
    assert last["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"


def test_routes_send_severe_alerts_to_the_pager_too(configure, local_receiver):
    team, pager = local_receiver(), local_receiver()
    clock = Clock()
    service = open_service(configure(f"{team.url}/hook", pager_url=f"{pager.url}/page"), clock)
    try:
        drift_window(service, null_income=0.3)  # drift (warning) and quality (error)
        assert service.deliver_due() == 3
    finally:
        service.close()
    team_alerts = sorted(b["groupLabels"]["alertname"] for b in webhooks(team))
    assert team_alerts == ["dataset_drift", "quality_failure"]
    assert [b["groupLabels"]["alertname"] for b in webhooks(pager)] == ["quality_failure"]


def test_a_secret_from_a_missing_variable_stops_the_start_and_is_never_shown(
    config_path, monkeypatch, configure, local_receiver
):
    receiver = local_receiver()
    settings = configure(f"{receiver.url}/hook?token=SECRET")
    assert "SECRET" not in repr(settings.notifiers)
    monkeypatch.delenv("RISK_WEBHOOK_URL")
    with pytest.raises(ConfigError, match="environment variable RISK_WEBHOOK_URL is not set"):
        load_service_config(config_path)


def test_a_critical_alert_mutes_the_warnings_of_its_model(configure, local_receiver, config_path):
    receiver = local_receiver()
    configure(f"{receiver.url}/hook")
    data = yaml.safe_load(config_path.read_text())
    data["alerting"]["default_rules"] = {"quality_failure": {"severity": "critical"}}
    config_path.write_text(yaml.safe_dump(data))
    service = open_service(load_service_config(config_path), Clock())
    try:
        drift_window(service, null_income=0.3)  # drift (warning) and quality (critical)
        assert {a["labels"]["alertname"] for a in service.alerts()} == {
            "dataset_drift",
            "quality_failure",
        }
        assert service.deliver_due() == 1
    finally:
        service.close()
    assert [b["groupLabels"]["alertname"] for b in webhooks(receiver)] == ["quality_failure"]


def test_a_test_notification_reaches_the_receiver_or_says_why_not(configure, local_receiver):
    receiver = local_receiver(lambda n, path: 200 if n == 0 else 503)
    service = open_service(configure(f"{receiver.url}/hook"), Clock())

    async def post(body: dict) -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(service, schedule=False))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost", headers=AUTH
        ) as client:
            return await client.post("/api/v1/alerts/test", json=body)

    try:
        assert asyncio.run(post({"receiver": "risk"})).json() == {
            "status": "delivered",
            "receiver": "risk",
        }
        down = asyncio.run(post({"receiver": "risk"}))
        assert down.status_code == 502
        assert "answered 503" in down.json()["detail"]
        unknown = asyncio.run(post({"receiver": "nobody"}))
        assert unknown.status_code == 404
        assert "receivers: risk" in unknown.json()["detail"]
    finally:
        service.close()
    (body,) = webhooks(receiver)
    assert body["alerts"][0]["labels"]["alertname"] == "mlvigil_test"
