"""The alert state machine: inactive → pending → firing → resolved, as Prometheus does it.

:func:`evaluate_rules` takes the rules, the latest results and the previous state of
every alert, and returns the new states and the transitions to notify (``firing``,
``resolved``). It is pure: the caller persists states (so a restart neither re-pages an
alert already firing nor forgets a pending one) and sends notifications.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from mlvigil.alerts.patterns import pattern_matches
from mlvigil.alerts.rules import ANY, AlertRule
from mlvigil.checks.result import CheckResult


class AlertState(StrEnum):
    """Where an alert is in its life."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


AlertKey = tuple[tuple[str, str], ...]
"""An alert's identity: its sorted labels (alertname, model, column, rule labels)."""


def labels_match(matchers: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` meet every matcher (exact value, or ``~regex`` fully matched).

    Regular expressions are RE2's (linear time; see :mod:`mlvigil.alerts.patterns`); one
    RE2 cannot run matches nothing.

    Examples
    --------
    >>> labels_match({"model": "~credit.*", "severity": "critical"},
    ...              {"model": "credit-risk", "severity": "critical"})
    True
    """
    for label, pattern in matchers.items():
        value = labels.get(label, "")
        if pattern.startswith("~"):
            if not pattern_matches(pattern[1:], value):
                return False
        elif value != pattern:
            return False
    return True


def alert_key(labels: Mapping[str, str]) -> AlertKey:
    """The identity of the alert with these labels."""
    return tuple(sorted(labels.items()))


@dataclass(frozen=True)
class Alert:
    """One alert's state after an evaluation."""

    labels: Mapping[str, str]
    state: AlertState
    value: float | None
    active_since: datetime | None
    """When the condition started holding (pending or firing), else ``None``."""
    last_true: datetime | None
    windows_true: int
    """Consecutive windows the condition held in."""
    fired_at: datetime | None
    resolved_at: datetime | None
    annotations: Mapping[str, str]
    window: str | None = None
    """Start of the window whose result the alert last saw: a window evaluated again
    (late labels, late rows) is not one more window for ``for``."""

    @property
    def key(self) -> AlertKey:
        """The alert's identity."""
        return alert_key(self.labels)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON view (times in ISO 8601)."""
        return {
            "labels": dict(self.labels),
            "state": self.state.value,
            "value": self.value,
            "active_since": _iso(self.active_since),
            "last_true": _iso(self.last_true),
            "windows_true": self.windows_true,
            "fired_at": _iso(self.fired_at),
            "resolved_at": _iso(self.resolved_at),
            "annotations": dict(self.annotations),
            "window": self.window,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        """The alert :meth:`to_dict` described."""
        return cls(
            labels=dict(data["labels"]),
            state=AlertState(data["state"]),
            value=data["value"],
            active_since=_time(data["active_since"]),
            last_true=_time(data["last_true"]),
            windows_true=int(data["windows_true"]),
            fired_at=_time(data["fired_at"]),
            resolved_at=_time(data["resolved_at"]),
            annotations=dict(data["annotations"]),
            window=data.get("window"),
        )


def _older(window: str | None, than: str | None) -> bool:
    if window is None or than is None:
        return False
    return datetime.fromisoformat(window) < datetime.fromisoformat(than)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class Transition:
    """A change worth a notification."""

    alert: Alert
    kind: AlertState
    """``FIRING`` or ``RESOLVED``."""


def step(
    rule: AlertRule,
    previous: Alert | None,
    labels: Mapping[str, str],
    holds: bool,
    value: float | None,
    annotations: Mapping[str, str],
    now: datetime,
    window: str | None = None,
) -> tuple[Alert, Transition | None]:
    """Advance one alert by one evaluation of the result of ``window``.

    A result that does not hold, from a window older than the one the alert last saw
    (a backfilled or re-evaluated window), leaves the alert as it is: evidence from
    the past does not resolve what a newer window showed. One that holds counts
    whatever its window, so a backfilled window with a problem does alert.
    """
    state = previous.state if previous else AlertState.INACTIVE
    if holds:
        active = state in (AlertState.PENDING, AlertState.FIRING)
        counted = previous.windows_true if active and previous else 0
        same_window = previous is not None and window is not None and previous.window == window
        windows = counted if same_window and counted else counted + 1
        since = (previous.active_since if active and previous else None) or now
        alert = Alert(
            labels,
            state,
            value,
            since,
            now,
            windows,
            previous.fired_at if previous and state is AlertState.FIRING else None,
            None,
            annotations,
            window,
        )
        if state is AlertState.FIRING:
            return alert, None
        if windows >= rule.for_windows and now - since >= rule.for_duration:
            fired = replace(alert, state=AlertState.FIRING, fired_at=now)
            return fired, Transition(fired, AlertState.FIRING)
        return replace(alert, state=AlertState.PENDING), None
    if previous is not None and _older(window, previous.window):
        return previous, None  # an older window (a backfill) does not clear a newer one's
    if previous is None:
        quiet = Alert(labels, AlertState.INACTIVE, value, None, None, 0, None, None, {}, window)
        return quiet, None
    if state in (AlertState.INACTIVE, AlertState.RESOLVED):
        return replace(previous, value=value, windows_true=0, window=window), None
    if state is AlertState.PENDING:
        return replace(
            previous,
            state=AlertState.INACTIVE,
            value=value,
            active_since=None,
            windows_true=0,
            window=window,
        ), None
    # Firing and the condition stopped holding: keep firing for a while, then resolve.
    last_true = previous.last_true or now
    if now - last_true < rule.keep_firing_for:
        return replace(previous, value=value, windows_true=0, window=window), None
    resolved = replace(
        previous,
        state=AlertState.RESOLVED,
        value=value,
        active_since=None,
        windows_true=0,
        resolved_at=now,
        window=window,
    )
    return resolved, Transition(resolved, AlertState.RESOLVED)


def evaluate_rules(
    rules: Sequence[AlertRule],
    results: Iterable[CheckResult],
    previous: Mapping[AlertKey, Alert],
    now: datetime,
) -> tuple[dict[AlertKey, Alert], list[Transition]]:
    """Evaluate every rule on the latest results.

    Parameters
    ----------
    rules
        The configured rules.
    results
        Each model's latest results (stamped with their model and window).
    previous
        Every alert's state after the previous evaluation.
    now
        The evaluation time.

    Returns
    -------
    The state of every alert after this evaluation (alerts whose result disappeared
    count as "condition not holding"), and the transitions to notify.
    """
    index = _ResultIndex(results)
    states: dict[AlertKey, Alert] = {}
    transitions: list[Transition] = []
    rules_by_name = {rule.name: rule for rule in rules}
    for rule in rules:
        for result in index.candidates(rule):
            if not rule.matches(result):
                continue
            labels = rule.alert_labels(result)
            key = alert_key(labels)
            value = result.value
            number = math.nan if value is None else float(value)
            holds = rule.condition.holds(number, result.status.value, result.severity.value)
            alert, transition = step(
                rule,
                previous.get(key),
                labels,
                holds,
                value,
                rule.render(result) if holds else {},  # only an alert that holds uses them
                now,
                None if result.window_start is None else result.window_start.isoformat(),
            )
            states[key] = alert
            if transition is not None:
                transitions.append(transition)
    for key, alert in previous.items():
        if key in states:
            continue
        owner = rules_by_name.get(alert.labels.get("alertname", ""))
        if owner is None:  # the rule was removed: its alerts resolve
            if alert.state is AlertState.FIRING:
                resolved = replace(alert, state=AlertState.RESOLVED, resolved_at=now)
                states[key] = resolved
                transitions.append(Transition(resolved, AlertState.RESOLVED))
            continue
        alert_now, transition = step(
            owner, alert, alert.labels, False, None, alert.annotations, now, alert.window
        )
        states[key] = alert_now
        if transition is not None:
            transitions.append(transition)
    return states, transitions


def alert_keys(rules: Sequence[AlertRule], results: Iterable[CheckResult]) -> set[AlertKey]:
    """The alerts that ``results`` speak for: one per rule and result the rule watches."""
    index = _ResultIndex(results)
    return {
        alert_key(rule.alert_labels(result))
        for rule in rules
        for result in index.candidates(rule)
        if rule.matches(result)
    }


class _ResultIndex:
    """Results by metric, model and column, so each rule reads only its candidates.

    With 10,000 rules over thousands of rows, scanning every row per rule costs seconds;
    a rule naming its metric, model and column reads a handful here.
    """

    def __init__(self, results: Iterable[CheckResult]) -> None:
        self.rows = list(results)
        self._by: dict[tuple[str | None, ...], list[CheckResult]] = defaultdict(list)
        for row in self.rows:
            metric, model, column = row.metric, row.model, row.column
            for key in {  # a set: without a column, some of these keys coincide
                (metric, None, None),
                (metric, model, None),
                (metric, None, column),
                (metric, model, column),
                (None, model, None),
                (None, None, column),
                (None, model, column),
            }:
                self._by[key].append(row)

    def candidates(self, rule: AlertRule) -> list[CheckResult]:
        """Rows that may match ``rule`` (``rule.matches`` decides)."""
        metric = None if rule.metric == ANY else rule.metric
        if metric is None and rule.model is None and rule.column is None:
            return self.rows
        return self._by.get((metric, rule.model, rule.column), [])
