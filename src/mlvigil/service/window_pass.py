"""A scheduler pass's windows: read, evaluated (here or in worker processes), then saved.

The service process marks each due window (see
:meth:`~mlvigil.service.store.Store.mark_evaluating`) and reads its rows; with an
:class:`~mlvigil.service.evaluation_pool.EvaluationPool`, the pool's reader thread
reads them (DuckDB runs without the GIL, so this thread finishes earlier windows
meanwhile) and a worker runs the checks while the next windows are read.
Evaluations are finished in the order their windows were read (stamped as the
window's next revision, saved through
:class:`~mlvigil.service.window_writes.PendingWindows`, alerts moved), so a pass
decides and writes the same with workers as without.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from mlvigil.checks.result import CheckKind
from mlvigil.service.alert_run import AlertRun
from mlvigil.service.config import ModelConfig
from mlvigil.service.evaluation import Evaluation, evaluate_rows, failure
from mlvigil.service.evaluation_pool import EvaluationPool
from mlvigil.service.profile_evaluation import evaluate_pushed
from mlvigil.service.schedule import MAX_WINDOWS_PER_PASS, final_at
from mlvigil.service.store import EvaluatedWindow, WindowRecord
from mlvigil.service.window_writes import PendingWindows

if TYPE_CHECKING:
    from mlvigil.service.monitor import MonitoringService

__all__ = ["WindowPass", "evaluate_here"]

_log = logging.getLogger("mlvigil.service")


@dataclass
class _Job:
    """A window read and being evaluated."""

    config: ModelConfig
    start: datetime
    end: datetime
    known: WindowRecord | None
    seen: int
    now: datetime
    table: pa.Table | None = None
    #: The reader thread's work: the rows read and handed to a worker (``None``: no
    #: rows to hand, the checks run here).
    reading: Future[Future[Evaluation] | None] | None = None
    evaluation: Evaluation | None = None


@dataclass(frozen=True)
class _ModelDone:
    """Every due window of a model was read: what to do once they are finished."""

    model: str
    changes_through: int | None


class WindowPass:
    """The windows of one scheduler pass, finished in the order they were read.

    Parameters
    ----------
    service
        The service (its store, references, clock and alert rules).
    alerts
        The alert states the pass advances.
    pending
        Where evaluations wait to be saved.
    pool
        Worker processes, or ``None`` to evaluate in this process.
    """

    def __init__(
        self,
        service: MonitoringService,
        alerts: AlertRun,
        pending: PendingWindows,
        pool: EvaluationPool | None,
    ) -> None:
        self.service = service
        self.alerts = alerts
        self.pending = pending
        self.pool = pool
        # Windows read ahead of the one being finished: enough to keep every worker busy
        # while this thread finishes windows and the reader reads the next ones.
        self.depth = 0 if pool is None else 4 * pool.workers
        self._queue: deque[_Job | _ModelDone] = deque()
        self._started: set[str] = set()

    def model(
        self,
        config: ModelConfig,
        due: Iterable[tuple[datetime, datetime, WindowRecord | None]],
        changes_through: int | None,
    ) -> int:
        """Read ``config``'s due windows, oldest first, up to the pass's budget.

        ``changes_through``: the newest logged change of the model, cleared once its
        windows are saved, unless some are left for the next pass.

        Returns
        -------
        How many windows were read.
        """
        read = 0
        for start, end, known in due:
            if read == MAX_WINDOWS_PER_PASS or self.service.stopping.is_set():
                changes_through = None  # the rest next pass: its changes stay logged
                break
            if config.reference_windows:  # its reference may be built from windows saved
                self.drain()
                self.pending.before_evaluating(config.name)
            self._queue.append(_begin(self.service, self.pool, config, start, end, known))
            read += 1
            while len(self._queue) > self.depth:
                self._finish_next()
        self._queue.append(_ModelDone(config.name, changes_through))
        return read

    def drain(self) -> None:
        """Finish every window read so far."""
        while self._queue:
            self._finish_next()

    def _finish_next(self) -> None:
        item = self._queue.popleft()
        if isinstance(item, _ModelDone):
            if item.changes_through is not None:
                self.pending.handled(item.model, item.changes_through)
            self.alerts.forget_results(item.model)
            self._started.discard(item.model)
            return
        evaluation = item.evaluation or self._from_worker(item)
        evaluation = revised(item.config, evaluation, item.known, item.seen, item.now)
        name = item.config.name
        if name not in self._started:  # what its alerts saw, before this pass changes it
            self.alerts.model_results(self.service.store, name)
            self._started.add(name)
        self.pending.add(
            EvaluatedWindow(name, evaluation.window, evaluation.profile, evaluation.results)
        )
        rules, now = self.service.config.rules, self.service.clock()
        self.alerts.step(rules, self.service.store, name, evaluation, now)

    def _from_worker(self, job: _Job) -> Evaluation:
        """The worker's evaluation; if the worker failed (or had none), the checks here."""
        assert job.reading is not None
        try:
            future = job.reading.result()
        except Exception as error:  # reading the rows failed
            return _failed(job, error)
        assert job.table is not None
        if future is not None:
            try:
                return future.result()
            except Exception:
                _log.exception(
                    "a worker failed evaluating window %s of model %r; evaluating it here",
                    job.start.isoformat(),
                    job.config.name,
                )
        try:
            return _checks(self.service, job.config, job.table, job.start, job.end, job.now)
        except Exception as error:
            return _failed(job, error)


def evaluate_here(
    service: MonitoringService,
    config: ModelConfig,
    start: datetime,
    end: datetime,
    known: WindowRecord | None,
) -> Evaluation:
    """Evaluate one window in this process as its next revision (the caller saves it)."""
    job = _begin(service, None, config, start, end, known)
    assert job.evaluation is not None
    return revised(config, job.evaluation, known, job.seen, job.now)


def _begin(
    service: MonitoringService,
    pool: EvaluationPool | None,
    config: ModelConfig,
    start: datetime,
    end: datetime,
    known: WindowRecord | None,
) -> _Job:
    """Mark the window and read its rows; evaluate them, or hand them to a worker."""
    store = service.store
    seen = store.mark_evaluating(config.name, end)
    job = _Job(config, start, end, known, seen, service.clock())
    if pool is not None and not config.reference_windows:
        job.reading = pool.reader.submit(_hand_to_worker, service, pool, job)
        return job
    try:
        table = store.window_table(config.name, start, end)
        job.evaluation = _checks(service, config, table, start, end, job.now)
    except Exception as error:  # isolated: the next windows and models go on
        job.evaluation = _failed(job, error)
    return job


def _hand_to_worker(
    service: MonitoringService, pool: EvaluationPool, job: _Job
) -> Future[Evaluation] | None:
    """On the reader thread: the window's rows, handed to a worker (``None``: no rows)."""
    job.table = service.store.window_table(job.config.name, job.start, job.end)
    if not job.table.num_rows:  # summaries pushed instead, or nothing: checked here
        return None
    identity = service.reference_files.get(job.config.name)
    return pool.submit(job.config, job.table, job.start, job.end, job.now, identity)


def _checks(
    service: MonitoringService,
    config: ModelConfig,
    table: pa.Table,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Evaluation:
    """The window's checks in this process: on its rows, else on its pushed summaries."""
    reference = service.reference(config.name)
    evaluation = evaluate_rows(config, table, start, end, reference=reference, now=now)
    if not evaluation.window.rows:  # summaries pushed instead (service/pushed.py)
        pushed = evaluate_pushed(config, service.store, start, end, reference, now)
        evaluation = pushed or evaluation
    return evaluation


def _failed(job: _Job, error: Exception) -> Evaluation:
    """A window that could not be evaluated: one ``error`` result saying so."""
    _log.exception("window %s of model %r failed", job.start.isoformat(), job.config.name)
    known = job.known
    rows, labelled = (known.rows, known.labelled) if known else (0, 0)
    return Evaluation(
        WindowRecord(job.start, job.end, rows, labelled, job.now, labels_final=False),
        None,
        (failure(CheckKind.VOLUME, "row_count", "evaluating the window", error),),
    )


def revised(
    config: ModelConfig,
    evaluation: Evaluation,
    known: WindowRecord | None,
    seen: int,
    now: datetime,
) -> Evaluation:
    """``evaluation`` as its window's next revision: counts, late data, results stamped."""
    window = evaluation.window
    start, end = window.start, window.end
    first = now if known is None else known.first_evaluated_at or known.evaluated_at
    late_rows = late_labels = 0
    if known is not None:
        late_rows, late_labels = known.late_rows, known.late_labels
        if known.labels_final:  # data after final: evaluated, and counted as late
            late_rows += max(0, window.rows - known.rows)
            late_labels += max(0, window.labelled - known.labelled)
    window = replace(
        window,
        revision=1 if known is None else known.revision + 1,
        first_evaluated_at=first,
        late_rows=late_rows,
        late_labels=late_labels,
        changes_seen=seen,
    )
    window = replace(window, labels_final=now >= final_at(config, window))
    results = tuple(r.stamped(config.name, start, end, now) for r in evaluation.results)
    evaluation = replace(evaluation, window=window, results=results, previous=known)
    _log.info(
        "window evaluated",
        extra={
            "model": config.name,
            "window_start": start.isoformat(),
            "rows": window.rows,
            "labelled": window.labelled,
            "revision": window.revision,
            "failed": sum(1 for r in evaluation.results if not r.passed),
        },
    )
    return evaluation
