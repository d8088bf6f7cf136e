"""Group timing as in Alertmanager: group_wait, group_interval, repeat_interval, send_resolved."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mlvigil.alerts.grouping import Group, Outgoing, plan_notifications
from mlvigil.alerts.routing import Route
from mlvigil.alerts.state import Alert, AlertState

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
ROUTE = Route(
    "team",
    group_by=("alertname",),
    group_wait=30 * SECOND,
    group_interval=300 * SECOND,
    repeat_interval=3_600 * SECOND,
)


def firing(model: str, name: str = "drift") -> Alert:
    labels = {"alertname": name, "model": model, "severity": "warning"}
    return Alert(labels, AlertState.FIRING, 0.5, T0, T0, 1, T0, None, {})


def resolved(alert: Alert) -> Alert:
    return replace(alert, state=AlertState.RESOLVED, resolved_at=T0)


class Pager:
    """Drives plan_notifications as the service does: groups carried between calls."""

    def __init__(self, route: Route = ROUTE, *, send_resolved: bool = True) -> None:
        self.route = route
        self.groups: dict[str, Group] = {}
        self.send_resolved = send_resolved
        self.muted: set[str] = set()

    def at(self, seconds: float, *alerts: Alert) -> list[Outgoing]:
        self.groups, outgoing = plan_notifications(
            self.route,
            alerts,
            self.groups,
            T0 + seconds * SECOND,
            audible=lambda a: a.labels["model"] not in self.muted,
            send_resolved=lambda receiver: self.send_resolved,
        )
        return outgoing


def models(outgoing: list[Outgoing]) -> list[list[str]]:
    return [[f"{a.labels['model']}:{a.state.value}" for a in out.alerts] for out in outgoing]


def test_group_wait_collects_alerts_that_fire_together_into_one_notification():
    pager = Pager()
    a, b = firing("a"), firing("b")
    assert pager.at(0, a) == []
    assert pager.at(10, a, b) == []
    assert pager.at(29, a, b) == []
    (out,) = pager.at(30, a, b)
    assert out.receiver == "team"
    assert out.group_labels == {"alertname": "drift"}
    assert models([out]) == [["a:firing", "b:firing"]]


def test_a_new_alert_in_a_notified_group_waits_for_group_interval():
    pager = Pager()
    a, b = firing("a"), firing("b")
    pager.at(0, a)
    assert models(pager.at(30, a)) == [["a:firing"]]
    assert pager.at(100, a, b) == []
    assert pager.at(329, a, b) == []
    assert models(pager.at(330, a, b)) == [["a:firing", "b:firing"]]


def test_an_unchanged_group_is_resent_only_after_repeat_interval():
    pager = Pager()
    a = firing("a")
    pager.at(0, a)
    assert len(pager.at(30, a)) == 1
    quiet = [pager.at(30 + 300 * n, a) for n in range(1, 12)]  # every group_interval, < 1 h
    assert quiet == [[]] * 11
    assert models(pager.at(30 + 3_600, a)) == [["a:firing"]]


def test_resolved_alerts_are_sent_once_to_receivers_that_want_them():
    for send_resolved, expected in ((True, [["a:resolved"]]), (False, [])):
        pager = Pager(send_resolved=send_resolved)
        a = firing("a")
        pager.at(0, a)
        pager.at(30, a)
        assert pager.at(100, resolved(a)) == []  # changes wait for group_interval
        assert models(pager.at(330, resolved(a))) == expected
        assert pager.at(630, resolved(a)) == []
        assert pager.groups == {}  # nothing fires: the group is over


def test_an_alert_that_resolves_within_group_wait_pages_nobody():
    pager = Pager()
    a = firing("a")
    pager.at(0, a)
    assert pager.at(30, resolved(a)) == []
    assert pager.at(400, resolved(a)) == []


def test_a_partly_resolved_group_lists_what_still_fires_and_what_resolved():
    pager = Pager()
    a, b = firing("a"), firing("b")
    pager.at(0, a, b)
    pager.at(30, a, b)
    assert models(pager.at(330, a, resolved(b))) == [["a:firing", "b:resolved"]]


def test_group_by_labels_split_alerts_into_separate_notifications():
    pager = Pager(replace(ROUTE, group_by=("alertname", "model")))
    a, b = firing("a"), firing("b")
    pager.at(0, a, b)
    out = pager.at(30, a, b)
    assert sorted(o.group_labels["model"] for o in out) == ["a", "b"]
    assert models(out) in ([["a:firing"], ["b:firing"]], [["b:firing"], ["a:firing"]])


def test_a_muted_alert_is_left_out_and_a_wholly_muted_group_sends_nothing():
    pager = Pager()
    a, b = firing("a"), firing("b")
    pager.muted = {"b"}
    pager.at(0, a, b)
    assert models(pager.at(30, a, b)) == [["a:firing"]]
    pager.muted = {"a", "b"}
    assert pager.at(330, a, b) == []


def pending(alert: Alert) -> Alert:
    return replace(alert, state=AlertState.PENDING, fired_at=None, resolved_at=None)


def test_an_alert_resolved_while_silenced_is_notified_resolved_once_the_silence_ends():
    # The demo's lost page: fired and delivered, silenced, resolved under the silence.
    pager = Pager()
    a = firing("a")
    pager.at(0, a)
    assert models(pager.at(30, a)) == [["a:firing"]]
    pager.muted = {"a"}
    assert pager.at(330, a) == []  # silencing sends nothing
    assert pager.at(630, resolved(a)) == []  # nor does a resolution under the silence
    pager.muted = set()
    assert models(pager.at(930, resolved(a))) == [["a:resolved"]]
    assert pager.at(1_230, resolved(a)) == []
    assert pager.groups == {}


def test_a_resolution_just_after_a_silence_ends_is_notified():
    # The silence ended, but the group was not looked at again before the alert resolved.
    pager = Pager()
    a = firing("a")
    pager.at(0, a)
    pager.at(30, a)
    pager.muted = {"a"}
    assert pager.at(330, a) == []
    pager.muted = set()
    assert models(pager.at(630, resolved(a))) == [["a:resolved"]]


def test_an_alert_still_firing_when_its_silence_ends_pages_again():
    pager = Pager()
    a, b = firing("a"), firing("b")
    pager.at(0, a, b)
    assert models(pager.at(30, a, b)) == [["a:firing", "b:firing"]]
    pager.muted = {"a"}
    assert pager.at(330, a, b) == []  # b unchanged, a silenced: nothing to say
    assert pager.at(630, a, b) == []
    pager.muted = set()
    assert models(pager.at(930, a, b)) == [["a:firing", "b:firing"]]
    assert pager.at(1_230, a, b) == []


def test_a_silenced_alert_never_notified_pages_once_its_silence_ends():
    pager = Pager()
    a = firing("a")
    pager.muted = {"a"}
    assert pager.at(0, a) == []
    assert pager.at(30, a) == []
    pager.muted = set()
    assert models(pager.at(330, a)) == [["a:firing"]]


def test_a_notified_alert_that_resolved_and_is_pending_again_is_notified_resolved():
    pager = Pager()
    a = firing("a")
    pager.at(0, a)
    pager.at(30, a)
    assert pager.at(100, resolved(a)) == []
    (out,) = pager.at(330, pending(a))  # resolved, then holding again (for: 2)
    assert models([out]) == [["a:resolved"]]
    assert out.alerts[0].resolved_at == T0 + 330 * SECOND
    assert pager.at(630, pending(a)) == []
    assert pager.groups == {}


def test_without_send_resolved_a_resolution_under_a_silence_leaves_nothing_behind():
    pager = Pager(send_resolved=False)
    a = firing("a")
    pager.at(0, a)
    pager.at(30, a)
    pager.muted = {"a"}
    pager.at(330, a)
    assert pager.at(630, resolved(a)) == []
    pager.muted = set()
    assert pager.at(930, resolved(a)) == []
    assert pager.groups == {}


def test_each_matching_route_keeps_its_own_timing():
    pager_route = Route("pager", {"severity": "warning"}, group_wait=0 * SECOND, continue_=True)
    root = replace(ROUTE, routes=(pager_route, Route("team", group_wait=30 * SECOND)))
    pager = Pager(root)
    a = firing("a")
    assert [o.receiver for o in pager.at(0, a)] == ["pager"]
    assert [o.receiver for o in pager.at(30, a)] == ["team"]


def test_groups_survive_a_round_trip_through_json():
    pager = Pager()
    a = firing("a")
    pager.at(0, a)
    pager.at(30, a)
    (group,) = pager.groups.values()
    assert Group.from_dict(group.to_dict()) == group
