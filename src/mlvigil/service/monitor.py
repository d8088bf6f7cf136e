"""The service's state: the store, reference profiles, and window evaluation on a clock.

:class:`MonitoringService` is what the API and the scheduler share. Evaluation is
idempotent per window (results are replaced), and which windows are done is kept in the
store, so a restart resumes where it stopped: closed windows not yet evaluated are
evaluated, evaluated ones are not redone (except once more when their labels mature).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyarrow as pa

from mlvigil.alerts.grouping import Group, plan_notifications
from mlvigil.alerts.notifiers import DeliveryError, Notification
from mlvigil.alerts.silences import Silence, muted
from mlvigil.alerts.state import Alert, AlertState, Transition, alert_key, evaluate_rules
from mlvigil.exceptions import ConfigError, InputError
from mlvigil.profile import DatasetProfile, profile_table
from mlvigil.service.config import ModelConfig, ServiceConfig
from mlvigil.service.evaluation import Evaluation, evaluate_window, window_bounds
from mlvigil.service.store import Store
from mlvigil.telemetry.prediction_log import RetryPolicy

_log = logging.getLogger("mlvigil.service")

Clock = Callable[[], datetime]

#: Most windows one evaluate request may cover (a backfill goes in several requests).
MAX_WINDOWS_PER_REQUEST = 1_000


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
        self.store = Store(config.store, config.models)
        self._references: dict[str, DatasetProfile | None] = {
            name: _file_reference(model) for name, model in config.models.items()
        }
        self._evaluating = threading.Lock()
        self.ready = True

    def close(self) -> None:
        """Close the store (checkpointing it)."""
        self.ready = False
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
            bounds = list(self._windows_between(config, start, end))
            if len(bounds) > MAX_WINDOWS_PER_REQUEST:
                raise InputError(
                    f"{start.isoformat()} to {end.isoformat()} spans more than "
                    f"{MAX_WINDOWS_PER_REQUEST} windows; evaluate fewer at a time"
                )
            evaluations = [self._evaluate_one(config, a, b) for a, b in bounds]
            if evaluations:
                self._evaluate_alerts(self.clock())
            return evaluations

    def _windows_between(
        self, config: ModelConfig, start: datetime, end: datetime
    ) -> Iterator[tuple[datetime, datetime]]:
        if config.window is None:
            far_future = datetime.max.replace(tzinfo=UTC)
            for a, b in self._closed_windows(config, far_future, lateness=timedelta(0)):
                if a < end and b > start:
                    yield a, b
            return
        try:
            window_start, _ = window_bounds(start, config.window)
            _, last = window_bounds(end, config.window)
        except OverflowError:
            raise InputError("start and end must be between years 1 and 9999") from None
        if (last - window_start) // config.window > MAX_WINDOWS_PER_REQUEST:
            raise InputError(
                f"{start.isoformat()} to {end.isoformat()} spans more than "
                f"{MAX_WINDOWS_PER_REQUEST} windows of {config.window}; evaluate fewer at a time"
            )
        while window_start < end:
            yield window_start, window_start + config.window
            window_start += config.window

    def evaluate_due(self) -> int:
        """Evaluate closed windows not yet evaluated, and windows whose labels matured.

        Returns
        -------
        How many windows were evaluated.
        """
        now = self.clock()
        done = 0
        with self._evaluating:
            for config in self.config.models.values():
                evaluated = {w.start: w for w in self.store.windows(config.name)}
                closed = self._closed_windows(config, now, lateness=self.config.lateness)
                for start, end in list(closed):
                    known = evaluated.get(start)
                    matured = now >= end + config.label_delay
                    if known is None or (matured and not known.labels_final):
                        self._evaluate_one(config, start, end)
                        done += 1
                if config.retention is not None:
                    self.store.delete_before(config.name, now - config.retention)
            if done:
                self._evaluate_alerts(now)
        return done

    def _evaluate_alerts(self, now: datetime) -> list[Transition]:
        """Run the alert rules on every model's latest results; persist the outcome."""
        previous = {
            alert_key(data["labels"]): Alert.from_dict(data)
            for data in self.store.alert_states().values()
        }
        states, transitions = evaluate_rules(
            self.config.rules, self.store.latest_results(), previous, now
        )
        self._notify(
            now,
            states.values(),
            states={_key_text(key): alert.to_dict() for key, alert in states.items()},
            events=[(_key_text(t.alert.key), t.kind.value, t.alert.to_dict()) for t in transitions],
        )
        for transition in transitions:
            _log.warning(
                "alert %s",
                transition.kind.value,
                extra={"alert": dict(transition.alert.labels), **transition.alert.annotations},
            )
        return transitions

    def flush_groups(self) -> None:
        """Queue the notifications of alert groups whose wait or interval is over."""
        if self.config.route is None:
            return  # no receivers: nothing to queue, and no store reads every tick
        with self._evaluating:
            alerts = [Alert.from_dict(data) for data in self.store.alert_states().values()]
            self._notify(self.clock(), alerts)

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
            notifications = [
                (
                    out.receiver,
                    {
                        "receiver": out.receiver,
                        "group_labels": out.group_labels,
                        "external_url": self.config.external_url,
                        "alerts": [a.to_dict() for a in out.alerts],
                    },
                )
                for out in outgoing
            ]
        group_states = {group_id: group.to_dict() for group_id, group in groups.items()}
        if states is None and not notifications and group_states == saved_groups:
            return  # nothing changed: spare the store a write every tick
        self.store.save_alerts(states, events or [], notifications, group_states, now=now)

    def deliver_due(self) -> int:
        """Queue due group notifications, then send what is due; failures retry with backoff.

        Returns
        -------
        How many were delivered.
        """
        self.flush_groups()
        now = self.clock()
        delivered = 0
        for notification_id, receiver, body, attempts in self.store.due_notifications(now):
            notifier = self.config.notifiers.get(receiver)
            if notifier is None:  # the receiver was removed from the configuration
                self.store.retry_later(notification_id, now + timedelta(days=1), "no receiver")
                continue
            notification = Notification(
                receiver,
                [Alert.from_dict(a) for a in body["alerts"]],
                body["group_labels"],
                body["external_url"],
            )
            try:
                notifier.send(notification, self._http)
            except DeliveryError as error:
                delay = self.retry.delay(attempts) if error.transient else 86_400.0
                self.store.retry_later(notification_id, now + timedelta(seconds=delay), str(error))
                _log.warning(
                    "notification to %s failed (attempt %d): %s", receiver, attempts + 1, error
                )
                continue
            self.store.mark_delivered(notification_id, now)
            delivered += 1
        return delivered

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
        notifier.send(Notification(receiver, [alert], {}, self.config.external_url), self._http)

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

    def _closed_windows(
        self, config: ModelConfig, now: datetime, *, lateness: timedelta
    ) -> Iterator[tuple[datetime, datetime]]:
        """Every window from the model's first prediction that has closed by ``now``."""
        span = self.store.data_range(config.name)
        if span is None:
            return
        if config.window is not None:
            window_start, _ = window_bounds(span[0], config.window)
            while window_start + config.window + lateness <= now:
                yield window_start, window_start + config.window
                window_start += config.window
            return
        assert config.window_rows is not None
        known = self.store.windows(config.name)
        yield from ((w.start, w.end) for w in known)
        window_start = known[-1].end if known else span[0]
        while True:
            end = self.store.row_boundary(config.name, window_start, config.window_rows)
            if end is None or end + lateness > now:
                return
            yield window_start, end
            window_start = end

    def _evaluate_one(self, config: ModelConfig, start: datetime, end: datetime) -> Evaluation:
        evaluation = evaluate_window(
            config, self.store, start, end, reference=self.reference(config.name), now=self.clock()
        )
        self.store.save_window(
            config.name, evaluation.window, evaluation.profile, evaluation.results
        )
        _log.info(
            "window evaluated",
            extra={
                "model": config.name,
                "window_start": start.isoformat(),
                "rows": evaluation.window.rows,
                "failed": sum(1 for r in evaluation.results if not r.passed),
            },
        )
        return evaluation

    def reference(self, name: str) -> DatasetProfile | None:
        """The reference profile of model ``name``: its file, or its first windows merged."""
        config = self.model(name)
        reference = self._references.get(config.name)
        if reference is None and config.reference_windows:
            reference = self._reference_from_windows(config, config.reference_windows)
            self._references[config.name] = reference
        return reference

    def _reference_from_windows(self, config: ModelConfig, count: int) -> DatasetProfile | None:
        profiles = []
        for window in self.store.windows(config.name):
            profile = self.window_profile(config.name, window.start) if window.rows else None
            if profile is not None:
                profiles.append(profile)
            if len(profiles) == count:
                merged = profiles[0]
                for other in profiles[1:]:
                    merged = merged.merge(other)
                return merged
        return None

    async def run_scheduler(self, tick: float = 1.0) -> None:
        """Evaluate due windows and deliver notifications, until cancelled.

        Windows are evaluated every ``evaluation_interval``; notifications are queued
        and sent every ``tick`` seconds, since group waits and retries fall due between
        evaluations.
        """
        interval = self.config.evaluation_interval.total_seconds()
        next_evaluation = time.monotonic()
        while True:
            try:
                if time.monotonic() >= next_evaluation:
                    next_evaluation = time.monotonic() + interval
                    await asyncio.to_thread(self.evaluate_due)
                await asyncio.to_thread(self.deliver_due)
            except Exception:  # one bad window must not stop the scheduler for good
                _log.exception("scheduled evaluation failed; retrying at the next tick")
            await asyncio.sleep(min(tick, interval))


class UnknownReceiverError(InputError):
    """No receiver has the given name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no receiver {name!r}; receivers: {', '.join(known) or 'none'}")


class UnknownSilenceError(InputError):
    """No silence has the given id."""

    def __init__(self, silence_id: str) -> None:
        super().__init__(f"no silence with id {silence_id!r}; `mlvigil silence list` shows them")


class UnknownModelError(InputError):
    """A request named a model the configuration does not declare."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown model {name!r}; configured models: {', '.join(known)}")


def _file_reference(config: ModelConfig) -> DatasetProfile | None:
    if config.reference_path is None:
        return None
    from mlvigil.io.tables import open_table

    source = open_table(config.reference_path)
    wanted = (*config.column_types, config.schema.target)
    keep = [c for c in wanted if c in source.column_names]
    if not keep:
        raise ConfigError(
            f"model {config.name!r}: reference {config.reference_path} has none of the "
            f"monitored columns {list(wanted)}"
        )
    return profile_table(pa.table({c: source.column(c) for c in keep}))


def _key_text(key: tuple[tuple[str, str], ...]) -> str:
    return "|".join(f"{name}={value}" for name, value in key)
