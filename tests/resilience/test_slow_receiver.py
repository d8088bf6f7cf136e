"""A receiver that does not answer holds up neither evaluation nor the other receivers.

A real `mlvigil serve` notifies two receivers of the same alert. The slow one holds
mlvigil's request without answering; while that request is still in flight (its
connection open), a backfilled window is evaluated and the fast receiver gets its
notification. Once the slow receiver answers again it gets the notification exactly
once: every attempt carries the same idempotency key, no two attempts overlap, and
nothing is sent after it was accepted.
"""

from __future__ import annotations

import json

import duckdb
import httpx
import pytest
from alerting_helpers import (
    HOUR,
    alerting,
    bad_rows,
    good_rows,
    last_closed_hour,
    post_predictions,
    window_with_rows,
)
from receivers import ScriptedReceiver

from live_servers import wait_until
from mlvigil.alerts.config import AlertingModel, build_notifiers
from mlvigil.alerts.notifiers import DeliveryError, Notification
from mlvigil.alerts.state import Alert, AlertState


@pytest.fixture
def slow():
    started = ScriptedReceiver(hold=lambda n: True)
    yield started
    started.stop()


def test_a_slow_receiver_delays_neither_evaluation_nor_other_receivers(
    serve_with, auth, local_receiver, slow
):
    fast = local_receiver()
    # Every alert to both: the slow receiver first, then, as the route continues, the fast.
    receivers = alerting(
        {"fast": f"{fast.url}/hook", "slow": f"{slow.url}/hook"},
        routes=[{"matchers": {"severity": "~.+"}, "receiver": "slow", "continue": True}, {}],
    )
    served = serve_with(receivers)
    hour = last_closed_hour()
    post_predictions(served.url, auth, bad_rows(hour, "a"))
    wait_until(lambda: slow.held == 1)  # the slow receiver holds mlvigil's first attempt

    post_predictions(served.url, auth, good_rows(hour - HOUR, "b"))  # a backfilled window
    wait_until(lambda: window_with_rows(served.url, auth, hour - HOUR) and fast.received())
    assert slow.seen[0].holding  # both happened while that attempt was still in flight
    (notified,) = [json.loads(r.body) for r in fast.received()]
    assert notified["groupLabels"]["alertname"] == "dataset_drift"

    slow.release()
    wait_until(lambda: len(slow.answered(200)) == 1)
    served.process.terminate()
    served.process.wait(timeout=30)
    with duckdb.connect(str(served.store), read_only=True) as store:
        outbox = store.execute(
            "SELECT receiver, delivered_at IS NOT NULL FROM outbox ORDER BY receiver"
        ).fetchall()
    assert outbox == [("fast", True), ("slow", True)]  # accepted: never sent again
    assert len(slow.answered(200)) == 1
    assert slow.max_held == 1  # never two attempts at once
    assert len({s.headers["idempotency-key"] for s in slow.seen}) == 1


def test_a_receivers_own_timeouts_bound_each_attempt(slow):
    model = AlertingModel.model_validate(
        {"receivers": {"slow": {"webhook": f"{slow.url}/hook", "read_timeout": 0.2}}}
    )
    notifier = build_notifiers(model)["slow"]
    alert = Alert({"alertname": "drift"}, AlertState.FIRING, 1.0, None, None, 1, None, None, {})
    with httpx.Client() as client, pytest.raises(DeliveryError, match="no answer in time") as error:
        notifier.send(Notification("slow", [alert], key="k-1"), client)
    assert error.value.transient  # retried later, with backoff
    assert slow.seen[0].headers["idempotency-key"] == "k-1"
