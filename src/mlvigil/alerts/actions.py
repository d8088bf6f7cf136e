"""Receivers that act: a templated HTTP request, or a command fed the alerts on stdin.

:class:`HttpActionNotifier` triggers a job through its REST API (a retraining pipeline
on Airflow, Prefect or Kubeflow) with a body built from a template
(:mod:`mlvigil.alerts.templates`). :class:`CommandNotifier` runs a program (a rollback
script) with the notification as Alertmanager's webhook JSON on its standard input.

Both are delivered at least once through the outbox, as every receiver is, so an action
may run again after a crash or a timeout: each attempt of one notification carries the
same idempotency key (the ``Idempotency-Key`` header and ``{key}`` in templates; for a
command, ``idempotencyKey`` in its input and the ``MLVIGIL_IDEMPOTENCY_KEY`` variable),
which an action uses to recognise a repeat. A command is an argument list run without
a shell, so nothing an alert says (labels, summaries) is ever parsed as a command line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from mlvigil.alerts.notifiers import (
    DeliveryError,
    Notification,
    Timeouts,
    alertmanager_alert,
    send_json,
    webhook_payload,
)
from mlvigil.alerts.redact import excerpt
from mlvigil.alerts.templates import TemplateError, render_template, render_url

__all__ = ["CommandNotifier", "HttpActionNotifier", "template_values"]

#: Seconds a command may run before it is killed (and retried) unless it sets its own.
COMMAND_TIMEOUT = 60.0


def template_values(notification: Notification) -> dict[str, Any]:
    """What a template can name, for one notification."""
    values: dict[str, Any] = {
        "status": notification.status,
        "receiver": notification.receiver,
        "key": notification.key,
        "group_key": notification.group_key,
        "external_url": notification.external_url,
        "alert_count": len(notification.alerts),
        "alerts": [alertmanager_alert(a, notification.external_url) for a in notification.alerts],
        "payload": webhook_payload(notification),
    }
    values.update({f"labels.{k}": v for k, v in notification.common_labels().items()})
    values.update({f"annotations.{k}": v for k, v in notification.common_annotations().items()})
    return values


@dataclass(frozen=True)
class HttpActionNotifier:
    """An HTTP request built from templates: ``url`` and ``body`` filled per notification.

    ``headers`` (credentials, typically) are sent as given. An answer in
    ``already_done`` counts as delivered: the receiver saying it has seen this key.
    """

    url: str = field(repr=False)
    body: Any = None
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    already_done: tuple[int, ...] = ()
    timeouts: Timeouts = field(default_factory=Timeouts)

    def request(self, notification: Notification) -> tuple[str, Any]:
        """The URL and JSON body for ``notification``.

        Raises
        ------
        DeliveryError
            Not transient, when a template names a label the alerts do not share.
        """
        values = template_values(notification)
        try:
            return render_url(self.url, values), render_template(self.body, values)
        except TemplateError as error:
            raise DeliveryError(
                f"action {notification.receiver}: {error}", transient=False
            ) from None

    def send(self, notification: Notification, client: httpx.Client) -> None:
        """Send the request."""
        url, body = self.request(notification)
        send_json(
            client,
            url,
            body,
            f"action {notification.receiver}",
            notification,
            self.timeouts,
            [part for value in self.headers.values() for part in (value, *value.split())],
            method=self.method,
            headers=self.headers,
            already_done=self.already_done,
        )


@dataclass(frozen=True)
class CommandNotifier:
    """A program run with the notification as JSON on stdin; exit status 0 is delivered.

    ``argv`` is run as is, without a shell, in ``directory`` (the configuration's when
    relative paths are given), with the service's environment plus ``env`` and
    ``MLVIGIL_IDEMPOTENCY_KEY``, ``MLVIGIL_RECEIVER`` and ``MLVIGIL_STATUS``. Any other
    exit status, or running past ``timeout`` seconds (the program and whatever it started
    are then killed), is retried with backoff; the end of its standard error is the
    reason the outbox records.
    """

    argv: tuple[str, ...]
    timeout: float = COMMAND_TIMEOUT
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    directory: Path | None = None

    def stdin(self, notification: Notification) -> bytes:
        """What the program reads: the webhook JSON, plus ``idempotencyKey``."""
        return orjson.dumps({**webhook_payload(notification), "idempotencyKey": notification.key})

    def send(self, notification: Notification, client: httpx.Client) -> None:
        """Run the program once and wait for it."""
        what = f"command {notification.receiver} ({Path(self.argv[0]).name})"
        environment = {
            **os.environ,
            **self.env,
            "MLVIGIL_IDEMPOTENCY_KEY": notification.key,
            "MLVIGIL_RECEIVER": notification.receiver,
            "MLVIGIL_STATUS": notification.status,
        }
        try:
            # Its own session: on a timeout the whole group goes, children included.
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                cwd=self.directory,
                env=environment,
                start_new_session=True,
            )
        except OSError as error:
            raise DeliveryError(
                f"{what} could not start: {error.strerror}", transient=True
            ) from None
        try:
            _, errors = process.communicate(self.stdin(notification), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise DeliveryError(
                f"{what} ran past {self.timeout:g} s and was killed", transient=True
            ) from None
        if process.returncode != 0:
            # The last lines say why (a traceback's last line is its error).
            lines = [line for line in errors.decode(errors="replace").splitlines() if line.strip()]
            tail = excerpt(" | ".join(lines[-3:]), list(self.env.values()))
            raise DeliveryError(f"{what} exited {process.returncode}: {tail}", transient=True)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
