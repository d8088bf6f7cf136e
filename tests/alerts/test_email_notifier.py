"""E-mail notifications through a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import UTC, datetime
from email.message import Message

import httpx
import pytest
import yaml
from aiosmtpd.controller import Controller

from live_servers import free_port
from mlvigil.alerts.config import AlertingModel, build_notifiers
from mlvigil.alerts.notifiers import DeliveryError, EmailNotifier, Notification
from mlvigil.alerts.state import Alert, AlertState

FIRED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Mailbox:
    """An SMTP handler keeping what it accepts, or answering with ``reply``."""

    def __init__(self, reply: str = "250 OK") -> None:
        self.reply = reply
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        if self.reply.startswith("250"):
            self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return self.reply


@pytest.fixture
def smtp_server():
    servers: list[Controller] = []

    def start(reply: str = "250 OK") -> tuple[str, Mailbox]:
        mailbox = Mailbox(reply)
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        return f"127.0.0.1:{port}", mailbox

    yield start
    for controller in servers:
        controller.stop()


def notification(state: AlertState = AlertState.FIRING) -> Notification:
    alert = Alert(
        {"alertname": "null_rate", "model": "credit", "column": "income", "severity": "error"},
        state,
        0.3,
        FIRED,
        FIRED,
        1,
        FIRED,
        None if state is AlertState.FIRING else FIRED,
        {"summary": "credit: income nulls 0.3", "runbook_url": "https://runbooks/nulls"},
    )
    return Notification("oncall", [alert], {"alertname": "null_rate"}, "http://mlvigil.test")


def plain(notifier: EmailNotifier) -> EmailNotifier:
    """The local test server speaks SMTP without TLS."""
    return replace(notifier, require_tls=False)


def send(notifier: EmailNotifier, note: Notification) -> None:
    with httpx.Client() as client:
        notifier.send(note, client)


def test_an_alert_email_reaches_every_recipient_with_subject_labels_and_runbook(smtp_server):
    host, mailbox = smtp_server()
    notifier = EmailNotifier(("a@example.com", "b@example.com"), "mlvigil@example.com", host)
    send(plain(notifier), notification())
    ((recipients, message),) = mailbox.messages
    assert recipients == ["a@example.com", "b@example.com"]
    assert message["Subject"] == "[FIRING:1] null_rate (alertname=null_rate)"
    assert message["From"] == "mlvigil@example.com"
    body = message.get_payload()
    assert "[FIRING] credit: income nulls 0.3" in body
    assert "column: income" in body
    assert "runbook_url: https://runbooks/nulls" in body
    assert "mlvigil: http://mlvigil.test" in body


def test_a_resolved_email_says_resolved(smtp_server):
    host, mailbox = smtp_server()
    notifier = plain(EmailNotifier(("a@example.com",), "mlvigil@example.com", host))
    send(notifier, notification(AlertState.RESOLVED))
    ((_, message),) = mailbox.messages
    assert message["Subject"].startswith("[RESOLVED:1]")


@pytest.mark.parametrize(("reply", "transient"), [("451 try later", True), ("550 no", False)])
def test_a_refusing_server_says_whether_to_retry(smtp_server, reply, transient):
    host, _ = smtp_server(reply)
    notifier = plain(EmailNotifier(("a@example.com",), "mlvigil@example.com", host))
    with pytest.raises(DeliveryError, match=f"answered {reply[:3]}") as caught:
        send(notifier, notification())
    assert caught.value.transient is transient


def test_a_server_that_is_down_is_retried_and_one_without_tls_is_named(smtp_server):
    down = EmailNotifier(("a@example.com",), "m@example.com", f"127.0.0.1:{free_port()}")
    with pytest.raises(DeliveryError) as caught:
        send(down, notification())
    assert caught.value.transient
    host, mailbox = smtp_server()
    plain = EmailNotifier(("a@example.com",), "m@example.com", host)  # require_tls by default
    with pytest.raises(DeliveryError, match="require_tls: false") as refused:
        send(plain, notification())
    assert not refused.value.transient
    assert mailbox.messages == []


def test_an_email_receiver_is_configured_in_yaml_with_its_password_from_a_file(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("hunter2\n")
    alerting = AlertingModel.model_validate(
        yaml.safe_load(
            f"""
            receivers:
              oncall:
                email:
                  to: oncall@example.com
                  from: mlvigil@example.com
                  smarthost: smtp.example.com:587
                  username: mlvigil
                  password: {{file: {secret}}}
            """
        )
    )
    (notifier,) = build_notifiers(alerting).values()
    assert isinstance(notifier, EmailNotifier)
    assert notifier.to == ("oncall@example.com",)
    assert notifier.password == "hunter2"
    assert "hunter2" not in repr(notifier)
