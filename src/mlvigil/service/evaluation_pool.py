"""Window checks in worker processes, so that a pass over many models uses every core.

A window's checks (profile, quality, drift, performance) are Python-bound: threads
would share one core. With ``evaluation_workers: N`` the service starts N worker
processes at its first pass; the service process reads each window's rows from the
store, a worker runs :func:`~mlvigil.service.evaluation.evaluate_rows` on them, and
the service saves the result and moves the alerts, in the order the windows were
read, so a pass decides and writes exactly what it would in one process.

A worker learns a model's reference from its file as the service did at start-up
(the same build, shared by the models of one file and options) the first time it
evaluates one of its windows. Models whose reference is their first windows, and
windows with pushed summaries instead of rows, are evaluated in the service process.
"""

from __future__ import annotations

import copyreg
import io
import logging
import multiprocessing
import sys
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

from mlvigil.exceptions import ConfigError
from mlvigil.service.config import ModelConfig
from mlvigil.service.evaluation import Evaluation, evaluate_rows
from mlvigil.service.reference import FileIdentity, Reference, file_identity, file_reference

__all__ = ["EvaluationPool"]

_log = logging.getLogger("mlvigil.service")


def _mapping_proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


# Results carry their details as read-only mappings; pickle has no rule for them.
copyreg.pickle(MappingProxyType, lambda proxy: (_mapping_proxy, (dict(proxy),)))


class EvaluationPool:
    """Worker processes evaluating windows' rows.

    Parameters
    ----------
    workers
        How many processes.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker
        )
        #: Reads windows' rows for the workers (see :mod:`mlvigil.service.window_pass`).
        self.reader = ThreadPoolExecutor(1, thread_name_prefix="mlvigil-window-reader")

    def submit(
        self,
        config: ModelConfig,
        table: pa.Table,
        start: datetime,
        end: datetime,
        now: datetime,
        reference_file: FileIdentity | None,
    ) -> Future[Evaluation]:
        """Evaluate ``table``, the rows of ``config``'s window ``[start, end)``, in a worker.

        ``reference_file`` is the identity of the model's reference file when the
        service learned from it: a worker refuses (and the service evaluates the window
        itself) if the file changed since, rather than learn from other rows.
        """
        rows = _ipc(table)
        return self._executor.submit(_evaluate, config, rows, start, end, now, reference_file)

    def close(self) -> None:
        """Stop the reader and the workers (after the windows they are evaluating)."""
        self.reader.shutdown(wait=True, cancel_futures=True)
        self._executor.shutdown(wait=True, cancel_futures=True)


def _ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


#: A worker's reference builds, by file identity and options (see ``file_reference``).
_BUILT: dict[tuple[str, int, int, str], Reference] = {}
#: A worker's reference of each model it evaluated.
_REFERENCES: dict[str, Reference | None] = {}


def _start_worker() -> None:
    from mlvigil.telemetry.logs import configure_logging

    # Errors only: the service process logged the references' warnings at start-up
    # and logs each window it saves.
    configure_logging(level="ERROR", renderer="json", stream=sys.stdout)


def _evaluate(
    config: ModelConfig,
    rows: bytes,
    start: datetime,
    end: datetime,
    now: datetime,
    reference_file: FileIdentity | None,
) -> Evaluation:
    """In a worker: the model's reference (learned once), then the window's checks."""
    if config.name not in _REFERENCES:
        path = config.reference_path
        if path is not None and file_identity(path) != reference_file:
            raise ConfigError(f"{path} changed since the service learned from it")
        where = f"models.{config.name}: reference"
        _REFERENCES[config.name] = file_reference(config, where, _BUILT)
    table = ipc.open_stream(rows).read_all()
    return evaluate_rows(config, table, start, end, reference=_REFERENCES[config.name], now=now)
