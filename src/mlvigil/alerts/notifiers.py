"""What each receiver is sent: Slack, PagerDuty, e-mail, a generic webhook, Alertmanager.

A :class:`Notification` is a group of alerts for one receiver. Each notifier turns it
into the HTTP request its receiver expects and sends it through an injected
``httpx.Client``; a receiver that does not answer 2xx raises :class:`DeliveryError`
(transient unless the receiver rejected the request), so the outbox can retry.
Secrets (webhook URLs, routing keys) live in the notifier and never appear in its
``repr`` or in error messages: those carry the status and a short excerpt of the
answer with the receiver's secrets masked (:mod:`mlvigil.alerts.redact`).

Each attempt is bounded: :data:`CONNECT_TIMEOUT` to connect and :data:`READ_TIMEOUT`
for the answer unless the receiver sets its own. An attempt that timed out may still
have reached the receiver, so HTTP requests carry the notification's ``key`` (its
outbox id) as an ``Idempotency-Key`` header, the same on every retry.
"""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from mlvigil.alerts.redact import excerpt, secret_parts
from mlvigil.alerts.state import Alert, AlertState
from mlvigil.exceptions import ReceiverError

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
#: Seconds one attempt may take to connect to a receiver, and to get its answer.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
_NEVER = "0001-01-01T00:00:00Z"  # Alertmanager's "no end time yet"
_SLACK_COLOURS = {
    "info": "#439FE0",
    "warning": "#DAA038",
    "error": "#D0342C",
    "critical": "#8B0000",
}


class DeliveryError(ReceiverError):
    """A receiver did not accept a notification; ``transient`` when a retry may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable 16-hex id of a label set (as Alertmanager fingerprints alerts).

    Examples
    --------
    >>> fingerprint({"alertname": "drift", "model": "credit"}) == fingerprint(
    ...     {"model": "credit", "alertname": "drift"})
    True
    """
    text = "\0".join(f"{k}\0{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Notification:
    """Alerts of one group, for one receiver."""

    receiver: str
    alerts: Sequence[Alert]
    group_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    key: str = ""
    """Idempotency key, the same on every attempt (from the outbox); empty for none."""

    @property
    def status(self) -> str:
        """``firing`` while any alert of the group fires, else ``resolved``."""
        firing = any(a.state is AlertState.FIRING for a in self.alerts)
        return "firing" if firing else "resolved"

    @property
    def group_key(self) -> str:
        """Identity of the group (stable across notifications of the same group)."""
        return f"{self.receiver}:{fingerprint(dict(self.group_labels))}"

    def common_labels(self) -> dict[str, str]:
        """Labels every alert of the group shares."""
        return _common([a.labels for a in self.alerts])

    def common_annotations(self) -> dict[str, str]:
        """Annotations every alert of the group shares."""
        return _common([a.annotations for a in self.alerts])


def _common(mappings: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not mappings:
        return {}
    first = dict(mappings[0])
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in mappings[1:])}


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return _NEVER
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alertmanager_alert(alert: Alert, external_url: str = "") -> dict[str, Any]:
    """One alert in Alertmanager's JSON form (webhook and ``/api/v2/alerts``)."""
    return {
        "status": "firing" if alert.state is AlertState.FIRING else "resolved",
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": _iso(alert.fired_at or alert.active_since),
        "endsAt": _iso(alert.resolved_at),
        "generatorURL": external_url,
        "fingerprint": fingerprint(alert.labels),
    }


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """A notification as Alertmanager's webhook JSON (version 4)."""
    return {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": notification.status,
        "receiver": notification.receiver,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": notification.common_labels(),
        "commonAnnotations": notification.common_annotations(),
        "externalURL": notification.external_url,
        "alerts": [alertmanager_alert(a, notification.external_url) for a in notification.alerts],
    }


class Notifier(Protocol):
    """Sends a notification to one kind of receiver."""

    def send(self, notification: Notification, client: httpx.Client) -> None:
        """Deliver ``notification``; raise :class:`DeliveryError` if not accepted."""


@dataclass(frozen=True)
class Timeouts:
    """Bounds of one HTTP attempt, in seconds: to connect, and to get the answer."""

    connect: float = CONNECT_TIMEOUT
    read: float = READ_TIMEOUT

    def httpx(self) -> httpx.Timeout:
        """As httpx takes them (writing the body and waiting for a pooled connection too)."""
        return httpx.Timeout(self.read, connect=self.connect)


def send_json(
    client: httpx.Client,
    url: str,
    payload: Any,
    what: str,
    notification: Notification,
    timeouts: Timeouts,
    secrets: Sequence[str] = (),
    *,
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    already_done: Collection[int] = (),
) -> None:
    """Send ``payload`` as JSON with the notification's idempotency key.

    An answer of 2xx, or one of ``already_done`` (the receiver saying it has this
    request's key already, such as Airflow's 409 for a known run id), is delivered.

    Raises
    ------
    DeliveryError
        For any other answer or no answer, with ``url`` and ``secrets`` masked.
    """
    sent = dict(headers or {})
    if notification.key:
        sent["Idempotency-Key"] = notification.key
    try:
        response = client.request(method, url, json=payload, headers=sent, timeout=timeouts.httpx())
    except httpx.TimeoutException as error:
        raise DeliveryError(
            f"{what}: no answer in time ({type(error).__name__}; connect {timeouts.connect:g} s,"
            f" read {timeouts.read:g} s)",
            transient=True,
        ) from None
    except httpx.TransportError as error:
        raise DeliveryError(f"{what}: {type(error).__name__}", transient=True) from None
    if response.status_code >= 300 and response.status_code not in already_done:
        transient = response.status_code >= 500 or response.status_code in (408, 425, 429)
        shown = excerpt(response.text, [url, *secret_parts(url), *secrets])
        raise DeliveryError(f"{what} answered {response.status_code}: {shown}", transient=transient)


@dataclass(frozen=True)
class WebhookNotifier:
    """A generic webhook receiving Alertmanager's webhook JSON (version 4)."""

    url: str = field(repr=False)
    timeouts: Timeouts = field(default_factory=Timeouts)

    def payload(self, notification: Notification) -> dict[str, Any]:
        """The JSON body."""
        return webhook_payload(notification)

    def send(self, notification: Notification, client: httpx.Client) -> None:
        """Post the webhook JSON."""
        what = f"webhook {notification.receiver}"
        send_json(client, self.url, self.payload(notification), what, notification, self.timeouts)


@dataclass(frozen=True)
class SlackNotifier:
    """A Slack incoming webhook: one message per notification, coloured by severity."""

    webhook_url: str = field(repr=False)
    timeouts: Timeouts = field(default_factory=Timeouts)

    def payload(self, notification: Notification) -> dict[str, Any]:
        """The JSON body."""
        firing = notification.status == "firing"
        title = f"[{notification.status.upper()}:{len(notification.alerts)}] " + ", ".join(
            sorted({a.labels.get("alertname", "") for a in notification.alerts})
        )
        attachments = []
        for alert in notification.alerts:
            severity = alert.labels.get("severity", "warning")
            lines = [alert.annotations.get("summary", alert.labels.get("alertname", ""))]
            description = alert.annotations.get("description")
            if description:
                lines.append(description)
            runbook = alert.annotations.get("runbook_url")
            if runbook:
                lines.append(f"<{runbook}|Runbook>")
            attachments.append(
                {
                    "color": _SLACK_COLOURS.get(severity, "#808080") if firing else "#2EB67D",
                    "title": f"{alert.labels.get('alertname', '')} ({severity})",
                    "text": "\n".join(lines),
                    "fields": [
                        {"title": k, "value": v, "short": True}
                        for k, v in sorted(alert.labels.items())
                        if k not in ("alertname", "severity")
                    ],
                }
            )
        return {"text": title, "attachments": attachments}

    def send(self, notification: Notification, client: httpx.Client) -> None:
        """Post to the incoming webhook."""
        payload = self.payload(notification)
        send_json(client, self.webhook_url, payload, "Slack webhook", notification, self.timeouts)


@dataclass(frozen=True)
class PagerDutyNotifier:
    """PagerDuty Events API v2: one event per alert, deduplicated by the alert's identity."""

    routing_key: str = field(repr=False)
    url: str = PAGERDUTY_EVENTS_URL
    timeouts: Timeouts = field(default_factory=Timeouts)

    def events(self, notification: Notification) -> list[dict[str, Any]]:
        """One trigger or resolve event per alert; the same ``dedup_key`` for both."""
        events = []
        for alert in notification.alerts:
            firing = alert.state is AlertState.FIRING
            event: dict[str, Any] = {
                "routing_key": self.routing_key,
                "event_action": "trigger" if firing else "resolve",
                "dedup_key": fingerprint(alert.labels),
            }
            if firing:
                event["payload"] = {
                    "summary": alert.annotations.get("summary")
                    or f"{alert.labels.get('alertname')} on {alert.labels.get('model')}",
                    "source": f"mlvigil/{alert.labels.get('model', '')}",
                    "severity": alert.labels.get("severity", "warning"),
                    "timestamp": _iso(alert.fired_at),
                    "custom_details": {**alert.labels, **alert.annotations, "value": alert.value},
                }
                runbook = alert.annotations.get("runbook_url")
                if runbook:
                    event["links"] = [{"href": runbook, "text": "Runbook"}]
            events.append(event)
        return events

    def send(self, notification: Notification, client: httpx.Client) -> None:
        """Post each event (PagerDuty takes one per request)."""
        for event in self.events(notification):
            send_json(
                client,
                self.url,
                event,
                "PagerDuty",
                notification,
                self.timeouts,
                [self.routing_key],
            )


@dataclass(frozen=True)
class AlertmanagerNotifier:
    """Forward alerts to a real Alertmanager (``POST /api/v2/alerts``)."""

    url: str
    timeouts: Timeouts = field(default_factory=Timeouts)

    def payload(self, notification: Notification) -> list[dict[str, Any]]:
        """The alerts in Alertmanager's postable form."""
        return [
            {
                k: v
                for k, v in alertmanager_alert(a, notification.external_url).items()
                if k in ("labels", "annotations", "startsAt", "endsAt", "generatorURL")
            }
            for a in notification.alerts
        ]

    def send(self, notification: Notification, client: httpx.Client) -> None:
        """Post the alerts."""
        url = self.url.rstrip("/") + "/api/v2/alerts"
        send_json(
            client, url, self.payload(notification), "Alertmanager", notification, self.timeouts
        )


@dataclass(frozen=True)
class EmailNotifier:
    """E-mail through an SMTP server: one message per notification, plain text.

    Port 465 speaks TLS from the start; other ports upgrade with STARTTLS when
    ``require_tls`` (the default, as in Alertmanager), and log in when a username is set.
    """

    to: tuple[str, ...]
    sender: str
    smarthost: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    require_tls: bool = True
    timeout: float = 10.0

    def message(self, notification: Notification) -> EmailMessage:
        """The e-mail: a subject like Alertmanager's, one paragraph per alert."""
        names = ", ".join(sorted({a.labels.get("alertname", "") for a in notification.alerts}))
        group = " ".join(f"{k}={v}" for k, v in notification.group_labels.items())
        paragraphs = []
        for alert in notification.alerts:
            firing = alert.state is AlertState.FIRING
            lines = [
                f"[{'FIRING' if firing else 'RESOLVED'}] "
                + alert.annotations.get("summary", alert.labels.get("alertname", "")),
                *(f"  {k}: {v}" for k, v in sorted(alert.labels.items())),
                *(f"  {k}: {v}" for k, v in sorted(alert.annotations.items()) if k != "summary"),
                f"  since: {_iso(alert.fired_at or alert.active_since)}",
            ]
            paragraphs.append("\n".join(lines))
        if notification.external_url:
            paragraphs.append(f"mlvigil: {notification.external_url}")
        message = EmailMessage()
        message["Subject"] = (
            f"[{notification.status.upper()}:{len(notification.alerts)}] {names} ({group})"
        )
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message.set_content("\n\n".join(paragraphs) + "\n")
        return message

    def send(self, notification: Notification, client: httpx.Client) -> None:
        """Send the message; 4xx SMTP replies and network errors are retried, 5xx not."""
        host, _, port_text = self.smarthost.rpartition(":")
        port = int(port_text)
        what = f"SMTP server {host}:{port}"
        try:
            connect = smtplib.SMTP_SSL if port == 465 else smtplib.SMTP
            with connect(host, port, timeout=self.timeout) as smtp:
                if self.require_tls and port != 465:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(self.message(notification))
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(
                f"{what} does not offer STARTTLS; set require_tls: false to send in clear",
                transient=False,
            ) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(
                f"{what} answered {error.smtp_code}", transient=error.smtp_code < 500
            ) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError(f"{what} refused every recipient", transient=False) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"{what}: {type(error).__name__}", transient=True) from None
