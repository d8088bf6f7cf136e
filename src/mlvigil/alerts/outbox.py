"""Notifications as the outbox keeps them: JSON bodies, their group, and supersession.

A body is what :func:`~mlvigil.alerts.grouping.plan_notifications` decided to send,
as JSON (``receiver``, ``group_labels``, ``external_url``, ``alerts``). Bodies of one
receiver and group are delivered in the order they were queued, and a newer one
supersedes those still undelivered: after an outage the receiver hears the group's
latest state once, not its history in retry order. :func:`supersede` makes sure the
newer body loses nothing the receiver still needs to hear: an alert resolved in a
superseded body but absent from the newer one is carried over as resolved, so an
incident the receiver may have opened is closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlvigil.alerts.grouping import Outgoing
from mlvigil.alerts.notifiers import Notification, fingerprint
from mlvigil.alerts.state import Alert, AlertState

__all__ = ["body_of", "group_key", "notification_of", "supersede"]


def body_of(outgoing: Outgoing, external_url: str) -> dict[str, Any]:
    """The JSON body the outbox stores for a planned notification."""
    return {
        "receiver": outgoing.receiver,
        "group_labels": outgoing.group_labels,
        "external_url": external_url,
        "alerts": [alert.to_dict() for alert in outgoing.alerts],
    }


def group_key(body: Mapping[str, Any]) -> str:
    """The receiver and group a body belongs to (the webhook's ``groupKey``).

    Examples
    --------
    >>> group_key({"receiver": "team", "group_labels": {"alertname": "drift"}})
    'team:804c357a5147b5ab'
    """
    return Notification(body["receiver"], (), body["group_labels"]).group_key


def notification_of(body: Mapping[str, Any], key: str = "") -> Notification:
    """The notification a stored body describes, with its idempotency ``key``."""
    return Notification(
        body["receiver"],
        [Alert.from_dict(a) for a in body["alerts"]],
        body["group_labels"],
        body["external_url"],
        key,
    )


def supersede(older: Sequence[Mapping[str, Any]], newer: Mapping[str, Any]) -> dict[str, Any]:
    """``newer``, plus the resolutions of ``older`` bodies (oldest first) it would drop.

    An alert's last state in the older bodies counts; a firing one absent from the newer
    body was silenced or inhibited since, and is not carried (as nothing would be sent
    for it without the outage).

    Examples
    --------
    >>> def body(*alerts):
    ...     return {"receiver": "team", "group_labels": {}, "external_url": "",
    ...             "alerts": [{"labels": {"column": c}, "state": s} for c, s in alerts]}
    >>> merged = supersede([body(("age", "firing")), body(("age", "resolved"))],
    ...                    body(("income", "firing")))
    >>> [(a["labels"]["column"], a["state"]) for a in merged["alerts"]]
    [('income', 'firing'), ('age', 'resolved')]
    """
    present = {fingerprint(a["labels"]) for a in newer["alerts"]}
    last: dict[str, Mapping[str, Any]] = {}
    for body in older:
        for alert in body["alerts"]:
            name = fingerprint(alert["labels"])
            if name not in present:
                last[name] = alert
    resolved = [a for a in last.values() if a["state"] == AlertState.RESOLVED.value]
    return {**newer, "alerts": [*newer["alerts"], *resolved]}
