"""The prediction logger's own Prometheus metrics: sent, dropped, failed sends, queue size.

Loggers that report to one registry share its collectors; the queue-size gauge is read
at scrape time as the sum of the queues of every live logger reporting to it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sized
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

from mlvigil.telemetry._registry import shared_collector


class Queued(Protocol):
    """What the queue-size gauge reads of a logger: its queue (queued or in flight)."""

    @property
    def _queue(self) -> Sized: ...


class LogMetrics:
    """The collectors of one registry (the global one when ``registry`` is None)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.sent = shared_collector(
            Counter,
            "mlvigil_prediction_log_sent",
            "Records acknowledged by the prediction log's sink.",
            ["kind"],
            registry=registry,
        )
        self.dropped = shared_collector(
            Counter,
            "mlvigil_prediction_log_dropped",
            "Records the prediction log dropped, by reason (queue_full, rejected, shutdown).",
            ["kind", "reason"],
            registry=registry,
        )
        self.send_failures = shared_collector(
            Counter,
            "mlvigil_prediction_log_send_failures",
            "Failed attempts to send a batch (each is retried).",
            registry=registry,
        )
        self.queue_size = shared_collector(
            Gauge,
            "mlvigil_prediction_log_queue_size",
            "Records waiting in the prediction log (queued or in flight).",
            registry=registry,
            multiprocess_mode="livesum",
        )

    def count_queue_of(self, logger: Queued) -> None:
        """Add ``logger``'s queue to the queue-size gauge for as long as it lives."""
        _queue_gauges.setdefault(self.queue_size, weakref.WeakSet()).add(logger)
        self.queue_size.set_function(_queue_size_function(self.queue_size))


_queue_gauges: weakref.WeakKeyDictionary[Gauge, weakref.WeakSet[Queued]] = (
    weakref.WeakKeyDictionary()
)


def _queue_size_function(gauge: Gauge) -> Callable[[], float]:
    """Sum of the queues of every live logger reporting to ``gauge``."""

    def total() -> float:
        return float(sum(len(logger._queue) for logger in _queue_gauges.get(gauge, ())))

    return total
