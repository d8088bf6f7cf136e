"""Which results drive a model's alerts after each window evaluation.

A model's alerts are judged on three parts of its results, each from its own window:

- *data*: the data-quality, drift and serving results of the newest window with rows,
  or of a window whose rows just changed (first evaluated, backfilled, or late rows);
- *performance*: the performance results of the newest window whose labels are final,
  or of a final window whose rows or labels just changed;
- *gap*: the results of the newest window when it has no rows (the ``row_count`` of 0
  that the built-in ``no_data`` rule watches), else nothing.

An evaluation drives only the parts it changes: the alerts of those parts' results,
before and after, move; the others keep their state. So an empty window fires or
resolves ``no_data`` and nothing else (a quality alert is not resolved by a window in
which nothing was seen), a backfilled or late-data window alerts like a fresh one, and
a window evaluated again only because its labels matured does not replay its old
data-quality results over newer ones. A window whose evaluation failed changes no part:
only its ``error`` result moves the alert watching it (``check_error``). Alerts no part
speaks for any more (their result disappeared, their rule was removed) move with the
next data or performance change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mlvigil.alerts.rules import AlertRule
from mlvigil.alerts.state import (
    Alert,
    AlertKey,
    AlertState,
    Transition,
    alert_keys,
    evaluate_rules,
)
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus
from mlvigil.service.evaluation import Evaluation
from mlvigil.service.store import Store, WindowRecord

__all__ = ["AlertRun", "ModelResults", "Taken", "noteworthy"]


@dataclass
class ModelResults:
    """The results a model's alerts are judged on, in three parts (see the module)."""

    data: list[CheckResult] = field(default_factory=list)
    data_start: datetime | None = None
    """Start of the newest window with rows."""
    performance: list[CheckResult] = field(default_factory=list)
    final_start: datetime | None = None
    """Start of the newest window with rows whose labels are final."""
    gap: list[CheckResult] = field(default_factory=list)
    newest: datetime | None = None
    """Start of the newest evaluated window."""

    @classmethod
    def load(cls, store: Store, model: str) -> ModelResults:
        """The parts as the store has them (at the start of a pass, or after a restart)."""
        windows = store.windows(model)
        with_rows = [w for w in windows if w.rows]
        loaded = cls()
        if with_rows:
            loaded.data_start = with_rows[-1].start
            rows = _last_evaluated(store, model, with_rows)
            loaded.data = [r for r in rows if r.check is not CheckKind.PERFORMANCE]
        finals = [w for w in with_rows if w.labels_final]
        if finals:
            loaded.final_start = finals[-1].start
            rows = _last_evaluated(store, model, finals)
            loaded.performance = [r for r in rows if r.check is CheckKind.PERFORMANCE]
        if windows:
            w = windows[-1]
            loaded.newest = w.start
            if not w.rows:
                loaded.gap = store.results(model, start=w.start, end=w.end)
        return loaded

    def take(self, evaluation: Evaluation) -> Taken | None:
        """Take in a window just evaluated: what it changed, ``None`` when nothing."""
        window, before = evaluation.window, evaluation.previous
        if window.rows and evaluation.profile is None:
            # Its evaluation failed (a window with rows always has a profile): nothing
            # was seen of its data, so only its error result speaks (``check_error``).
            return Taken(list(evaluation.results), [], None)
        rows_changed = before is None or before.rows != window.rows
        driving: list[CheckResult] = []
        replaced: list[CheckResult] = []
        changed = orphans = False  # orphans: alerts no part speaks for any more may move
        if window.rows:
            if rows_changed or _newest(window.start, self.data_start):
                replaced += self.data
                self.data = [r for r in evaluation.results if r.check is not CheckKind.PERFORMANCE]
                self.data_start = _later(window.start, self.data_start)
                driving += self.data
                changed = orphans = True
            labels_changed = (
                before is None or before.labelled != window.labelled or not before.labels_final
            )
            if window.labels_final and (
                rows_changed or labels_changed or _newest(window.start, self.final_start)
            ):
                replaced += self.performance
                self.performance = [
                    r for r in evaluation.results if r.check is CheckKind.PERFORMANCE
                ]
                self.final_start = _later(window.start, self.final_start)
                driving += self.performance
                changed = orphans = True
        if _newest(window.start, self.newest):
            self.newest = window.start
            replaced += self.gap
            self.gap = [] if window.rows else list(evaluation.results)
            driving += self.gap
            changed = True
        if not changed:
            return None
        current = [*self.data, *self.performance, *self.gap] if orphans else None
        return Taken(driving, replaced, current)


@dataclass(frozen=True)
class Taken:
    """What one evaluation changed of a model's results."""

    driving: list[CheckResult]
    """The new results of the parts it changed: they drive alerts now."""
    replaced: list[CheckResult]
    """Those parts' results before: their alerts move too (to resolve)."""
    current: list[CheckResult] | None
    """With data or performance changed, every part's results now: alerts none of them
    speaks for (their result disappeared, their rule was removed) move too."""

    def scope(
        self, rules: Sequence[AlertRule], alerts: Iterable[AlertKey], driven: set[AlertKey]
    ) -> set[AlertKey]:
        """Which of ``alerts`` this change may move (``driven``: the driving results' keys)."""
        keys = driven | alert_keys(rules, self.replaced)
        if self.current is not None:
            spoken_for = alert_keys(rules, self.current)
            keys |= {key for key in alerts if key not in spoken_for}
        return keys


def _last_evaluated(
    store: Store, model: str, windows: Sequence[WindowRecord], *, back: int = 10
) -> list[CheckResult]:
    """The results of the newest of ``windows`` whose evaluation did not fail.

    A failed evaluation is stored as error results only (the window's earlier ones are
    gone); alerts are judged on the window before it, looking ``back`` windows at most.
    """
    for window in reversed(windows[-back:]):
        rows = store.results(model, start=window.start, end=window.end)
        if not rows or any(r.status is not CheckStatus.ERROR for r in rows):
            return rows
    return []


def noteworthy(states: dict[AlertKey, Alert]) -> dict[AlertKey, Alert]:
    """The alerts of ``states`` that are not inactive (pending, firing or resolved)."""
    return {key: alert for key, alert in states.items() if alert.state is not AlertState.INACTIVE}


def _newest(start: datetime, newest: datetime | None) -> bool:
    return newest is None or start >= newest


def _later(start: datetime, other: datetime | None) -> datetime:
    return start if other is None else max(start, other)


def _seen_later(alert: Alert, start: datetime) -> bool:
    return alert.window is not None and datetime.fromisoformat(alert.window) > start


@dataclass
class AlertRun:
    """Alert states being advanced over a pass of evaluations, saved at its end."""

    states: dict[AlertKey, Alert]
    transitions: list[Transition] = field(default_factory=list)
    stepped: bool = False
    results: dict[str, ModelResults] = field(default_factory=dict)
    _by_model: dict[str | None, set[AlertKey]] | None = field(default=None, repr=False)

    def _keys_of(self, model: str) -> set[AlertKey]:
        """The keys of ``model``'s alerts: indexed once, since a pass steps every model."""
        if self._by_model is None:
            self._by_model = {}
            for key, alert in self.states.items():
                self._by_model.setdefault(alert.labels.get("model"), set()).add(key)
        return self._by_model.setdefault(model, set())

    def _replace(self, previous: Iterable[AlertKey], states: dict[AlertKey, Alert]) -> None:
        """Put ``states`` in place of the alerts ``previous`` (in place: no copy per window).

        Inactive alerts are not kept: one is what a missing alert steps like, and
        thousands of models have an inactive alert for nearly every result.
        """
        states = noteworthy(states)
        for key in previous:
            alert = self.states.pop(key)
            if self._by_model is not None:
                self._by_model.get(alert.labels.get("model"), set()).discard(key)
        self.states.update(states)
        if self._by_model is not None:
            for key, alert in states.items():
                self._by_model.setdefault(alert.labels.get("model"), set()).add(key)

    def model_results(self, store: Store, model: str) -> ModelResults:
        """``model``'s results as its alerts last saw them: read once per pass.

        Read before the pass evaluates the model's first window, so a first evaluation
        reads nothing, and an evaluation replaces what its alerts saw before it.
        """
        results = self.results.get(model)
        if results is None:
            results = self.results[model] = ModelResults.load(store, model)
        return results

    def forget_results(self, model: str) -> None:
        """Drop ``model``'s results once the pass is done with it.

        A pass over thousands of models would otherwise hold them all until it ends.
        """
        self.results.pop(model, None)

    def step(
        self,
        rules: Sequence[AlertRule],
        store: Store,
        model: str,
        evaluation: Evaluation,
        now: datetime,
    ) -> None:
        """Advance ``model``'s alerts after one of its windows was evaluated.

        Only the alerts of the parts the window changed move (see the module), and of
        those, an alert last seen on a newer window moves only on a result of its own
        (a backfilled window without it says nothing about it). Each model's results
        are read from the store once per pass, then kept up to date from the
        evaluations, so a backfill of many windows does not read them back.
        """
        taken = self.model_results(store, model).take(evaluation)
        if taken is None:
            return
        own = self._keys_of(model)
        speaks_for = alert_keys(rules, taken.driving)
        start = evaluation.window.start
        previous = {
            key: self.states[key]
            for key in taken.scope(rules, own, speaks_for) & own
            # An older window without a result for an alert says nothing about it.
            if key in speaks_for or not _seen_later(self.states[key], start)
        }
        states, transitions = evaluate_rules(rules, taken.driving, previous, now)
        self._replace(previous, states)
        self.transitions.extend(transitions)
        self.stepped = True

    def step_slos(
        self, rules: Sequence[AlertRule], results: Sequence[CheckResult], now: datetime
    ) -> None:
        """Advance the SLO burn-rate alerts on this pass's SLO results.

        Every SLO alert moves (one whose SLO is gone resolves); the states are saved only
        when one changed, not on every pass.
        """
        previous = {
            key: alert for key, alert in self.states.items() if alert.labels.get("slo") is not None
        }
        states, transitions = evaluate_rules(rules, results, previous, now)
        changed = transitions or {k: a.state for k, a in noteworthy(states).items()} != {
            k: a.state for k, a in previous.items()
        }
        self._replace(previous, states)
        self.transitions.extend(transitions)
        self.stepped = self.stepped or bool(changed)
