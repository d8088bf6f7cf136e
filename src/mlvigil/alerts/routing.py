"""Routing alerts to receivers, as Alertmanager's routing tree does.

A route matches alerts by label (exact ``severity: critical``, or a regular expression
``model: "~credit-.*"``), sends them to its receiver grouped by ``group_by`` labels, and
hands them to its child routes first; without ``continue`` the first matching child
wins. An alert no child matches goes to the route's own receiver. The route that takes
an alert also sets the timing of its group (see :mod:`mlvigil.alerts.grouping`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from mlvigil.alerts.patterns import check_pattern
from mlvigil.alerts.state import labels_match
from mlvigil.exceptions import ConfigError


@dataclass(frozen=True)
class Route:
    """One node of the routing tree.

    Parameters
    ----------
    receiver
        Where matching alerts go.
    matchers
        Label → value; a value starting with ``~`` is a regular expression (RE2 syntax,
        full match; see :mod:`mlvigil.alerts.patterns`).
    group_by
        Labels whose values split alerts into separate notifications.
    routes
        Child routes, tried in order.
    continue_
        Keep trying the siblings after this route matched.
    group_wait
        How long a new group collects alerts before its first notification.
    group_interval
        How long after a notification a group's changes are notified.
    repeat_interval
        How long after a notification an unchanged, still-firing group is re-sent.
    """

    receiver: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    group_by: tuple[str, ...] = ("alertname", "model")
    routes: tuple[Route, ...] = ()
    continue_: bool = False
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)

    def __post_init__(self) -> None:
        for label, pattern in self.matchers.items():
            reason = check_pattern(pattern[1:]) if pattern.startswith("~") else None
            if reason is not None:
                raise ConfigError(f"matcher {label}: {pattern!r}: {reason}")

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher holds for ``labels``."""
        return labels_match(self.matchers, labels)

    def routes_for(self, labels: Mapping[str, str], path: str = "") -> list[tuple[str, Route]]:
        """The routes that take an alert with ``labels``, each with its path in the tree.

        Examples
        --------
        >>> root = Route("team", routes=(Route("pager", {"severity": "critical"}),))
        >>> [(path, route.receiver) for path, route in root.routes_for({"severity": "critical"})]
        [('/0', 'pager')]
        >>> [route.receiver for _, route in root.routes_for({"severity": "warning"})]
        ['team']
        """
        matched: list[tuple[str, Route]] = []
        for index, child in enumerate(self.routes):
            if child.matches(labels):
                matched.extend(child.routes_for(labels, f"{path}/{index}"))
                if not child.continue_:
                    break
        return matched or [(path or "/", self)]
