"""Notifier payloads, as Slack, PagerDuty, webhooks and Alertmanager expect them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from mlvigil.alerts.notifiers import (
    AlertmanagerNotifier,
    DeliveryError,
    Notification,
    PagerDutyNotifier,
    SlackNotifier,
    WebhookNotifier,
    fingerprint,
)
from mlvigil.alerts.state import Alert, AlertState

FIRED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)


def alert(state=AlertState.FIRING, column="income", severity="critical"):
    return Alert(
        labels={
            "alertname": "null_rate",
            "model": "credit",
            "column": column,
            "severity": severity,
        },
        state=state,
        value=0.3,
        active_since=FIRED,
        last_true=FIRED,
        windows_true=1,
        fired_at=FIRED,
        resolved_at=RESOLVED if state is AlertState.RESOLVED else None,
        annotations={
            "summary": f"credit: {column} nulls 0.3",
            "runbook_url": "https://runbooks/nulls",
        },
    )


def capture(notifier, notification, status=200):
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(status, text="ok" if status < 300 else "nope")

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        notifier.send(notification, client)
    return [(str(r.url), json.loads(r.content)) for r in requests]


def test_webhook_sends_alertmanagers_version_4_json():
    notification = Notification(
        "team-risk",
        [alert(), alert(column="age")],
        group_labels={"model": "credit"},
        external_url="http://mlvigil",
    )
    ((url, body),) = capture(WebhookNotifier("http://hooks.local/x"), notification)
    assert url == "http://hooks.local/x"
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "team-risk"
    assert body["groupLabels"] == {"model": "credit"}
    assert body["commonLabels"] == {
        "alertname": "null_rate",
        "model": "credit",
        "severity": "critical",
    }
    assert body["commonAnnotations"] == {"runbook_url": "https://runbooks/nulls"}
    first = body["alerts"][0]
    assert first["status"] == "firing"
    assert first["startsAt"] == "2026-11-24T12:00:00.000000Z"
    assert first["endsAt"] == "0001-01-01T00:00:00Z"
    assert first["fingerprint"] == fingerprint(first["labels"])
    assert first["generatorURL"] == "http://mlvigil"


def test_pagerduty_triggers_and_resolves_with_one_dedup_key():
    notifier = PagerDutyNotifier("secret-routing-key")
    ((url, trigger),) = capture(notifier, Notification("pd", [alert()]))
    ((_, resolve),) = capture(notifier, Notification("pd", [alert(AlertState.RESOLVED)]))
    assert url == "https://events.pagerduty.com/v2/enqueue"
    assert trigger["event_action"] == "trigger"
    assert resolve["event_action"] == "resolve"
    assert trigger["dedup_key"] == resolve["dedup_key"]
    assert trigger["routing_key"] == "secret-routing-key"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"] == "credit: income nulls 0.3"
    assert trigger["links"] == [{"href": "https://runbooks/nulls", "text": "Runbook"}]
    assert "payload" not in resolve


def test_slack_message_names_the_alerts_with_severity_colours_and_runbook():
    ((_, body),) = capture(
        SlackNotifier("https://hooks.slack.com/services/T/B/X"), Notification("slack", [alert()])
    )
    assert body["text"] == "[FIRING:1] null_rate"
    (attachment,) = body["attachments"]
    assert attachment["color"] == "#8B0000"
    assert "<https://runbooks/nulls|Runbook>" in attachment["text"]
    assert {"title": "column", "value": "income", "short": True} in attachment["fields"]
    ((_, resolved),) = capture(
        SlackNotifier("https://hooks.slack.com/services/T/B/X"),
        Notification("slack", [alert(AlertState.RESOLVED)]),
    )
    assert resolved["text"].startswith("[RESOLVED:1]")


def test_alertmanager_receives_postable_alerts():
    ((url, body),) = capture(
        AlertmanagerNotifier("http://am:9093/"), Notification("am", [alert(AlertState.RESOLVED)])
    )
    assert url == "http://am:9093/api/v2/alerts"
    assert body == [
        {
            "labels": alert().labels,
            "annotations": alert().annotations,
            "startsAt": "2026-11-24T12:00:00.000000Z",
            "endsAt": "2026-11-24T13:00:00.000000Z",
            "generatorURL": "",
        }
    ]


@pytest.mark.parametrize(("status", "transient"), [(503, True), (429, True), (400, False)])
def test_a_refused_notification_says_whether_to_retry_without_leaking_secrets(status, transient):
    notifier = SlackNotifier("https://hooks.slack.com/services/T/B/SECRET")
    with pytest.raises(DeliveryError) as error:
        capture(notifier, Notification("slack", [alert()]), status=status)
    assert error.value.transient is transient
    assert "SECRET" not in str(error.value)
    assert "SECRET" not in repr(notifier)


def refused(notifier, status: int, text) -> DeliveryError:
    """What ``notifier`` raises when the receiver answers ``status`` with ``text(request)``."""
    answer = httpx.MockTransport(lambda request: httpx.Response(status, text=text(request)))
    with httpx.Client(transport=answer) as client, pytest.raises(DeliveryError) as error:
        notifier.send(Notification("team", [alert()]), client)
    return error.value


def test_a_refusal_echoing_the_secret_is_repeated_short_and_masked():
    url = "https://hooks.example.com/hooks/T0/SECRETSEGMENT?token=SECRETTOKEN"
    echo = f"Cannot POST /hooks/T0/SECRETSEGMENT?token=SECRETTOKEN ({'x' * 500})"
    message = str(refused(WebhookNotifier(url), 404, lambda request: echo))
    assert message.startswith("webhook team answered 404: Cannot POST [REDACTED]")
    assert "SECRET" not in message
    assert len(message) < 260  # the status and 200 characters of the answer at most
    pager = refused(PagerDutyNotifier("ROUTINGKEY42"), 400, lambda r: r.content.decode())
    assert "ROUTINGKEY42" not in str(pager)  # a receiver echoing the event it refused


def test_every_attempt_of_a_notification_carries_its_idempotency_key():
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("idempotency-key"))
        return httpx.Response(503 if len(seen) == 1 else 200)

    notification = Notification("team", [alert()], key="mlvigil-7-abc")
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(DeliveryError):
            WebhookNotifier("http://hooks.local/x").send(notification, client)
        WebhookNotifier("http://hooks.local/x").send(notification, client)
    assert seen == ["mlvigil-7-abc", "mlvigil-7-abc"]
