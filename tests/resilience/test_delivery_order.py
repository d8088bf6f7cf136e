"""After an outage a receiver hears each group's latest state, once, in order.

An alert fires, resolves, fires and resolves while its receiver answers 503. Each change
is queued in the outbox; a newer notification of the same receiver and group supersedes
the undelivered ones, so when the receiver is back it gets exactly one notification,
"resolved", instead of four in the order their retries fell due (which left a resolved
alert shown as firing). A superseded notification's resolutions are not lost.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import orjson
from alerting_helpers import HOUR, Clock, alerting, bad_rows, fast_config, good_rows

from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import predictions_from_json
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.store import Store
from service.service_data import START


def evaluate(service: MonitoringService, hour: int, rows: list[dict]) -> None:
    credit = service.config.models["credit"]
    table = predictions_from_json(orjson.dumps({"records": rows}), credit)
    service.store.insert_predictions("credit", table)
    service.evaluate("credit", START + hour * HOUR, START + (hour + 1) * HOUR)


def test_after_an_outage_the_receiver_gets_only_the_latest_state(
    tmp_path, local_receiver, monkeypatch
):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    down = True
    receiver = local_receiver(lambda n, path: 503 if down else 200)
    config = fast_config(tmp_path, alerting({"hook": f"{receiver.url}/hook"}))
    clock = Clock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    service = MonitoringService(load_service_config(config), clock=clock)
    try:
        # fire -> resolve -> fire -> resolve, five minutes apart (the group interval),
        # each notification tried and refused a few times.
        windows = [
            bad_rows(START, "a"),
            good_rows(START + HOUR, "b"),
            bad_rows(START + 2 * HOUR, "c"),
            good_rows(START + 3 * HOUR, "d"),
        ]
        for hour, rows in enumerate(windows):
            evaluate(service, hour, rows)
            for _ in range(3):
                assert service.deliver_due() == 0
                clock.now += timedelta(minutes=2)
        assert sum(r.status == 503 for r in receiver.received()) >= 4
        down = False
        for _ in range(40):  # ten seconds apart: past the longest backoff (5 min)
            service.deliver_due()
            clock.now += timedelta(seconds=10)
        outbox = service.store.outbox()
    finally:
        service.close()
    accepted = [json.loads(r.body) for r in receiver.received() if r.status == 200]
    assert [(b["status"], b["alerts"][0]["status"]) for b in accepted] == [("resolved", "resolved")]
    assert [row["superseded_by"] is not None for row in outbox] == [True, True, True, False]
    assert outbox[-1]["delivered_at"] is not None


def body(*alerts: tuple[str, str]) -> dict:
    return {
        "receiver": "team",
        "group_labels": {"alertname": "quality_failure", "model": "credit"},
        "external_url": "",
        "alerts": [
            {"labels": {"alertname": "quality_failure", "column": c}, "state": s} for c, s in alerts
        ],
    }


def test_a_superseding_notification_keeps_the_resolutions_it_replaces():
    store = Store(":memory:", {})
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    try:
        # income fired and resolved, then age fired, all while the receiver was down.
        for queued in (body(("income", "firing")), body(("income", "resolved"))):
            store.save_alerts(None, [], [("team", queued)], {}, now=now)
        store.save_alerts(None, [], [("team", body(("age", "firing")))], {}, now=now)
        other = {**body(("income", "firing")), "group_labels": {"alertname": "drift"}}
        store.save_alerts(None, [], [("team", other)], {}, now=now)  # another group
        due = store.due_notifications(now)
    finally:
        store.close()
    states = [[(a["labels"]["column"], a["state"]) for a in b["alerts"]] for _, _, b, _ in due]
    assert states == [[("age", "firing"), ("income", "resolved")], [("income", "firing")]]
