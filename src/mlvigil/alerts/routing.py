"""Routing alerts to receivers, as Alertmanager's routing tree does.

A route matches alerts by label (exact ``severity: critical``, or a regular expression
``model: "~credit-.*"``), sends them to its receiver grouped by ``group_by`` labels, and
hands them to its child routes first; without ``continue`` the first matching child
wins. An alert no child matches goes to the route's own receiver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mlvigil.alerts.state import Alert, labels_match
from mlvigil.exceptions import ConfigError


@dataclass(frozen=True)
class Route:
    """One node of the routing tree.

    Parameters
    ----------
    receiver
        Where matching alerts go.
    matchers
        Label → value; a value starting with ``~`` is a regular expression (full match).
    group_by
        Labels whose values split alerts into separate notifications.
    routes
        Child routes, tried in order.
    continue_
        Keep trying the siblings after this route matched.
    """

    receiver: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    group_by: tuple[str, ...] = ("alertname", "model")
    routes: tuple[Route, ...] = ()
    continue_: bool = False

    def __post_init__(self) -> None:
        for label, pattern in self.matchers.items():
            if pattern.startswith("~"):
                try:
                    re.compile(pattern[1:])
                except re.error as error:
                    raise ConfigError(f"matcher {label}: {pattern!r}: {error}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher holds for ``labels``."""
        return labels_match(self.matchers, labels)

    def receivers_for(self, labels: Mapping[str, str]) -> list[tuple[str, tuple[str, ...]]]:
        """The (receiver, group_by) pairs an alert with ``labels`` is sent to."""
        matched: list[tuple[str, tuple[str, ...]]] = []
        for child in self.routes:
            if child.matches(labels):
                matched.extend(child.receivers_for(labels))
                if not child.continue_:
                    break
        return matched or [(self.receiver, self.group_by)]


def route_alerts(
    root: Route, alerts: Sequence[Alert]
) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[Alert]]:
    """Group alerts by (receiver, group labels), following the routing tree.

    Examples
    --------
    >>> from mlvigil.alerts.state import AlertState
    >>> def alert(severity):
    ...     return Alert({"alertname": "drift", "model": "m", "severity": severity},
    ...                  AlertState.FIRING, 1.0, None, None, 1, None, None, {})
    >>> root = Route("team", routes=(Route("pager", {"severity": "critical"}),))
    >>> sorted(receiver for receiver, _ in route_alerts(root, [alert("warning"),
    ...                                                        alert("critical")]))
    ['pager', 'team']
    """
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[Alert]] = {}
    for alert in alerts:
        for receiver, group_by in root.receivers_for(alert.labels):
            group = tuple((label, alert.labels.get(label, "")) for label in group_by)
            groups.setdefault((receiver, group), []).append(alert)
    return groups
