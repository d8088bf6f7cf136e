"""``PipelineMonitor``: metrics and spans for batch data pipelines.

A pipeline run is a root span with one child span per stage; stage and run durations,
records processed, active runs, data freshness and null ratios go to Prometheus (for a
short-lived batch job, push the registry to a Pushgateway at the end of the run with
``prometheus_client.push_to_gateway``).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import time
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any, ParamSpec, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from prometheus_client import REGISTRY, CollectorRegistry

from mlvigil.io.tables import TableLike, open_table
from mlvigil.telemetry.cardinality import LabelGuard
from mlvigil.telemetry.metrics import Buckets, PipelineMetrics

_P = ParamSpec("_P")
_R = TypeVar("_R")


def table_shape(result: object) -> tuple[int, int | None] | None:
    """Rows and columns of a table-like result, or None when it is not one.

    Recognises Arrow tables and record batches, pandas and polars data frames, numpy
    arrays, and any sized collection (rows only).

    Examples
    --------
    >>> import pyarrow as pa
    >>> table_shape(pa.table({"a": [1, 2, 3], "b": [4, 5, 6]}))
    (3, 2)
    >>> table_shape([{"a": 1}, {"a": 2}])
    (2, None)
    >>> table_shape("not a table") is None
    True
    """
    rows = getattr(result, "num_rows", None)
    columns = getattr(result, "num_columns", None)
    if isinstance(rows, int):
        return rows, columns if isinstance(columns, int) else None
    shape = getattr(result, "shape", None)
    if isinstance(shape, tuple) and shape and isinstance(shape[0], int):
        return shape[0], shape[1] if len(shape) > 1 and isinstance(shape[1], int) else None
    if isinstance(result, list | tuple | set | frozenset):
        return len(result), None
    return None


class PipelineMonitor:
    """Instrument one data pipeline.

    Parameters
    ----------
    pipeline
        The pipeline's name (the ``pipeline`` label).
    registry
        Prometheus registry; the global one when omitted.
    buckets
        Duration bucket layouts.
    tracer
        Tracer for run and stage spans; the global tracer when omitted (a no-op
        until tracing is configured).
    max_label_values
        Cap on distinct stage, dataset and feature label values.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from prometheus_client import CollectorRegistry
    >>> pipeline = PipelineMonitor("features", registry=CollectorRegistry())
    >>> @pipeline.traced_stage("extract")
    ... def extract():
    ...     return pa.table({"amount": [1.0, None, 3.0]})
    >>> with pipeline.run():
    ...     table = extract()
    ...     pipeline.observe_table("transactions", table)
    >>> pipeline.registry.get_sample_value("ml_pipeline_records_processed_total",
    ...     {"pipeline": "features", "stage": "extract", "status": "success"})
    3.0
    >>> round(pipeline.registry.get_sample_value("ml_feature_null_ratio",
    ...     {"dataset": "transactions", "feature": "amount"}), 3)
    0.333
    """

    def __init__(
        self,
        pipeline: str,
        *,
        registry: CollectorRegistry | None = None,
        buckets: Buckets | None = None,
        tracer: Tracer | None = None,
        max_label_values: int = 100,
    ) -> None:
        self.pipeline = pipeline
        self.registry: CollectorRegistry = REGISTRY if registry is None else registry
        self._metrics = PipelineMetrics.on(self.registry, Buckets() if buckets is None else buckets)
        self._tracer = otel_trace.get_tracer("mlvigil") if tracer is None else tracer
        self._guard = LabelGuard(max_label_values, registry=self.registry)

    @contextlib.contextmanager
    def run(self) -> Iterator[Span]:
        """Track one pipeline run: a root span, active-run gauge, duration and outcome.

        The run's status is ``success`` unless an exception escapes the block.
        """
        metrics = self._metrics
        active = metrics.active_runs.labels(self.pipeline)
        active.inc()
        start = time.perf_counter()
        status = "error"
        try:
            with self._tracer.start_as_current_span(
                "pipeline.run", attributes={"pipeline.name": self.pipeline}
            ) as span:
                yield span
            status = "success"
        finally:
            active.dec()
            metrics.run_duration.labels(self.pipeline).observe(time.perf_counter() - start)
            metrics.runs.labels(self.pipeline, status).inc()

    def timed_stage(self, stage: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
        """Decorate a stage (sync or async): duration, outcome and rows, no span."""
        return self._stage_decorator(stage, traced=False)

    def traced_stage(self, stage: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
        """Like :meth:`timed_stage`, inside a span carrying the row and column counts."""
        return self._stage_decorator(stage, traced=True)

    @contextlib.contextmanager
    def stage(self, stage: str, *, traced: bool = True) -> Iterator[StageScope]:
        """Track a stage written as a ``with`` block; report rows with ``scope.output()``."""
        stage = self._guard.admit("ml_pipeline_stage", "stage", stage)
        span_cm = (
            self._tracer.start_as_current_span(
                f"stage {stage}",
                attributes={"pipeline.name": self.pipeline, "pipeline.stage": stage},
            )
            if traced
            else contextlib.nullcontext(None)
        )
        start = time.perf_counter()
        status = "error"
        with span_cm as span:
            scope = StageScope(span)
            try:
                yield scope
                status = "success"
            except BaseException as exc:
                if span is not None:
                    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                raise
            finally:
                metrics = self._metrics
                elapsed = time.perf_counter() - start
                metrics.stage_duration.labels(self.pipeline, stage).observe(elapsed)
                if scope.rows is not None:
                    metrics.records.labels(self.pipeline, stage, status).inc(scope.rows)

    def _stage_decorator(
        self, stage: str, *, traced: bool
    ) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
        def decorate(fn: Callable[_P, _R]) -> Callable[_P, _R]:
            if inspect.iscoroutinefunction(fn):

                @functools.wraps(fn)
                async def stage_async(*args: Any, **kwargs: Any) -> Any:
                    with self.stage(stage, traced=traced) as scope:
                        return scope.output(await fn(*args, **kwargs))

                return stage_async  # type: ignore[return-value]

            @functools.wraps(fn)
            def stage_sync(*args: _P.args, **kwargs: _P.kwargs) -> _R:
                with self.stage(stage, traced=traced) as scope:
                    return scope.output(fn(*args, **kwargs))

            return stage_sync

        return decorate

    def record_processed(self, stage: str, count: int, *, status: str = "success") -> None:
        """Count ``count`` records handled by ``stage`` with the given outcome."""
        stage = self._guard.admit("ml_pipeline_stage", "stage", stage)
        self._metrics.records.labels(self.pipeline, stage, status).inc(count)

    def mark_updated(self, dataset: str, when: float | None = None) -> None:
        """Record that ``dataset`` received new data at ``when`` (Unix seconds; now)."""
        dataset = self._guard.admit("ml_data", "dataset", dataset)
        self._metrics.last_updated.labels(dataset).set(time.time() if when is None else when)

    def set_null_ratio(self, dataset: str, feature: str, ratio: float) -> None:
        """Set the share of null values of ``feature`` in ``dataset``."""
        dataset = self._guard.admit("ml_data", "dataset", dataset)
        feature = self._guard.admit("ml_feature_null_ratio", "feature", feature)
        self._metrics.null_ratio.labels(dataset, feature).set(ratio)

    def observe_table(
        self, dataset: str, table: TableLike, *, timestamp_column: str | None = None
    ) -> None:
        """Set null ratios of every column and mark ``dataset`` updated.

        Nulls and floating-point NaN both count as missing. With ``timestamp_column``,
        the dataset's update time is the newest timestamp in the table rather than now.
        """
        source = open_table(table)
        rows = source.num_rows
        newest: float | None = None
        for name in source.column_names:
            column = source.column(name)
            missing = column.null_count
            if pa.types.is_floating(column.type):
                missing += pc.sum(pc.is_nan(column)).as_py() or 0
            self.set_null_ratio(dataset, name, missing / rows if rows else 0.0)
            if name == timestamp_column and rows:
                newest = _newest_timestamp(column)
        self.mark_updated(dataset, newest)


class StageScope:
    """A running stage; returned by :meth:`PipelineMonitor.stage`."""

    __slots__ = ("rows", "span")

    def __init__(self, span: Span | None) -> None:
        self.span = span
        self.rows: int | None = None

    def output(self, result: _R) -> _R:
        """Note the stage's result: its rows are counted and put on the span."""
        shape = table_shape(result)
        if shape is not None:
            self.rows, columns = shape
            if self.span is not None:
                self.span.set_attribute("data.rows", self.rows)
                if columns is not None:
                    self.span.set_attribute("data.columns", columns)
        return result


def _newest_timestamp(column: pa.ChunkedArray) -> float | None:
    if pa.types.is_timestamp(column.type):
        newest = pc.max(column).as_py()
        if newest is None:
            return None
        # Naive timestamps are taken as UTC, as everywhere else in mlvigil.
        return float((newest if newest.tzinfo else newest.replace(tzinfo=UTC)).timestamp())
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        newest = pc.max(column).as_py()
        return None if newest is None else float(newest)
    return None
