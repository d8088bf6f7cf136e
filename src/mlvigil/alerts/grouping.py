"""Aggregation groups: when a group of alerts is notified, as Alertmanager decides it.

Each route splits the alerts it takes into groups by its ``group_by`` labels. A new
group waits ``group_wait`` before its first notification, so alerts that fire together
arrive together. Afterwards the group is looked at every ``group_interval`` and notified
when its alerts changed (one fired, one resolved), or re-sent after ``repeat_interval``
while anything in it still fires. A resolved alert goes out once, to receivers with
``send_resolved``, and only if its firing was notified; an alert notified as firing
that is no longer firing in any way (resolved, or pending again since) counts as
resolved. A group with nothing firing and nothing still to tell is dropped, so the next
alert starts a new one (and waits ``group_wait`` again).

Silenced and inhibited (muted) alerts are held back, firing or resolved, as in
Alertmanager; but their group remembers what its receiver was told, so once the alert
is audible again its current state is notified: a page again if it still fires, the
resolution if it resolved meanwhile. A page the receiver got is never left without its
resolution (unless it has ``send_resolved`` off).

:func:`plan_notifications` is pure: the service persists the groups it returns together
with the notifications, in one transaction, so a restart neither repeats nor skips one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from mlvigil.alerts.notifiers import fingerprint
from mlvigil.alerts.routing import Route
from mlvigil.alerts.state import Alert, AlertState


@dataclass(frozen=True)
class Group:
    """The notification state of one group of alerts.

    Parameters
    ----------
    route
        Path of the route that formed the group (``/`` for the root, ``/0/1``...).
    receiver
        Where the group's notifications go.
    labels
        The group's values of the route's ``group_by`` labels.
    next_flush_at
        When the group is next looked at.
    last_sent_at
        When it was last notified, if ever.
    notified
        Fingerprints of the alerts the receiver was told are firing, and not told since
        that they resolved.
    muted
        Those of ``notified`` that were muted (silenced, inhibited) when last looked at:
        the receiver hears their state again once they are audible.
    """

    route: str
    receiver: str
    labels: tuple[tuple[str, str], ...]
    next_flush_at: datetime
    last_sent_at: datetime | None = None
    notified: frozenset[str] = field(default_factory=frozenset)
    muted: frozenset[str] = field(default_factory=frozenset)

    @property
    def id(self) -> str:
        """The group's identity: route, receiver and group labels."""
        return f"{self.route}:{self.receiver}:{fingerprint(dict(self.labels))}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON view."""
        return {
            "route": self.route,
            "receiver": self.receiver,
            "labels": [list(pair) for pair in self.labels],
            "next_flush_at": self.next_flush_at.isoformat(),
            "last_sent_at": None if self.last_sent_at is None else self.last_sent_at.isoformat(),
            "notified": sorted(self.notified),
            "muted": sorted(self.muted),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Group:
        """The group :meth:`to_dict` described."""
        sent = data["last_sent_at"]
        return cls(
            route=data["route"],
            receiver=data["receiver"],
            labels=tuple((k, v) for k, v in data["labels"]),
            next_flush_at=datetime.fromisoformat(data["next_flush_at"]),
            last_sent_at=None if sent is None else datetime.fromisoformat(sent),
            notified=frozenset(data["notified"]),
            muted=frozenset(data.get("muted", ())),  # groups saved before it existed
        )


@dataclass(frozen=True)
class Outgoing:
    """A notification to queue: one group's alerts for its receiver."""

    receiver: str
    group_labels: dict[str, str]
    alerts: list[Alert]


@dataclass
class _Members:
    route: Route
    fresh: Group
    """The group these alerts would start if it does not exist yet."""
    firing: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    """Audible alerts no longer firing (as resolved)."""
    muted_firing: set[str] = field(default_factory=set)
    muted_quiet: set[str] = field(default_factory=set)
    """Fingerprints of muted alerts, firing and no longer firing."""


def plan_notifications(
    root: Route,
    alerts: Iterable[Alert],
    groups: Mapping[str, Group],
    now: datetime,
    *,
    audible: Callable[[Alert], bool],
    send_resolved: Callable[[str], bool],
) -> tuple[dict[str, Group], list[Outgoing]]:
    """Decide which groups are notified now.

    Parameters
    ----------
    root
        The routing tree.
    alerts
        Every alert's current state.
    groups
        The groups after the previous call, by id.
    now
        The current time.
    audible
        Whether an alert may be notified (neither silenced nor inhibited).
    send_resolved
        Whether a receiver wants resolved notifications.

    Returns
    -------
    The groups to keep, by id, and the notifications to queue.
    """
    told = set().union(*(group.notified for group in groups.values()))
    members: dict[str, _Members] = {}
    for alert in alerts:
        is_firing = alert.state is AlertState.FIRING
        name = fingerprint(alert.labels)
        if not is_firing and alert.state is not AlertState.RESOLVED and name not in told:
            continue  # pending or inactive, and no receiver thinks it fires
        loud = audible(alert)
        if not is_firing and alert.state is not AlertState.RESOLVED:
            # Notified as firing, resolved, and pending again before the receiver heard.
            alert = replace(alert, state=AlertState.RESOLVED, resolved_at=alert.resolved_at or now)
        for path, route in root.routes_for(alert.labels):
            labels = tuple((label, alert.labels.get(label, "")) for label in route.group_by)
            fresh = Group(path, route.receiver, labels, now + route.group_wait)
            found = members.setdefault(fresh.id, _Members(route, fresh))
            if loud:
                (found.firing if is_firing else found.resolved).append(alert)
            else:
                (found.muted_firing if is_firing else found.muted_quiet).add(name)

    kept: dict[str, Group] = {}
    outgoing: list[Outgoing] = []
    for group_id, found in members.items():  # a group without members is over
        group = groups.get(group_id, found.fresh)
        if not found.firing and not found.muted_firing and not group.notified:
            continue  # resolved alerts whose firing was never notified
        if now < group.next_flush_at:
            kept[group_id] = group
            continue
        group, sent = _flush(group, found, now, send_resolved(group.receiver))
        if sent is not None:
            outgoing.append(sent)
        if found.firing or found.muted_firing or group.notified:
            kept[group_id] = replace(group, next_flush_at=now + found.route.group_interval)
    return kept, outgoing


def _flush(
    group: Group, found: _Members, now: datetime, send_resolved: bool
) -> tuple[Group, Outgoing | None]:
    """Look at one group whose wait is over: its notification, if any, and its new state."""
    firing = {fingerprint(a.labels) for a in found.firing}
    # Muted alerts the receiver thinks fire: nothing is said of them until they are
    # audible again (without send_resolved, a resolved one is never said).
    owed = found.muted_firing | (found.muted_quiet if send_resolved else set())
    held = group.notified & owed
    wanted = found.resolved if send_resolved else []
    resolved = [a for a in wanted if fingerprint(a.labels) in group.notified]
    changed = firing != group.notified - found.muted_firing - found.muted_quiet
    unmuted = bool(firing & group.muted)  # still firing when its silence ended
    repeat_due = (
        group.last_sent_at is not None and now - group.last_sent_at >= found.route.repeat_interval
    )
    sent = None
    if (changed or unmuted or repeat_due) and (found.firing or resolved):
        sent = Outgoing(group.receiver, dict(group.labels), found.firing + resolved)
        group = replace(group, last_sent_at=now)
    return replace(group, notified=frozenset(firing | held), muted=frozenset(held)), sent
