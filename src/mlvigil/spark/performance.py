"""Performance at scale: one mergeable performance state per window, built in the tasks.

Each task summarises its labelled rows with
:meth:`~mlvigil.checks.performance_state.PerformanceState.of_arrays` (confusion
counts, error sums, score histograms), per window and segment; the partial states
are merged on the executors and the driver receives one per key. Judge them with
:func:`~mlvigil.checks.performance_judging.state_results`, or read
:meth:`~mlvigil.checks.performance_state.PerformanceState.metrics`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mlvigil.checks.performance_state import SCORE_BINS, PerformanceState
from mlvigil.checks.scores import ScoreSemantics
from mlvigil.exceptions import ConfigError
from mlvigil.spark.driver import (
    check_columns,
    check_timestamp,
    collect_summaries,
    pyspark_module,
    quoted,
    window_micros,
)
from mlvigil.spark.keys import SparkResults
from mlvigil.spark.partition import BUFFER_BYTES, Splitter, summarize_batches

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["PartitionPerformance", "SparkPerformance", "performance_state_dataframe"]


class SparkPerformance(SparkResults[PerformanceState]):
    """Merged performance states of a DataFrame, one per (window start, segment values)."""


@dataclass(frozen=True, slots=True)
class PartitionPerformance:
    """Builds one partition's performance states per (window start, segment values).

    Attributes
    ----------
    label, prediction
        Label and prediction columns.
    score
        One score column, or ``None``.
    probabilities
        Class -> probability column, or empty.
    options
        Keyword options of :meth:`PerformanceState.of_arrays` (task, positive
        label, score meaning, bins).
    split
        How rows are keyed.
    buffer_bytes
        Arrow bytes buffered before each round of summaries.
    """

    label: str
    prediction: str
    score: str | None
    probabilities: tuple[tuple[Any, str], ...]
    options: tuple[tuple[str, Any], ...]
    split: Splitter
    buffer_bytes: int = BUFFER_BYTES

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Yield one batch of ``(window_start, segment, summary)`` rows, or none."""

        def summarize(part: pa.Table) -> PerformanceState:
            return PerformanceState.of_arrays(
                y_true=part[self.label],
                y_pred=part[self.prediction],
                y_score=None if self.score is None else part[self.score],
                probabilities={c: part[name] for c, name in self.probabilities} or None,
                **dict(self.options),
            )

        return summarize_batches(batches, self.split, summarize, buffer_bytes=self.buffer_bytes)


def performance_state_dataframe(
    df: DataFrame,
    *,
    label: str,
    prediction: str,
    score: str | None = None,
    probabilities: Mapping[Any, str] | None = None,
    task: str = "classification",
    positive_label: Any = None,
    score_is: ScoreSemantics = "positive_probability",
    bins: int = SCORE_BINS,
    timestamp: str | None = None,
    window: timedelta | None = None,
    segments: Sequence[str] = (),
) -> SparkPerformance:
    """Performance states of a Spark DataFrame per window and segment, built in the tasks.

    Parameters
    ----------
    df
        Predictions with their labels (null labels: unlabelled rows, counted in
        ``rows`` and so in the label coverage).
    label, prediction
        Label and prediction columns.
    score
        One score column (binary models, with ``positive_label``).
    probabilities
        Class -> probability column (multiclass; binary with ``positive_label``).
    task
        ``classification`` or ``regression``.
    positive_label
        The positive class of a binary model; ``None`` for multiclass.
    score_is
        ``positive_probability`` or ``confidence``.
    bins
        Score histogram bins on [0, 1] (ROC AUC's error bound shrinks with them).
    timestamp, window, segments
        As for :func:`~mlvigil.spark.profile_dataframe`: which rows form a window
        (the window of a prediction is its own timestamp's, whenever its label came).

    Returns
    -------
    SparkPerformance
        A mapping from :class:`~mlvigil.spark.ProfileKey` to
        :class:`~mlvigil.checks.performance_state.PerformanceState`; the same
        state, up to float rounding, as one machine builds from the same rows.

    Raises
    ------
    InputError
        When a named column is missing or the timestamp is not a timestamp.
    ConfigError
        For a bad window, task or bins.

    Examples
    --------
    A binary model's accuracy and ROC AUC per hour (``df`` is a Spark DataFrame)::

        states = performance_state_dataframe(
            df, label="label", prediction="prediction", score="score", positive_label=1,
            timestamp="timestamp", window=timedelta(hours=1))
        {key.window_start: s.metrics()["roc_auc"] for key, s in states.items()}
    """
    functions = pyspark_module("pyspark.sql.functions")
    if task not in ("classification", "regression"):
        raise ConfigError(f"task must be classification or regression, got {task!r}")
    if score is not None and positive_label is None:
        raise ConfigError("a score column needs the positive_label it is about")
    segments = tuple(segments)
    window_us = window_micros(window, timestamp)
    pairs = tuple((c, name) for c, name in (probabilities or {}).items())
    needed = [label, prediction, *([score] if score else []), *(name for _, name in pairs)]
    needed += [name for name in (timestamp, *segments) if name is not None]
    needed = list(dict.fromkeys(needed))
    check_columns(df, needed, "columns")
    check_timestamp(df, timestamp)
    options = (("task", task), ("positive_label", positive_label), ("score_is", score_is))
    task_fn = PartitionPerformance(
        label,
        prediction,
        score,
        pairs,
        (*options, ("bins", bins)),
        Splitter(timestamp, window_us, segments),
    )
    selected = df.select(*(functions.col(quoted(name)) for name in needed))
    merged = collect_summaries(selected, task_fn, "performance", PerformanceState.deserialize)
    return SparkPerformance(merged, timestamp=timestamp, window=window, segments=segments)
