"""Ship every prediction (and later its label) without slowing the model down.

The hot path, :meth:`PredictionLogger.log`, only appends the record to a bounded
in-memory queue; a background thread sends the queue in batches to a :mod:`sink
<mlvigil.telemetry.sinks>` — the mlvigil service over HTTP, or local Parquet files.
The records and the :class:`~mlvigil.telemetry.records.Sink` protocol are defined in
:mod:`mlvigil.telemetry.records`.

Guarantees, in order of importance:

- nothing is dropped silently: a record that cannot be kept is counted in
  ``mlvigil_prediction_log_dropped_total{kind,reason}`` and logged;
- within the queue's capacity nothing is lost to a receiver outage: a batch that fails
  transiently stays at the head of the queue and is retried with backoff and jitter
  (capacity counts every record not yet acknowledged, including the batch in flight);
- what is queued is sent at interpreter exit (or :meth:`~PredictionLogger.close`)
  within a timeout; what still could not be sent is counted as dropped ``shutdown``.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import CollectorRegistry

from mlvigil.exceptions import ConfigError
from mlvigil.telemetry._log_metrics import LogMetrics
from mlvigil.telemetry.records import (
    NO_OUTCOMES,
    LabelRecord,
    PredictionRecord,
    Sink,
    TransientSinkError,
    new_prediction_id,
)

if TYPE_CHECKING:
    import httpx

_log = logging.getLogger("mlvigil.telemetry.prediction_log")

SERVICE_URL_ENV = "MLVIGIL_URL"
LOG_DIR_ENV = "MLVIGIL_PREDICTION_LOG_DIR"
_DROP_REPORT_INTERVAL = 5.0

OnFull = Literal["drop_newest", "block"]


def _after_fork_in_child() -> None:
    for logger in list(_loggers):
        logger._forget_flusher()


_loggers: weakref.WeakSet[PredictionLogger] = weakref.WeakSet()
os.register_at_fork(after_in_child=_after_fork_in_child)


# -- configuration -----------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts to send a batch: exponential, capped, full jitter.

    Attempts continue until the batch is sent or the logger shuts down; the queue's
    capacity bounds the memory an outage can take.

    Examples
    --------
    >>> policy = RetryPolicy(initial=0.5, multiplier=2.0, maximum=30.0)
    >>> 0.0 <= policy.delay(3) <= 4.0
    True
    """

    initial: float = 0.5
    multiplier: float = 2.0
    maximum: float = 30.0

    def __post_init__(self) -> None:
        if not (self.initial > 0 and self.maximum >= self.initial and self.multiplier >= 1):
            raise ConfigError(
                "RetryPolicy needs initial > 0, maximum >= initial and multiplier >= 1; "
                f"got initial={self.initial}, maximum={self.maximum}, "
                f"multiplier={self.multiplier}"
            )

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        ceiling = min(self.maximum, self.initial * self.multiplier ** min(attempt, 64))
        return random.uniform(0.0, ceiling)


@dataclass(frozen=True)
class LoggerStats:
    """A snapshot of a logger's counts since it was created."""

    queued: int
    sent: int
    dropped: Mapping[str, int]
    """Records dropped, by reason: ``queue_full``, ``rejected``, ``shutdown``."""


# -- the logger --------------------------------------------------------------------


class PredictionLogger:
    """Queue prediction and label records and send them in batches from a thread.

    Parameters
    ----------
    sink
        Where batches go (:class:`~mlvigil.telemetry.sinks.HttpSink`,
        :class:`~mlvigil.telemetry.sinks.ParquetSink`, or your own).
    capacity
        Most records held at once, queued or in flight. Bounds memory during an outage.
    batch_size
        Most records per batch; a full batch's worth wakes the flusher early.
    flush_interval
        Seconds between flushes of whatever is queued.
    on_full
        What :meth:`log` does when the queue is full: ``"drop_newest"`` drops the new
        record, ``"block"`` waits for room (up to ``block_timeout`` seconds; forever
        when None) and drops it if none comes. Every drop is counted and logged.
    block_timeout
        See ``on_full``.
    retry
        Backoff between attempts to send a batch that failed transiently.
    registry
        Prometheus registry for the logger's own metrics; the global one by default.
    flush_at_exit
        Send what is queued when the interpreter exits.
    shutdown_timeout
        Seconds :meth:`close` (and the exit handler) spend sending what is left.

    Examples
    --------
    >>> import tempfile
    >>> from prometheus_client import CollectorRegistry
    >>> directory = tempfile.mkdtemp()
    >>> with PredictionLogger.to_parquet(directory, registry=CollectorRegistry()) as log:
    ...     prediction_id = log.log_prediction(
    ...         model="churn", features={"tenure": 3}, prediction="stay", score=0.9)
    ...     log.flush()
    True
    >>> log.stats.sent
    1
    """

    def __init__(
        self,
        sink: Sink,
        *,
        capacity: int = 100_000,
        batch_size: int = 1_000,
        flush_interval: float = 5.0,
        on_full: OnFull = "drop_newest",
        block_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        registry: CollectorRegistry | None = None,
        flush_at_exit: bool = True,
        shutdown_timeout: float = 10.0,
    ) -> None:
        _validate(capacity, batch_size, flush_interval, on_full, block_timeout, shutdown_timeout)
        self.sink = sink
        self.capacity = capacity
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.on_full: OnFull = on_full
        self.block_timeout = block_timeout
        self.retry = RetryPolicy() if retry is None else retry
        self.shutdown_timeout = shutdown_timeout
        # Producers append on the right; only the flusher pops on the left, after the
        # sink acknowledged. deque append/popleft are atomic, so log() takes no lock.
        self._queue: deque[PredictionRecord | LabelRecord] = deque()
        self._limit = capacity  # 0 once closed, so log() drops without another check
        self._wake = threading.Event()
        self._wake_pending = False
        self._room = threading.Condition()
        self._acknowledged = threading.Condition()
        self._popped = 0
        self._sent = 0
        self._dropped: dict[str, int] = {}
        self._unreported: dict[tuple[str, str], int] = {}
        self._last_drop_report = 0.0
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closing = threading.Event()
        self._deadline = float("inf")
        self._closed = False
        self._metrics = LogMetrics(registry)
        self._sent_children = {k: self._metrics.sent.labels(k) for k in ("prediction", "label")}
        self._metrics.count_queue_of(self)
        self._at_exit = flush_at_exit
        if flush_at_exit:
            atexit.register(self.close)
        _loggers.add(self)

    # -- constructors ----------------------------------------------------------------

    @classmethod
    def to_service(
        cls,
        url: str,
        *,
        client: httpx.Client | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        **options: Any,
    ) -> PredictionLogger:
        """A logger posting batches to the mlvigil service at ``url``.

        ``token`` is the service token (``ingest`` scope; default ``$MLVIGIL_TOKEN``, see
        :class:`~mlvigil.telemetry.sinks.HttpSink`). ``options`` are the constructor's
        keyword arguments.
        """
        from mlvigil.telemetry.sinks import HttpSink

        return cls(HttpSink(url, client=client, headers=headers, token=token), **options)

    @classmethod
    def to_parquet(cls, directory: str | Path, **options: Any) -> PredictionLogger:
        """A logger writing Parquet files partitioned by model, date and hour.

        ``options`` are the constructor's keyword arguments.
        """
        from mlvigil.telemetry.sinks import ParquetSink

        return cls(ParquetSink(directory), **options)

    # -- the hot path ----------------------------------------------------------------

    def log(self, record: PredictionRecord | LabelRecord) -> bool:
        """Queue one record for sending; never blocks unless ``on_full="block"``.

        Returns
        -------
        False when the record was dropped because the queue was full (counted).
        """
        queue = self._queue
        if len(queue) >= self._limit and not self._wait_for_room(record):
            return False
        queue.append(record)
        if self._thread is None:
            self._start_flusher()
        if not self._wake_pending and len(queue) >= self.batch_size:
            self._wake_pending = True
            self._wake.set()
        return True

    def log_prediction(
        self,
        *,
        model: str,
        features: Mapping[str, Any],
        prediction: Any,
        score: float | None = None,
        version: str = "",
        latency_ms: float | None = None,
        id: str | None = None,
        timestamp: float | None = None,
        outcomes: Mapping[str, float | None] = NO_OUTCOMES,
        error: bool | None = None,
    ) -> str:
        """Build and queue a :class:`PredictionRecord`; returns its id.

        ``outcomes`` are business outcomes already known (``{"clicked": 1}``), by the
        names the service's ``schema.outcomes`` declares. ``error`` says whether
        serving the request failed (the prediction is then the fallback answered):
        the service's ``error_rate`` per window and per version.
        """
        record_id = new_prediction_id() if id is None else id
        moment = time.time() if timestamp is None else timestamp
        self.log(
            PredictionRecord(
                record_id,
                moment,
                model,
                version,
                features,
                prediction,
                score,
                latency_ms,
                outcomes,
                error,
            )
        )
        return record_id

    def log_label(
        self,
        id: str,
        label: Any,
        *,
        model: str,
        timestamp: float | None = None,
        outcomes: Mapping[str, float | None] = NO_OUTCOMES,
    ) -> bool:
        """Queue the true label of prediction ``id``; False when dropped (counted).

        ``outcomes`` are business outcomes that became known with it (``{"revenue":
        42.0}``); they replace any sent with the prediction.
        """
        moment = time.time() if timestamp is None else timestamp
        return self.log(LabelRecord(id, model, label, moment, outcomes))

    # -- flushing and shutdown -------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued so far and wait for it.

        Returns
        -------
        True when every record queued before the call has been acknowledged by the
        sink or dropped as rejected; False on timeout.
        """
        with self._acknowledged:
            target = self._popped + len(self._queue)
            if self._popped >= target:
                return True
            if self._thread is None:
                self._start_flusher()
            self._wake.set()
            return self._acknowledged.wait_for(lambda: self._popped >= target, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Send what is queued (up to ``timeout`` seconds), then stop. Idempotent.

        Records still unsent after the timeout are counted as dropped ``shutdown``.
        """
        if self._closed:
            return
        self._closed = True
        self._limit = 0
        with self._room:
            self._room.notify_all()
        if self._at_exit:
            atexit.unregister(self.close)
        wait = self.shutdown_timeout if timeout is None else timeout
        self._deadline = time.monotonic() + wait
        self._closing.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait + 1.0)
        self._drop_remaining()
        self.sink.close()

    def __enter__(self) -> PredictionLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def stats(self) -> LoggerStats:
        """Counts so far: queued now, sent, dropped by reason."""
        return LoggerStats(len(self._queue), self._sent, dict(self._dropped))

    # -- the flusher thread ----------------------------------------------------------

    def _start_flusher(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closed:
                thread = threading.Thread(
                    target=self._run, name="mlvigil-prediction-log", daemon=True
                )
                thread.start()
                self._thread = thread

    def _forget_flusher(self) -> None:
        """Start afresh in a forked child: the parent's thread and locks are gone.

        The records queued before the fork are the parent's to send.
        """
        self._queue.clear()
        self._thread = None
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._wake_pending = False
        self._room = threading.Condition()
        self._acknowledged = threading.Condition()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self._wake_pending = False
            while self._queue and not self._past_deadline():
                self._send_head()
            self._report_drops(force=False)
            if self._closing.is_set():
                return

    def _send_head(self) -> None:
        """Send the batch at the head of the queue, retrying until done or shut down."""
        queue = self._queue
        batch = list(itertools.islice(queue, self.batch_size))
        groups = _group(batch)
        retries = 0
        while groups:
            kind, model, records = groups[0]
            try:
                if kind == "prediction":
                    self.sink.write_predictions(records)  # type: ignore[arg-type]
                else:
                    self.sink.write_labels(records)  # type: ignore[arg-type]
            except Exception as error:  # any sink failure is counted and logged
                if not _is_transient(error):
                    _log.error(
                        "prediction log receiver rejected a batch of %d %s records of "
                        "model %r; dropping it: %s",
                        len(records),
                        kind,
                        model,
                        error,
                    )
                    self._count_drop(kind, "rejected", len(records), log=False)
                    groups.pop(0)
                    continue
                self._metrics.send_failures.inc()
                if retries == 0:
                    _log.warning(
                        "prediction log cannot send (%d records queued); retrying with backoff: %s",
                        len(queue),
                        error,
                    )
                delay = self.retry.delay(retries)
                retries += 1
                if not self._closing.is_set():
                    self._closing.wait(delay)  # close() cuts the wait short to retry now
                else:
                    time.sleep(max(0.0, min(delay, self._deadline - time.monotonic())))
                if self._past_deadline():
                    return
                continue
            self._sent += len(records)
            self._sent_children[kind].inc(len(records))
            groups.pop(0)
        if retries:
            _log.info("prediction log sending again after %d retries", retries)
        with self._acknowledged:
            for _ in range(min(len(batch), len(queue))):  # close() may have cleared it
                queue.popleft()
            self._popped += len(batch)
            self._acknowledged.notify_all()
        if self.on_full == "block":
            with self._room:
                self._room.notify_all()

    def _past_deadline(self) -> bool:
        return self._closing.is_set() and time.monotonic() >= self._deadline

    # -- drops -----------------------------------------------------------------------

    def _wait_for_room(self, record: PredictionRecord | LabelRecord) -> bool:
        if self.on_full == "block" and not self._closed:
            if self._thread is None:
                self._start_flusher()
            self._wake.set()
            with self._room:
                room = self._room.wait_for(
                    lambda: len(self._queue) < self._limit or self._closed, self.block_timeout
                )
            if room and not self._closed:
                return True
        self._count_drop(_kind(record), "shutdown" if self._closed else "queue_full", 1)
        return False

    def _drop_remaining(self) -> None:
        remaining = list(self._queue)
        self._queue.clear()
        for kind in ("prediction", "label"):
            count = sum(1 for r in remaining if _kind(r) == kind)
            if count:
                self._count_drop(kind, "shutdown", count, log=False)
                _log.error(
                    "prediction log shut down with %d %s records unsent; they are lost",
                    count,
                    kind,
                )
        with self._acknowledged:
            self._popped += len(remaining)
            self._acknowledged.notify_all()
        self._report_drops(force=True)

    def _count_drop(self, kind: str, reason: str, count: int, *, log: bool = True) -> None:
        self._metrics.dropped.labels(kind, reason).inc(count)
        self._dropped[reason] = self._dropped.get(reason, 0) + count
        if log:
            key = (kind, reason)
            self._unreported[key] = self._unreported.get(key, 0) + count
            self._report_drops(force=False)

    def _report_drops(self, *, force: bool) -> None:
        """Log drops: the first at once, then a summary at most every few seconds."""
        if not self._unreported:
            return
        now = time.monotonic()
        if not force and now - self._last_drop_report < _DROP_REPORT_INTERVAL:
            return
        self._last_drop_report = now
        unreported, self._unreported = self._unreported, {}
        for (kind, reason), count in unreported.items():
            _log.warning(
                "prediction log dropped %d %s records (%s; capacity %d)",
                count,
                kind,
                reason,
                self.capacity,
            )


# -- helpers -----------------------------------------------------------------------


def _kind(record: PredictionRecord | LabelRecord) -> str:
    return "label" if type(record) is LabelRecord else "prediction"


def _group(
    batch: Sequence[PredictionRecord | LabelRecord],
) -> list[tuple[str, str, list[PredictionRecord | LabelRecord]]]:
    """Split a batch by kind and model, keeping each group's order."""
    groups: dict[tuple[str, str], list[PredictionRecord | LabelRecord]] = {}
    for record in batch:
        groups.setdefault((_kind(record), record.model), []).append(record)
    return [(kind, model, records) for (kind, model), records in groups.items()]


def _is_transient(error: Exception) -> bool:
    return isinstance(error, TransientSinkError | OSError)


def _validate(
    capacity: int,
    batch_size: int,
    flush_interval: float,
    on_full: str,
    block_timeout: float | None,
    shutdown_timeout: float,
) -> None:
    if not 1 <= batch_size <= capacity:
        raise ConfigError(
            f"prediction logger needs 1 <= batch_size <= capacity; got batch_size="
            f"{batch_size}, capacity={capacity}"
        )
    if not flush_interval > 0:
        raise ConfigError(f"flush_interval must be > 0 seconds; got {flush_interval}")
    if on_full not in ("drop_newest", "block"):
        raise ConfigError(f"on_full must be 'drop_newest' or 'block'; got {on_full!r}")
    if block_timeout is not None and block_timeout < 0:
        raise ConfigError(f"block_timeout must be >= 0 seconds or None; got {block_timeout}")
    if shutdown_timeout < 0:
        raise ConfigError(f"shutdown_timeout must be >= 0 seconds; got {shutdown_timeout}")


def create_prediction_logger(
    *,
    service_url: str | None = None,
    directory: str | Path | None = None,
    token: str | None = None,
    **options: Any,
) -> PredictionLogger:
    """The prediction logger a deployment's environment asks for.

    Sends to the mlvigil service at ``service_url`` (or ``$MLVIGIL_URL``) when one is
    given, with ``token`` (or ``$MLVIGIL_TOKEN``); otherwise writes Parquet under
    ``directory`` (or ``$MLVIGIL_PREDICTION_LOG_DIR``, default ``./predictions``).
    ``options`` are the :class:`PredictionLogger` keyword arguments.
    """
    url = service_url or os.environ.get(SERVICE_URL_ENV)
    if url:
        return PredictionLogger.to_service(url, token=token, **options)
    target = directory or os.environ.get(LOG_DIR_ENV) or "predictions"
    return PredictionLogger.to_parquet(target, **options)
