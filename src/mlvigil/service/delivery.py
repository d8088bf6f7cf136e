"""The delivery worker: sends the outbox's notifications, apart from window evaluation.

One lane per receiver: a receiver's due notifications are sent one at a time, oldest
first, on a thread of the worker's own pool, so a receiver that is slow or down holds
up nothing but itself: neither window evaluation (a task of its own in the scheduler)
nor the other receivers. Each attempt is bounded by the receiver's timeouts (5 s to
connect and 10 s for the answer unless it sets its own; see
:class:`~mlvigil.alerts.notifiers.Timeouts`).

A notification being sent is in flight: it is not listed again until its attempt has
ended, so it is never sent twice at once; an attempt that failed or timed out is
retried with exponential backoff from the moment it ended. Every attempt of one
notification carries the same idempotency key, so a receiver can recognise a retry of
a request that timed out on our side but reached it. A notification that a newer one
of its group superseded while it waited is skipped (see :mod:`mlvigil.alerts.outbox`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson

from mlvigil.alerts.notifiers import DeliveryError, Notifier
from mlvigil.alerts.outbox import notification_of
from mlvigil.service.alert_store import AlertStore
from mlvigil.telemetry.prediction_log import RetryPolicy

__all__ = ["DeliveryWorker", "idempotency_key"]

_log = logging.getLogger("mlvigil.service")
#: How long until a notification that cannot succeed (refused, or for a receiver no
#: longer configured) is tried again.
GIVE_UP_DELAY = timedelta(days=1)

Queued = tuple[int, str, Any, int]
"""A due notification: outbox id, receiver, body, attempts so far."""


def idempotency_key(notification_id: int, body: Any) -> str:
    """The key every attempt of one outbox notification carries.

    Its id, and a digest of its body: a store started afresh reuses ids, not bodies.

    Examples
    --------
    >>> idempotency_key(7, {"alerts": []})
    'mlvigil-7-f43c62200c78'
    """
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"mlvigil-{notification_id}-{digest[:12]}"


class DeliveryWorker:
    """Sends due notifications, one lane per receiver.

    Parameters
    ----------
    store
        The store holding the outbox.
    notifiers
        The configured receivers, by name.
    http
        The client every HTTP notifier sends through (safe to share between threads).
    retry
        Backoff between attempts of one notification.
    clock
        The service's clock (attempts are recorded and retries scheduled with it).
    """

    def __init__(
        self,
        store: AlertStore,
        notifiers: Mapping[str, Notifier],
        http: httpx.Client,
        retry: RetryPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.notifiers = dict(notifiers)
        self.http = http
        self.retry = retry
        self.clock = clock
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # A lane per receiver at once, plus one for notifications of removed receivers.
        self._pool = ThreadPoolExecutor(
            max_workers=len(self.notifiers) + 1, thread_name_prefix="mlvigil-delivery"
        )

    def deliver_due(self) -> int:
        """Send every due notification now, receiver after receiver.

        Returns
        -------
        How many were delivered.
        """
        return sum(self.send_lane(receiver, items) for receiver, items in self.due().items())

    def due(self) -> dict[str, list[Queued]]:
        """Due notifications not in flight, by receiver, oldest first."""
        lanes: dict[str, list[Queued]] = {}
        queued = self.store.due_notifications(self.clock())
        with self._lock:
            for item in queued:
                if item[0] not in self._in_flight:
                    lanes.setdefault(item[1], []).append(item)
        return lanes

    def send_lane(self, receiver: str, items: list[Queued]) -> int:
        """Send one receiver's notifications in order; how many it accepted."""
        delivered = 0
        for notification_id, _, body, attempts in items:
            if self._stopping.is_set():
                break
            with self._lock:
                if notification_id in self._in_flight:
                    continue
                self._in_flight.add(notification_id)
            try:
                # Superseded since it was listed (a newer one was queued): never sent.
                if self.store.still_to_send(notification_id):
                    delivered += self._attempt(notification_id, receiver, body, attempts)
            finally:
                with self._lock:
                    self._in_flight.discard(notification_id)
        return delivered

    def _attempt(self, notification_id: int, receiver: str, body: Any, attempts: int) -> int:
        notifier = self.notifiers.get(receiver)
        if notifier is None:  # the receiver was removed from the configuration
            self.store.retry_later(notification_id, self.clock() + GIVE_UP_DELAY, "no receiver")
            return 0
        notification = notification_of(body, idempotency_key(notification_id, body))
        try:
            notifier.send(notification, self.http)
        except DeliveryError as error:
            self._failed(notification_id, receiver, attempts, str(error), error.transient)
            return 0
        except Exception as error:  # a bug must not stop this receiver's lane for good
            _log.exception("sending notification %d to %s failed", notification_id, receiver)
            self._failed(notification_id, receiver, attempts, type(error).__name__, True)
            return 0
        self.store.mark_delivered(notification_id, self.clock())
        return 1

    def _failed(
        self, notification_id: int, receiver: str, attempts: int, reason: str, transient: bool
    ) -> None:
        delay = timedelta(seconds=self.retry.delay(attempts)) if transient else GIVE_UP_DELAY
        self.store.retry_later(notification_id, self.clock() + delay, reason)
        _log.warning("notification to %s failed (attempt %d): %s", receiver, attempts + 1, reason)

    async def run(self, tick: float, before: Callable[[], object] | None = None) -> None:
        """Deliver until cancelled: every ``tick`` seconds, a lane per receiver with work.

        ``before`` runs first at each tick (the service queues the notifications of
        groups whose wait is over). A receiver whose lane is still busy (slow, or
        timing out) gets no second lane; the others go on meanwhile. When cancelled,
        attempts in flight are let finish (each bounded by its timeouts), so their
        outcome is recorded before the store closes.
        """
        loop = asyncio.get_running_loop()
        lanes: dict[str, asyncio.Future[int]] = {}
        self._stopping.clear()
        try:
            while True:
                try:
                    if before is not None:
                        await asyncio.to_thread(before)
                    due = await asyncio.to_thread(self.due)
                    for receiver, items in due.items():
                        running = lanes.get(receiver)
                        if running is None or running.done():
                            lanes[receiver] = loop.run_in_executor(
                                self._pool, self.send_lane, receiver, items
                            )
                    for receiver, lane in list(lanes.items()):
                        if lane.done():
                            del lanes[receiver]
                            if lane.exception() is not None:
                                error = lane.exception()
                                _log.error("delivery to %s failed", receiver, exc_info=error)
                except Exception:  # the store or a receiver's config: retry at the next tick
                    _log.exception("notification delivery failed; retrying at the next tick")
                await asyncio.sleep(tick)
        finally:
            self._stopping.set()
            busy = [lane for lane in lanes.values() if not lane.done()]
            if busy:
                await asyncio.gather(*busy, return_exceptions=True)

    def close(self) -> None:
        """Stop taking notifications; wait for attempts in flight (bounded by timeouts)."""
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
