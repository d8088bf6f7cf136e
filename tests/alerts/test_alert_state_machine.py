"""Alert rules and the inactive → pending → firing → resolved state machine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mlvigil.alerts.rules import AlertRule, Condition
from mlvigil.alerts.state import AlertState, evaluate_rules
from mlvigil.checks.result import CheckResult, CheckStatus, Severity
from mlvigil.exceptions import ConfigError

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def row(value, *, metric="drift_share", column=None, model="credit", check="drift"):
    return CheckResult(
        check,
        metric,
        column,
        value,
        None,
        CheckStatus.PASSED,
        model=model,
        window_start=T0 - timedelta(hours=1),
        window_end=T0,
    )


class Run:
    """Feeds successive windows of results through the rules, keeping the states."""

    def __init__(self, *rules: AlertRule) -> None:
        self.rules = rules
        self.states: dict = {}

    def tick(self, minutes: int, *rows, window: int | None = None) -> list[tuple[str, AlertState]]:
        """Evaluate the rows as the results of the window starting at minute ``window``
        (by default each tick is a new window, starting at the tick)."""
        start = T0 + timedelta(minutes=minutes if window is None else window)
        rows = tuple(replace(r, window_start=start) for r in rows)
        self.states, transitions = evaluate_rules(
            self.rules, rows, self.states, T0 + timedelta(minutes=minutes)
        )
        return [(t.alert.labels["alertname"], t.kind) for t in transitions]

    def state(self, **labels) -> AlertState:
        matching = [a for a in self.states.values() if labels.items() <= a.labels.items()]
        assert len(matching) == 1, matching
        return matching[0].state


@pytest.mark.parametrize(
    ("text", "value", "holds"),
    [
        ("> 0.5", 0.6, True),
        ("> 0.5", 0.5, False),
        (">= 0.5", 0.5, True),
        ("< 0.8", 0.7, True),
        ("<= 0.8", 0.9, False),
        ("== 0", 0.0, True),
        ("!= 0", 0.0, False),
        ("outside [0.2, 0.8]", 0.1, True),
        ("outside [0.2, 0.8]", 0.8, False),
        ("> 0.5", float("nan"), False),
    ],
)
def test_conditions(text, value, holds):
    assert Condition.parse(text).holds(value) is holds


@pytest.mark.parametrize("text", ["bigger than 3", "> x", "outside [0.9, 0.1]", ""])
def test_unreadable_conditions_say_what_to_write(text):
    with pytest.raises(ConfigError, match=r"'> 0\.1'|low end"):
        Condition.parse(text)


def test_a_window_evaluated_again_is_not_one_more_window_for_the_for_count():
    run = Run(AlertRule("drift", "drift_share", Condition.parse(">= 0.5"), for_windows=2))
    assert run.tick(0, row(0.6)) == []
    assert run.tick(5, row(0.7), window=0) == []  # the same window again (late labels)
    assert run.state(alertname="drift") is AlertState.PENDING
    assert run.tick(60, row(0.7)) == [("drift", AlertState.FIRING)]


def test_an_alert_whose_result_disappears_keeps_firing_for_its_own_rules_keep_firing_for():
    null_rate = AlertRule(
        "nulls",
        "null_rate",
        Condition.parse("> 0.1"),
        column="income",
        keep_firing_for=timedelta(hours=2),
    )
    drift = AlertRule("drift", "drift_share", Condition.parse(">= 0.5"))  # no keep_firing_for
    run = Run(null_rate, drift)
    nulls = row(0.3, metric="null_rate", column="income", check="completeness")
    assert run.tick(0, nulls, row(0.6)) == [
        ("nulls", AlertState.FIRING),
        ("drift", AlertState.FIRING),
    ]
    # The null-rate result is gone (the column was dropped from the checks): its alert
    # keeps firing for its own rule's 2 h, not the last rule's 0.
    assert run.tick(60, row(0.6)) == []
    assert run.state(alertname="nulls") is AlertState.FIRING
    assert run.tick(130, row(0.6)) == [("nulls", AlertState.RESOLVED)]


def test_an_alert_fires_after_its_for_windows_and_resolves_when_the_value_recovers():
    run = Run(AlertRule("drift", "drift_share", Condition.parse(">= 0.5"), for_windows=2))
    assert run.tick(0, row(0.6)) == []
    assert run.state(alertname="drift") is AlertState.PENDING
    assert run.tick(60, row(0.7)) == [("drift", AlertState.FIRING)]
    assert run.tick(120, row(0.8)) == []  # still firing: no second page
    assert run.state(alertname="drift") is AlertState.FIRING
    assert run.tick(180, row(0.1)) == [("drift", AlertState.RESOLVED)]
    assert run.state(alertname="drift") is AlertState.RESOLVED


def test_a_pending_alert_that_recovers_never_fires():
    run = Run(AlertRule("drift", "drift_share", Condition.parse(">= 0.5"), for_windows=3))
    assert run.tick(0, row(0.6)) == []
    assert run.tick(60, row(0.6)) == []
    assert run.tick(120, row(0.2)) == []
    assert run.state(alertname="drift") is AlertState.INACTIVE
    assert run.tick(180, row(0.6)) == []  # the count starts again
    assert run.state(alertname="drift") is AlertState.PENDING


def test_for_duration_counts_time_since_the_condition_started():
    rule = AlertRule(
        "stale", "drift_share", Condition.parse("> 0"), for_duration=timedelta(minutes=30)
    )
    run = Run(rule)
    assert run.tick(0, row(1.0)) == []
    assert run.tick(20, row(1.0)) == []
    assert run.tick(30, row(1.0)) == [("stale", AlertState.FIRING)]


def test_keep_firing_for_holds_a_flapping_alert():
    rule = AlertRule(
        "drift", "drift_share", Condition.parse("> 0.5"), keep_firing_for=timedelta(minutes=90)
    )
    run = Run(rule)
    assert run.tick(0, row(0.9)) == [("drift", AlertState.FIRING)]
    assert run.tick(60, row(0.1)) == []  # 60 min since last true < 90
    assert run.tick(120, row(0.9)) == []  # back: still the same firing alert
    assert run.tick(180, row(0.1)) == []
    assert run.tick(240, row(0.1)) == [("drift", AlertState.RESOLVED)]  # 120 min >= 90
    assert run.state(alertname="drift") is AlertState.RESOLVED


def test_each_column_is_its_own_alert_with_templated_annotations():
    rule = AlertRule(
        "null_rate",
        "null_rate",
        Condition.parse("> 0.05"),
        check="completeness",
        severity=Severity.CRITICAL,
        labels={"team": "risk"},
        annotations={
            "summary": "{model}: {column} nulls {value} ({condition})",
            "runbook_url": "https://runbooks/{rule}#{unknown}",
        },
    )
    run = Run(rule)
    fired = run.tick(
        0,
        row(0.3, metric="null_rate", column="income", check="completeness"),
        row(0.01, metric="null_rate", column="age", check="completeness"),
        row(0.3, metric="null_rate", column="income", check="schema"),  # other check
    )
    assert fired == [("null_rate", AlertState.FIRING)]
    (alert,) = [a for a in run.states.values() if a.state is AlertState.FIRING]
    assert alert.labels == {
        "alertname": "null_rate",
        "model": "credit",
        "column": "income",
        "severity": "critical",
        "team": "risk",
    }
    assert alert.annotations == {
        "summary": "credit: income nulls 0.3 (> 0.05)",
        "runbook_url": "https://runbooks/null_rate#{unknown}",
    }
    assert run.state(column="age") is AlertState.INACTIVE


def test_a_result_that_disappears_counts_as_recovered_and_a_removed_rule_resolves():
    rule = AlertRule("drift", "drift_share", Condition.parse("> 0.5"))
    run = Run(rule)
    run.tick(0, row(0.9))
    assert run.tick(60) == [("drift", AlertState.RESOLVED)]
    run.tick(120, row(0.9))
    run.rules = ()
    assert run.tick(180, row(0.9)) == [("drift", AlertState.RESOLVED)]


def test_rule_labels_cannot_override_identity_labels():
    with pytest.raises(ConfigError, match="set by mlvigil itself"):
        AlertRule("x", "m", Condition.parse("> 1"), labels={"model": "other"})


def test_ten_thousand_rules_evaluate_each_matching_result():
    rules = [
        AlertRule(
            f"rule-{i}", "drift_score", Condition.parse(f"> {i / 10_000}"), column=f"f{i % 100}"
        )
        for i in range(10_000)
    ]
    rows = [row(c / 100, metric="drift_score", column=f"f{c}") for c in range(100)]
    states, transitions = evaluate_rules(rules, rows, {}, T0)
    assert len(states) == 10_000
    # rule i watches column f(i % 100) whose value is (i % 100) / 100.
    expected = sum(1 for i in range(10_000) if (i % 100) / 100 > i / 10_000)
    assert len(transitions) == expected
