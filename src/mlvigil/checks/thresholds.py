"""Thresholds learned from a reference, for drift and for performance.

A fixed threshold (a Wasserstein distance of 0.1, five accuracy points) ignores how
much a statistic varies by chance at a given window size and on given data: too tight
for small windows, too loose for large ones. Learning splits the reference into chunks
of the window's size, computes the statistic on each, and sets limits at
``mean ± 3 std`` of those values (:class:`~mlvigil.checks.limits.LearnedLimits`):

- **drift**: each chunk is compared with the rest of the reference (leave one chunk
  out, so a chunk is never compared with itself); the column's method is fixed to the
  one the engine picks at chunk size, and a window drifts when its statistic exceeds
  the upper limit. For tests with a signed statistic the magnitude is used (``|z|``
  for ``z``, ``|log odds ratio|`` for ``fisher_exact``).
- **performance**: each metric on each chunk; a window outside either limit is reported
  (below: degraded, above: improved, for metrics where larger is better).
- **business outcomes**: each outcome's rate or mean on each chunk; a window beyond the
  limit on the worse side fails.

Learning reads the reference once and runs at most :data:`MAX_LEARNING_CHUNKS`
comparisons per column, so it takes seconds even for a large reference; callers learn
once per reference and keep the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.business import Outcome
from mlvigil.checks.chunks import Chunk
from mlvigil.checks.drift import DriftConfig, detect_drift
from mlvigil.checks.drift_report import ColumnDrift, DriftReport, drift_magnitude
from mlvigil.checks.limits import LearnedLimits
from mlvigil.checks.performance import PerformanceConfig, measure, metric_range
from mlvigil.schema import ColumnType

__all__ = [
    "MAX_LEARNING_CHUNKS",
    "LearnedDrift",
    "apply_drift_limits",
    "learn_drift_limits",
    "learn_outcome_limits",
    "learn_performance_limits",
    "learning_chunks",
]

#: Reference chunks used for learning at most (evenly spread): 30 values give the
#: spread to within about 13%, and bound the work on very large references.
MAX_LEARNING_CHUNKS = 30

#: A last chunk smaller than this share of the others is left out of learning: a
#: small chunk varies more and would widen the limits.
_MIN_LAST_CHUNK = 0.5

#: Statistics bounded above by 1.
_UNIT_STATISTICS = frozenset({"ks", "jensenshannon", "hellinger"})


def learning_chunks(chunks: Sequence[Chunk], limit: int = MAX_LEARNING_CHUNKS) -> list[Chunk]:
    """The chunks to learn from: without a short last chunk, at most ``limit``, spread out.

    Examples
    --------
    >>> from mlvigil.checks.chunks import size_chunks
    >>> [c.index for c in learning_chunks(size_chunks(1030, 100), limit=4)]
    [0, 3, 6, 9]
    """
    usable = list(chunks)
    if len(usable) > 1 and usable[-1].rows < _MIN_LAST_CHUNK * usable[0].rows:
        usable = usable[:-1]
    if len(usable) <= limit:
        return usable
    picks = np.linspace(0, len(usable) - 1, limit).round().astype(int)
    return [usable[i] for i in picks]


def _chunk_rows(chunks: Sequence[Chunk]) -> int:
    return int(np.median([c.rows for c in chunks])) if chunks else 0


def _split(table: pa.Table, chunk: Chunk) -> tuple[pa.Table, pa.Table]:
    """The chunk's rows, and every other row of ``table``."""
    mask = np.ones(table.num_rows, dtype=bool)
    if chunk.indices is not None:
        mask[chunk.indices.to_numpy(zero_copy_only=False)] = False
    else:
        assert chunk.offset is not None
        mask[chunk.offset : chunk.offset + chunk.rows] = False
    return table.filter(pa.array(~mask)), table.filter(pa.array(mask))


@dataclass(frozen=True)
class LearnedDrift:
    """Per column: the method whose statistic was learned, and its limits."""

    methods: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, LearnedLimits] = field(default_factory=dict)

    def config(self, config: DriftConfig, columns: Sequence[str]) -> DriftConfig:
        """``config`` with the method of each learned column of ``columns`` fixed."""
        learned = {c: m for c, m in self.methods.items() if c in columns}
        return replace(config, column_methods={**config.column_methods, **learned})


def learn_drift_limits(
    reference: pa.Table,
    chunks: Sequence[Chunk],
    *,
    columns: Sequence[str],
    schema: Mapping[str, ColumnType],
    config: DriftConfig,
) -> LearnedDrift:
    """Limits of each column's drift statistic, from reference chunks vs the rest.

    Parameters
    ----------
    reference
        The reference rows.
    chunks
        Chunks of ``reference`` of a window's size (see :func:`learning_chunks`).
    columns, schema, config
        As :func:`~mlvigil.checks.drift.detect_drift` takes them.

    Returns
    -------
    LearnedDrift
        Columns with fewer than two testable chunks get no limits.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> from mlvigil.checks.chunks import size_chunks
    >>> table = pa.table({"x": np.random.default_rng(0).normal(size=6000)})
    >>> learned = learn_drift_limits(table, size_chunks(6000, 500), columns=["x"],
    ...                              schema={"x": ColumnType.NUMERICAL}, config=DriftConfig())
    >>> learned.methods["x"], learned.limits["x"].chunks
    ('ks', 12)
    """
    picked = learning_chunks(chunks)
    statistics: dict[str, list[float]] = {c: [] for c in columns}
    methods: dict[str, str] = {}
    for chunk in picked:
        current, rest = _split(reference.select(list(columns)), chunk)
        chosen = replace(config, column_methods={**config.column_methods, **methods})
        report = detect_drift(rest, current, columns=columns, schema=schema, config=chosen)
        for result in report:
            if result.tested and result.statistic is not None and result.method is not None:
                methods.setdefault(result.column, result.method)
                statistics[result.column].append(drift_magnitude(result.method, result.statistic))
    rows = _chunk_rows(picked)
    limits = {}
    for column, values in statistics.items():
        method = methods.get(column)
        if method is None:
            continue
        high = 1.0 if method in _UNIT_STATISTICS else math.inf
        learned = LearnedLimits.of(values, chunk_rows=rows, low=0.0, high=high)
        if learned is not None:
            limits[column] = learned
    return LearnedDrift({c: m for c, m in methods.items() if c in limits}, limits)


def _judged(column: ColumnDrift, learned: LearnedDrift) -> ColumnDrift:
    limits = learned.limits.get(column.column)
    method = learned.methods.get(column.column)
    if limits is None or method is None or column.method != method or column.statistic is None:
        return column
    magnitude = drift_magnitude(method, column.statistic)
    return replace(column, threshold=limits.upper, drifted=magnitude > limits.upper, limits=limits)


def apply_drift_limits(report: DriftReport, learned: LearnedDrift) -> DriftReport:
    """``report`` with each learned column judged by its learned upper limit.

    Columns without limits keep their verdict, so fixed and learned thresholds can be
    mixed (a column the reference could not learn keeps the method's threshold).
    """
    return replace(report, columns=tuple(_judged(c, learned) for c in report))


def learn_performance_limits(
    config: PerformanceConfig,
    chunks: Sequence[Chunk],
    inputs: Callable[[Chunk], tuple[Sequence[Any], Sequence[Any], Mapping[str, Any]]],
) -> dict[str, LearnedLimits]:
    """Limits of each metric over reference chunks.

    Parameters
    ----------
    config
        Task and metrics (its limits are ignored).
    chunks
        Reference chunks of a window's size.
    inputs
        For a chunk: its labels, predictions and the other keyword arguments of
        :func:`~mlvigil.checks.performance.measure` (scores, probabilities, classes).

    Examples
    --------
    >>> from mlvigil.checks.chunks import size_chunks
    >>> rng = np.random.default_rng(1)
    >>> truth = rng.integers(0, 2, 4000).astype(str)
    >>> guess = np.where(rng.random(4000) < 0.85, truth, 1 - truth.astype(int)).astype(str)
    >>> config = PerformanceConfig(metrics=("accuracy",), positive_label="1")
    >>> limits = learn_performance_limits(config, size_chunks(4000, 400),
    ...     lambda c: (truth[c.offset:c.offset + c.rows].tolist(),
    ...                guess[c.offset:c.offset + c.rows].tolist(), {}))
    >>> round(limits["accuracy"].mean, 1), limits["accuracy"].chunks
    (0.8, 10)
    """
    picked = learning_chunks(chunks)
    values: dict[str, list[float]] = {m: [] for m in config.metrics}
    for chunk in picked:
        y_true, y_pred, extra = inputs(chunk)
        measured = measure(replace(config, limits={}), y_true, y_pred, **extra).values
        for metric, value in measured.items():
            values[metric].append(value)
    rows = _chunk_rows(picked)
    limits = {}
    for metric, observed in values.items():
        low, high = metric_range(metric)
        learned = LearnedLimits.of(observed, chunk_rows=rows, low=low, high=high)
        if learned is not None:
            limits[metric] = learned
    return limits


def learn_outcome_limits(
    outcomes: Mapping[str, Outcome], table: pa.Table, chunks: Sequence[Chunk]
) -> dict[str, Outcome]:
    """``outcomes``, each without bounds given limits from ``table``'s column if it has one.

    Examples
    --------
    >>> from mlvigil.checks.chunks import size_chunks
    >>> rng = np.random.default_rng(2)
    >>> table = pa.table({"converted": (rng.random(5000) < 0.1).astype(float)})
    >>> learned = learn_outcome_limits({"converted": Outcome("rate")}, table,
    ...                                size_chunks(5000, 500))
    >>> limits = learned["converted"].limits
    >>> round(limits.mean, 2), limits.chunks, 0 < limits.lower < 0.1 < limits.upper
    (0.1, 10, True)
    """
    picked = learning_chunks(chunks)
    learned = dict(outcomes)
    for column, outcome in outcomes.items():
        bounded = outcome.minimum is not None or outcome.maximum is not None
        if bounded or column not in table.column_names or not picked:
            continue
        values = []
        for chunk in picked:
            known = pc.drop_null(chunk.rows_of(table).column(column))
            values.append(float(pc.mean(known).as_py()) if len(known) else math.nan)
        high = 1.0 if outcome.kind == "rate" else math.inf
        low = 0.0 if outcome.kind == "rate" else -math.inf
        limits = LearnedLimits.of(values, chunk_rows=_chunk_rows(picked), low=low, high=high)
        if limits is not None:
            learned[column] = replace(outcome, limits=limits)
    return learned
