"""Estimated performance of one table over time: :func:`estimate_performance` and its report.

The current table is cut into chunks (a number of rows, or one period of a timestamp,
as :func:`~mlvigil.checks.chunked.detect_drift_chunks` cuts it); an estimator is
fitted once on the reference, with limits learned from reference chunks of the same
size; each chunk gets one :class:`~mlvigil.checks.result.CheckResult` per metric. When
the current table has the target column, its labelled rows give the realized metric
beside each estimate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from mlvigil.checks.chunk_reports import ChunkSequence
from mlvigil.checks.chunks import Chunk, period_chunks, size_chunks, timestamps_of
from mlvigil.checks.result import CheckResult, CheckStatus
from mlvigil.estimation.columns import as_table
from mlvigil.estimation.estimator import EstimationConfig, PerformanceEstimator
from mlvigil.estimation.judging import estimated_metrics
from mlvigil.exceptions import ConfigError, InputError
from mlvigil.io.tables import TableLike

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ChunkEstimate", "EstimationReport", "estimate_performance"]


@dataclass(frozen=True, slots=True)
class ChunkEstimate:
    """One chunk of the current table and its estimated metrics.

    Attributes
    ----------
    chunk
        Which rows: key, row count, and the period for period chunks.
    results
        One result per metric (status ``error`` when it could not be estimated).
    """

    chunk: Chunk
    results: tuple[CheckResult, ...]

    @property
    def alerts(self) -> tuple[CheckResult, ...]:
        """The metrics whose estimate is worse than the reference's limits."""
        return tuple(r for r in self.results if r.status is CheckStatus.FAILED)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view: the chunk and its results."""
        return {**self.chunk.to_dict(), "results": [r.to_dict() for r in self.results]}


@dataclass(frozen=True, slots=True)
class EstimationReport(ChunkSequence[ChunkEstimate]):
    """Estimated performance of each chunk of a current table.

    Attributes
    ----------
    chunks
        One :class:`ChunkEstimate` per chunk, in chunk order (oldest first for periods).
    task, metrics
        What was estimated.
    reference_rows, current_rows
        Rows of the reference and of the whole current table.
    calibrated
        Whether the scores were recalibrated on the reference.
    warnings
        What to know about the fit (see :attr:`PerformanceEstimator.warnings`).
    """

    chunks: tuple[ChunkEstimate, ...]
    task: str
    metrics: tuple[str, ...]
    reference_rows: int
    current_rows: int
    calibrated: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def alerts(self) -> tuple[tuple[Chunk, CheckResult], ...]:
        """Every failed result (an estimate worse than its limits), with its chunk."""
        return tuple((c.chunk, r) for c in self.chunks for r in c.alerts)

    def metric(self, name: str) -> tuple[CheckResult, ...]:
        """One metric's result in each chunk.

        Raises
        ------
        KeyError
            When the metric was not estimated.
        """
        if name not in self.metrics:
            raise KeyError(name)
        return tuple(r for c in self.chunks for r in c.results if r.metric == name)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view, as ``mlvigil estimate --format json`` prints it."""
        return {
            "task": self.task,
            "metrics": list(self.metrics),
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "calibrated": self.calibrated,
            "warnings": list(self.warnings),
            "number_of_chunks": len(self.chunks),
            "number_of_alerts": len(self.alerts),
            "chunks": [c.to_dict() for c in self.chunks],
        }

    def to_dataframe(self) -> pd.DataFrame:
        """One row per chunk and metric, as a pandas DataFrame. Needs ``mlvigil[pandas]``.

        Columns: ``chunk`` (index), ``key``, ``start``, ``end``, ``rows``, ``metric``,
        ``value``, ``lower_band``, ``upper_band``, ``standard_error``, ``lower``,
        ``upper`` (the learned limits), ``realized``, ``direction``, ``status``,
        ``message``.
        """
        return self._frame(_estimate_cells)


def _estimate_cells(item: ChunkEstimate) -> Iterator[dict[str, Any]]:
    for result in item.results:
        details = result.details
        limits = details.get("limits")
        yield {
            "metric": result.metric,
            "value": result.value,
            "lower_band": details.get("lower_band"),
            "upper_band": details.get("upper_band"),
            "standard_error": details.get("standard_error"),
            "lower": limits["lower"] if limits else None,
            "upper": limits["upper"] if limits else None,
            "realized": details.get("realized"),
            "direction": details.get("direction"),
            "status": result.status.value,
            "message": result.message,
        }


def _config(config: EstimationConfig | None, fields: dict[str, Any]) -> EstimationConfig:
    known = {f.name for f in dataclasses.fields(EstimationConfig)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ConfigError(
            f"unknown estimation option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    if config is None:
        return EstimationConfig(**fields)
    new_task = fields.get("task", config.task) != config.task
    if new_task and "metrics" not in fields and config.metrics == estimated_metrics(config.task):
        fields = {**fields, "metrics": ()}  # the default metrics follow the task
    return dataclasses.replace(config, **fields)


def _current_chunks(
    current: pa.Table,
    chunk_size: int | None,
    chunk_period: timedelta | str | float | None,
    timestamp: str | None,
) -> list[Chunk]:
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ConfigError(f"chunk_size must be a whole number of rows >= 1, got {chunk_size!r}")
        return size_chunks(current.num_rows, chunk_size)
    from mlvigil.checks.quality.freshness import parse_duration

    assert chunk_period is not None
    if timestamp is None:
        raise ConfigError("chunk_period needs timestamp=, the column that holds each row's time")
    if timestamp not in current.column_names:
        raise InputError(f"timestamp column {timestamp!r} not found in current")
    return period_chunks(
        timestamps_of(current.column(timestamp), timestamp), parse_duration(chunk_period)
    )


def estimate_performance(
    reference: TableLike,
    current: TableLike,
    *,
    chunk_size: int | None = None,
    chunk_period: timedelta | str | float | None = None,
    timestamp: str | None = None,
    config: EstimationConfig | None = None,
    on_chunk: Callable[[ChunkEstimate], None] | None = None,
    **config_fields: Any,
) -> EstimationReport:
    """Estimate the performance of each chunk of ``current`` from a labelled ``reference``.

    Give exactly one of ``chunk_size`` or ``chunk_period``.

    Parameters
    ----------
    reference
        Labelled rows the model's behaviour is learned from: a CSV or Parquet path, or
        a pyarrow / pandas / polars table.
    current
        The rows to estimate, labelled or not.
    chunk_size
        Rows per chunk, in table order (the last chunk keeps what is left).
    chunk_period
        A period per chunk, e.g. ``"1d"`` or a :class:`~datetime.timedelta` (aligned to
        the Unix epoch, UTC); needs ``timestamp``.
    timestamp
        The column of each row's time in ``current``.
    config
        What to estimate (:class:`EstimationConfig`); ``config_fields`` override its
        fields (``task="regression"``, ``features=(...)``).
    on_chunk
        Called with each chunk's result as soon as it is ready (progress bars).

    Returns
    -------
    EstimationReport
        Limits are learned from reference chunks as large as the current's chunks
        (period chunks: their median size).

    Raises
    ------
    ConfigError
        When not exactly one way of chunking is given, or an option is unknown.
    InputError
        When an input cannot be read, a column is missing from the reference, or
        ``current`` has no rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> def draw(rows):
    ...     p = rng.random(rows)
    ...     return pa.table({"label": (rng.random(rows) < p).astype(int),
    ...                      "prediction": (p > 0.5).astype(int), "score": p})
    >>> report = estimate_performance(draw(6000), draw(2000), chunk_size=1000,
    ...                               metrics=("accuracy", "roc_auc"))
    >>> [(r.metric, round(r.value, 2), r.status.value) for r in report[0].results]
    [('accuracy', 0.75, 'passed'), ('roc_auc', 0.83, 'passed')]
    """
    given = [n for n, v in (("chunk_size", chunk_size), ("chunk_period", chunk_period))
             if v is not None]  # fmt: skip
    if len(given) != 1:
        raise ConfigError(
            "give exactly one of chunk_size or chunk_period"
            + (f", not {' and '.join(given)}" if len(given) > 1 else "")
        )
    settings = _config(config, config_fields)
    names = settings.columns
    ref_table = as_table(reference, names)
    cur_table = as_table(current, [*names, *([timestamp] if timestamp else [])])
    if cur_table.num_rows == 0:
        raise InputError("current has no rows; there is nothing to estimate")
    chunks = _current_chunks(cur_table, chunk_size, chunk_period, timestamp)
    size = chunk_size if chunk_size is not None else int(np.median([c.rows for c in chunks]))
    estimator = PerformanceEstimator.fit(
        ref_table, settings, chunks=size_chunks(ref_table.num_rows, size)
    )
    labels = settings.target if settings.target in cur_table.column_names else None
    results = []
    for chunk in chunks:
        item = ChunkEstimate(
            chunk, tuple(estimator.estimate(chunk.rows_of(cur_table), labels=labels))
        )
        results.append(item)
        if on_chunk is not None:
            on_chunk(item)
    return EstimationReport(
        chunks=tuple(results),
        task=settings.task,
        metrics=settings.metrics,
        reference_rows=ref_table.num_rows,
        current_rows=cur_table.num_rows,
        calibrated=estimator.calibrated,
        warnings=estimator.warnings,
    )
