"""The service's state: the store, references, and window evaluation on a clock.

:class:`MonitoringService` is what the API and the scheduler share. Evaluation is
idempotent per window (results are replaced, the revision counted), and which windows
are done is kept in the store, so a restart resumes where it stopped. The scheduler
evaluates:

- closed windows not evaluated yet (a row-counted window closes when full, or with the
  rows it has once no row arrived for its ``idle`` time);
- evaluated windows that received rows or labels since (the store logs such data in
  the same transaction), whether or not their labels were final: late data gets a new
  revision of the window, and data after final is also counted as late;
- windows whose labels became final (``label_delay`` after the later of the window's
  end and its first evaluation, so a replay or backfill waits for its labels too).

After each window the model's alert rules run on its latest results, so alerts on a
backfilled or re-evaluated window behave as on a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pyarrow as pa

from mlvigil.alerts.grouping import Group, plan_notifications
from mlvigil.alerts.notifiers import Notification
from mlvigil.alerts.outbox import body_of
from mlvigil.alerts.silences import Silence, muted
from mlvigil.alerts.state import Alert, AlertState
from mlvigil.exceptions import InputError
from mlvigil.profile import DatasetProfile
from mlvigil.service.admission import Admission
from mlvigil.service.alert_run import AlertRun, noteworthy
from mlvigil.service.config import ModelConfig, ServiceConfig
from mlvigil.service.delivery import DeliveryWorker
from mlvigil.service.evaluation import Evaluation
from mlvigil.service.evaluation_pool import EvaluationPool
from mlvigil.service.lookup_errors import (
    ModelElsewhereError,
    UnknownModelError,
    UnknownReceiverError,
    UnknownSilenceError,
)
from mlvigil.service.reference import (
    Reference,
    build_reference,
    file_identity,
    file_references,
)
from mlvigil.service.schedule import (
    MAX_WINDOWS_PER_REQUEST,
    due_windows,
    windows_between,
)
from mlvigil.service.slos import SLOBook, slo_results
from mlvigil.service.store import LABEL_COLUMN, Pruned, Store
from mlvigil.service.window_pass import WindowPass, evaluate_here
from mlvigil.service.window_writes import PendingWindows
from mlvigil.slo.budget import BudgetStatus
from mlvigil.telemetry.prediction_log import RetryPolicy

_log = logging.getLogger("mlvigil.service")

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MonitoringService:
    """Models, store and evaluation of one running service.

    Parameters
    ----------
    config
        The validated configuration.
    clock
        Current time; the system clock by default (the demo compresses time with it).
    """

    def __init__(
        self,
        config: ServiceConfig,
        *,
        clock: Clock = _utc_now,
        http: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self._own_http = http is None
        self._http = httpx.Client(timeout=10.0) if http is None else http
        self.retry = retry or RetryPolicy(initial=1.0, multiplier=2.0, maximum=300.0)
        self.store = Store(
            config.store,
            config.models,
            clock=clock,
            memory_limit_bytes=config.limits.store_memory_bytes,
        )
        self.delivery = DeliveryWorker(self.store, config.notifiers, self._http, self.retry, clock)
        self._references: dict[str, Reference | None] = file_references(
            config.models, config.source
        )
        #: The reference files as learned from (workers check they are unchanged).
        self.reference_files = {
            name: None if model.reference_path is None else file_identity(model.reference_path)
            for name, model in config.models.items()
        }
        self._evaluating = threading.Lock()
        self.stopping = threading.Event()
        """Set on shutdown: a pass in progress stops after its current window."""
        self._slos = SLOBook(config.slos)
        self._workers: EvaluationPool | None = None
        self.ready = True

    def stop_evaluating(self) -> None:
        """Have a scheduler pass in progress stop after its current window (on shutdown)."""
        self.stopping.set()

    def close(self) -> None:
        """Stop the evaluation workers and close the store (checkpointing it)."""
        self.ready = False
        if self._workers is not None:
            self._workers.close()
        self.delivery.close()
        if self._own_http:
            self._http.close()
        self.store.close()

    def model(self, name: str) -> ModelConfig:
        """The configuration of model ``name``.

        Raises
        ------
        UnknownModelError
            When no such model is configured.
        """
        try:
            return self.config.models[name]
        except KeyError:
            sharding = self.config.sharding
            instance = None if sharding is None else sharding.instance_of(name)
            if instance is not None:
                raise ModelElsewhereError(name, instance) from None
            raise UnknownModelError(name, sorted(self.config.models)) from None

    # -- evaluation --------------------------------------------------------------

    def evaluate(self, name: str, start: datetime, end: datetime) -> list[Evaluation]:
        """Evaluate every window of ``name`` overlapping ``[start, end)`` now.

        Time windows are evaluated whether or not they have closed; row-counted windows
        once they hold their rows.
        """
        config = self.model(name)
        if end <= start:
            raise InputError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
        with self._evaluating:
            bounds = list(windows_between(self.store, config, start, end))
            if len(bounds) > MAX_WINDOWS_PER_REQUEST:
                raise InputError(
                    f"{start.isoformat()} to {end.isoformat()} spans more than "
                    f"{MAX_WINDOWS_PER_REQUEST} windows; evaluate fewer at a time"
                )
            known = {w.start: w for w in self.store.windows(name)}
            evaluations, alerts = [], self._alerts()
            for a, b in bounds:
                evaluation = evaluate_here(self, config, a, b, known.get(a))
                self.store.save_window(
                    name, evaluation.window, evaluation.profile, evaluation.results
                )
                alerts.step(self.config.rules, self.store, name, evaluation, self.clock())
                evaluations.append(evaluation)
            self._step_slo_alerts(alerts)
            self._save_alerts(alerts, self.clock())
            return evaluations

    def no_windows_reason(self, name: str, start: datetime, end: datetime) -> str:
        """Why :meth:`evaluate` found no window of ``name`` in ``[start, end)``."""
        span = self.store.data_range(name)
        if span is None:
            return f"model {name!r} has no predictions yet"
        return (
            f"no predictions of model {name!r} between {start.isoformat()} and "
            f"{end.isoformat()}; its predictions run from {span[0].isoformat()} to "
            f"{span[1].isoformat()}"
        )

    def evaluate_due(self) -> int:
        """Evaluate closed windows not yet evaluated, and windows whose labels matured.

        At most :data:`~mlvigil.service.schedule.MAX_WINDOWS_PER_PASS` windows per model
        (a catch-up goes on at the next pass). A model whose pass fails is logged and
        skipped until the next pass; the other models are evaluated.

        Returns
        -------
        How many windows were evaluated.
        """
        now = self.clock()
        done = 0
        with self._evaluating, self.store.pass_reads():
            alerts, pending = self._alerts(), PendingWindows(self.store)
            run = WindowPass(self, alerts, pending, self._pool())
            for config in self.config.models.values():
                try:
                    done += self._evaluate_model_due(config, now, run)
                except Exception:  # one model's failure must not stop the others
                    _log.exception(
                        "evaluating model %r failed; its windows wait for the next pass",
                        config.name,
                    )
            run.drain()
            pending.flush()  # before the alert states that were stepped on these windows
            self._step_slo_alerts(alerts)
            self._save_alerts(alerts, self.clock())
        return done

    def slo_statuses(self) -> list[BudgetStatus]:
        """Where each model SLO stands now: error ratios, burn rates, budget left."""
        return self._slos.statuses(self.store, self.clock())

    def _step_slo_alerts(self, alerts: AlertRun) -> None:
        """Move the SLO burn-rate alerts; a failure is logged and retried next pass."""
        if not self._slos.slos and not any(a.labels.get("slo") for a in alerts.states.values()):
            return
        try:
            now = self.clock()
            alerts.step_slos(self.config.rules, slo_results(self.slo_statuses(), now), now)
        except Exception:
            _log.exception("evaluating the SLOs failed; retrying at the next pass")

    def _evaluate_model_due(self, config: ModelConfig, now: datetime, run: WindowPass) -> int:
        """One model's part of a pass: its due windows, oldest first, up to the budget.

        They are evaluated, saved and alerted on by ``run`` (see
        :mod:`mlvigil.service.window_pass`).
        """
        changes = self.store.changes(config.name)
        since = Admission.around(
            now, accept=self.config.accept, limits=self.config.limits, retention=config.retention
        ).earliest
        due = due_windows(
            self.store, config, now, lateness=self.config.lateness, changes=changes, since=since
        )
        return run.model(config, due, changes[-1].id if changes else None)

    def _pool(self) -> EvaluationPool | None:
        """The worker processes (``evaluation_workers``), started at the first pass."""
        if self._workers is None and self.config.evaluation_workers:
            self._workers = EvaluationPool(self.config.evaluation_workers)
        return self._workers

    def prune(self) -> Pruned:
        """Delete what is older than its retention (``retention``, and each model's own).

        Once per scheduler pass; never a window whose labels are not final yet, nor an
        undelivered notification (see :mod:`mlvigil.service.pruning`). A failure is
        logged, not raised: evaluation and delivery go on, and the next pass retries.
        """
        try:
            with self._evaluating:  # no window is saved while its rows are pruned
                pruned = self.store.prune(self.clock(), self.config.retention)
        except Exception:
            _log.exception("retention pruning failed; retrying at the next pass")
            return Pruned()
        if pruned.total:
            _log.info("retention pruned old rows", extra=asdict(pruned))
        return pruned

    def _alerts(self) -> AlertRun:
        """The alert states as saved, to advance window by window and save once."""
        saved = (Alert.from_dict(data) for data in self.store.alert_states().values())
        return AlertRun(noteworthy({alert.key: alert for alert in saved}))

    def _save_alerts(self, run: AlertRun, now: datetime) -> None:
        """Save the states and transitions of a run, and plan their notifications.

        Once per pass, not per window: a backfill of many windows writes once.
        """
        if not run.stepped:
            return
        self._notify(
            now,
            run.states.values(),
            states={_key_text(key): alert.to_dict() for key, alert in run.states.items()},
            events=[
                (_key_text(t.alert.key), t.kind.value, t.alert.to_dict()) for t in run.transitions
            ],
        )
        for transition in run.transitions:
            _log.warning(
                "alert %s",
                transition.kind.value,
                extra={"alert": dict(transition.alert.labels), **transition.alert.annotations},
            )

    def flush_groups(self, *, wait: bool = True) -> None:
        """Queue the notifications of alert groups whose wait or interval is over.

        With ``wait=False`` (the delivery worker), skip it while windows are being
        evaluated: the pass queues its own notifications when it ends.
        """
        if self.config.route is None:
            return  # no receivers: nothing to queue, and no store reads every tick
        if not self._evaluating.acquire(blocking=wait):
            return
        try:
            alerts = [Alert.from_dict(data) for data in self.store.alert_states().values()]
            self._notify(self.clock(), alerts)
        finally:
            self._evaluating.release()

    def _notify(
        self,
        now: datetime,
        alerts: Iterable[Alert],
        *,
        states: dict[str, dict[str, Any]] | None = None,
        events: list[tuple[str, str, dict[str, Any]]] | None = None,
    ) -> None:
        """Plan group notifications; save them with the groups (and states, events)."""
        alerts = list(alerts)
        saved_groups = self.store.alert_groups()
        groups: dict[str, Group] = {}
        notifications = []
        if self.config.route is not None:
            silences = self.silences()
            firing = [a.labels for a in alerts if a.state is AlertState.FIRING]
            inhibit_rules = self.config.inhibit_rules

            def audible(alert: Alert) -> bool:
                return not muted(alert.labels, silences, now) and not any(
                    rule.inhibits(alert.labels, firing) for rule in inhibit_rules
                )

            previous = {k: Group.from_dict(v) for k, v in saved_groups.items()}
            groups, outgoing = plan_notifications(
                self.config.route,
                alerts,
                previous,
                now,
                audible=audible,
                send_resolved=self.config.send_resolved.__contains__,
            )
            external_url = self.config.external_url
            notifications = [(out.receiver, body_of(out, external_url)) for out in outgoing]
        group_states = {group_id: group.to_dict() for group_id, group in groups.items()}
        if states is None and not notifications and group_states == saved_groups:
            return  # nothing changed: spare the store a write every tick
        self.store.save_alerts(states, events or [], notifications, group_states, now=now)

    def deliver_due(self) -> int:
        """Queue due group notifications, then send what is due; failures retry with backoff.

        Receiver after receiver, in this thread; the scheduler delivers in a worker of
        its own instead (:mod:`mlvigil.service.delivery`).

        Returns
        -------
        How many were delivered.
        """
        self.flush_groups()
        return self.delivery.deliver_due()

    def send_test(self, receiver: str) -> None:
        """Send a test notification to ``receiver`` now, bypassing rules and the outbox.

        Raises
        ------
        UnknownReceiverError
            When no receiver has that name.
        DeliveryError
            When the receiver does not accept it.
        """
        notifier = self.config.notifiers.get(receiver)
        if notifier is None:
            raise UnknownReceiverError(receiver, sorted(self.config.notifiers))
        now = self.clock()
        alert = Alert(
            {"alertname": "mlvigil_test", "model": "test", "severity": "info"},
            AlertState.FIRING,
            None,
            now,
            now,
            1,
            now,
            None,
            {"summary": "Test notification from mlvigil: this receiver is reachable."},
        )
        test = Notification(receiver, [alert], {}, self.config.external_url, f"test-{uuid4().hex}")
        notifier.send(test, self._http)

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts pending or firing now, each saying whether a silence mutes it."""
        active = (AlertState.PENDING.value, AlertState.FIRING.value)
        now, silences = self.clock(), self.silences()
        return [
            {**alert, "silenced": muted(alert["labels"], silences, now)}
            for alert in self.store.alert_states().values()
            if alert["state"] in active
        ]

    def silences(self) -> list[Silence]:
        """Every silence, active or not."""
        return [Silence.from_dict(data) for data in self.store.silences()]

    def add_silence(
        self,
        matchers: dict[str, str],
        *,
        duration: timedelta,
        created_by: str,
        comment: str,
        starts_at: datetime | None = None,
    ) -> Silence:
        """Create a silence starting now (or at ``starts_at``) for ``duration``."""
        start = starts_at or self.clock()
        try:
            end = start + duration
        except OverflowError:
            raise InputError(f"a silence of {duration} ends after the year 9999") from None
        silence = Silence.create(matchers, start, end, created_by, comment)
        self.store.save_silence(silence.to_dict())
        return silence

    def expire_silence(self, silence_id: str) -> Silence:
        """End a silence now.

        Raises
        ------
        InputError
            When there is no silence with that id.
        """
        for silence in self.silences():
            if silence.id == silence_id:
                expired = replace(silence, expired_at=self.clock())
                self.store.save_silence(expired.to_dict())
                return expired
        raise UnknownSilenceError(silence_id)

    def window_profile(self, name: str, start: datetime) -> DatasetProfile | None:
        """The profile of the window of model ``name`` starting at ``start``, if it has one."""
        blob = self.store.profile(name, start)
        return None if blob is None else DatasetProfile.deserialize(blob)

    def reference(self, name: str) -> Reference | None:
        """The reference of model ``name``: its file, or its first windows' rows."""
        config = self.model(name)
        reference = self._references.get(config.name)
        if reference is None and config.reference_windows:
            reference = self._reference_from_windows(config, config.reference_windows)
            self._references[config.name] = reference
        return reference

    def _reference_from_windows(self, config: ModelConfig, count: int) -> Reference | None:
        """The rows of the model's first ``count`` windows with rows, once evaluated."""
        windows = [w for w in self.store.windows(config.name) if w.rows][:count]
        if len(windows) < count:
            return None
        parts = [self.store.window_table(config.name, w.start, w.end) for w in windows]
        table = pa.concat_tables(parts)
        schema = config.schema
        wanted = [c for c in (*config.column_types, schema.timestamp) if c in table.column_names]
        columns = {c: table.column(c) for c in wanted}  # the timestamp, to learn per period
        columns[schema.target] = table.column(LABEL_COLUMN)
        where = f"model {config.name!r}: reference (its first {count} windows)"
        return build_reference(config, pa.table(columns), where=where)

    async def run_scheduler(self, tick: float = 1.0) -> None:
        """Evaluate due windows, and deliver notifications in a worker of their own.

        Windows are evaluated every ``evaluation_interval``. The delivery worker queues
        and sends notifications every ``tick`` seconds, since group waits and retries
        fall due between evaluations, one lane per receiver: a slow receiver delays
        neither evaluation nor the other receivers. Both run until cancelled.
        """
        delivery = asyncio.create_task(
            self.delivery.run(tick, before=lambda: self.flush_groups(wait=False))
        )
        try:
            await self._evaluation_loop(tick)
        finally:
            delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivery

    async def _evaluation_loop(self, tick: float) -> None:
        interval = self.config.evaluation_interval.total_seconds()
        next_evaluation = time.monotonic()
        while True:
            try:
                if time.monotonic() >= next_evaluation:
                    next_evaluation = time.monotonic() + interval
                    try:
                        await asyncio.to_thread(self.evaluate_due)
                    finally:  # retention goes on even when an evaluation fails
                        await asyncio.to_thread(self.prune)
            except Exception:  # one bad window must not stop the scheduler for good
                _log.exception("scheduled evaluation failed; retrying at the next tick")
            await asyncio.sleep(min(tick, interval))


def _key_text(key: tuple[tuple[str, str], ...]) -> str:
    return "|".join(f"{name}={value}" for name, value in key)
