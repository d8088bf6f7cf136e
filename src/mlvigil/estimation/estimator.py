"""Performance without labels: :class:`PerformanceEstimator`, fitted once on a labelled reference.

Labels often arrive weeks after predictions, if ever. The estimator learns on a
labelled reference what the model's outputs say about its own performance, and
estimates each unlabelled window's metrics from the outputs alone:

- **classification**, confidence-based: calibrated probabilities give an expected
  confusion matrix and an expected ROC curve (:mod:`mlvigil.estimation.confidence`,
  :mod:`mlvigil.estimation.calibration`);
- **regression**, direct loss estimation: a model of each row's error
  (:mod:`mlvigil.estimation.loss`).

Each estimate comes with its sampling error at the window's size and a ``± 3 SE``
band (:mod:`mlvigil.estimation.sampling`), and, when the estimator was fitted with
reference chunks of a window's size, with limits learned from the estimate over those
chunks (:mod:`mlvigil.estimation.judging`). Windows that have labels get the realized
metric beside the estimate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from mlvigil.checks.chunks import Chunk
from mlvigil.checks.classes import ClassSet
from mlvigil.checks.limits import LearnedLimits
from mlvigil.checks.result import CheckResult, Severity
from mlvigil.checks.scores import SCORE_SEMANTICS, ScoreSemantics
from mlvigil.checks.thresholds import learning_chunks
from mlvigil.estimation import classification, loss
from mlvigil.estimation.calibration import CalibrationMode
from mlvigil.estimation.classification import ConfidenceModel
from mlvigil.estimation.columns import as_table
from mlvigil.estimation.judging import (
    estimate_error,
    estimate_result,
    estimated_metrics,
    learned_limits,
)
from mlvigil.estimation.loss import LossModel
from mlvigil.exceptions import ConfigError, InputError
from mlvigil.io.conform import category_text
from mlvigil.io.tables import TableLike

__all__ = ["EstimationConfig", "PerformanceEstimator"]

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class EstimationConfig:
    """What to estimate, from which columns, and how.

    Parameters
    ----------
    task
        ``classification`` (confidence-based estimation) or ``regression`` (direct
        loss estimation).
    metrics
        Which metrics to estimate. Classification: ``accuracy``, ``precision``,
        ``recall``, ``f1``, ``specificity``, ``roc_auc``; regression: ``mae``,
        ``mse``, ``rmse``, ``mape``; all of the task's by default.
    prediction, target
        The predicted value (class) column and the label column (labels are needed on
        the reference only).
    score
        The score column of a binary classifier (see ``score_is``).
    probabilities
        Class -> probability column, one per class (multiclass models, or binary
        ones that report both); takes precedence over ``score``.
    score_is
        What ``score`` holds: ``positive_probability`` or ``confidence`` (of the
        predicted class).
    positive_label
        The positive class of a binary model (``1``, ``1.0`` and ``"1"`` are one class).
    features
        Regression: the model's input columns, for the loss model.
    calibration
        ``auto`` (recalibrate when it helps on held-out folds of the reference),
        ``always`` or ``never``.
    min_rows
        A window with fewer usable rows gives error results, not estimates.
    min_labels
        A window's realized value is shown from this many labelled rows.
    severity
        Severity of a degraded estimate.
    seed
        Seed of every random draw (calibration folds, the loss models).
    """

    task: Task = "classification"
    metrics: tuple[str, ...] = ()
    prediction: str = "prediction"
    target: str = "label"
    score: str | None = "score"
    probabilities: Mapping[str, str] | None = None
    score_is: ScoreSemantics = "positive_probability"
    positive_label: Any = 1
    features: tuple[str, ...] = ()
    calibration: CalibrationMode = "auto"
    min_rows: int = 30
    min_labels: int = 30
    severity: Severity = Severity.ERROR
    seed: int = 0

    def __post_init__(self) -> None:
        if self.task not in ("classification", "regression"):
            raise ConfigError(f"task must be classification or regression, got {self.task!r}")
        known = estimated_metrics(self.task)
        chosen = tuple(self.metrics) or known
        unknown = [m for m in chosen if m not in known]
        if unknown:
            raise ConfigError(
                f"cannot estimate {self.task} metric(s) {unknown}; choose from {', '.join(known)}"
            )
        if self.score_is not in SCORE_SEMANTICS:
            raise ConfigError(
                f"score_is must be one of {', '.join(SCORE_SEMANTICS)}, got {self.score_is!r}"
            )
        if self.calibration not in ("auto", "always", "never"):
            raise ConfigError(
                f"calibration must be auto, always or never, got {self.calibration!r}"
            )
        for name in ("min_rows", "min_labels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")
        if self.task == "classification" and self.score is None and not self.probabilities:
            raise ConfigError(
                "classification estimates need scores: name a score column (score=) or one "
                "probability column per class (probabilities=)"
            )
        if self.probabilities is not None:
            object.__setattr__(self, "probabilities", MappingProxyType(dict(self.probabilities)))
        object.__setattr__(self, "metrics", chosen)
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "severity", Severity(self.severity))

    @property
    def columns(self) -> list[str]:
        """Every column the estimator reads (the target on the reference only)."""
        scores = list(self.probabilities.values()) if self.probabilities else [self.score]
        names = [self.target, self.prediction]
        names += [c for c in scores if c is not None] if self.task == "classification" else []
        return list(dict.fromkeys([*names, *self.features]))

    @property
    def method(self) -> str:
        """``confidence`` (classification) or ``loss`` (regression)."""
        return "confidence" if self.task == "classification" else "loss"


def _classes(reference: pa.Table, config: EstimationConfig) -> ClassSet:
    columns = [reference.column(c) for c in (config.target, config.prediction)
               if c in reference.column_names]  # fmt: skip
    found = ClassSet.of_columns(*columns) if columns else None
    names = set(found.classes if found else ())
    if config.probabilities:
        names |= {category_text(k) or "" for k in config.probabilities}
    if not names:
        raise InputError(
            f"the reference's {config.target!r} and {config.prediction!r} columns hold no "
            "class; give a labelled reference"
        )
    return ClassSet.of(names)


def _chunk_fits(chunk: Chunk, rows: int) -> bool:
    if chunk.indices is not None:
        return chunk.rows > 0 and max(chunk.indices.to_pylist(), default=-1) < rows
    return chunk.rows > 0 and (chunk.offset or 0) + chunk.rows <= rows


class PerformanceEstimator:
    """Estimates a model's performance on unlabelled windows; build it with :meth:`fit`.

    Attributes
    ----------
    config
        What is estimated, from which columns.
    classes
        The class set labels and predictions are mapped onto (classification).
    limits
        Per metric, the limits learned from the estimate over reference chunks (empty
        without chunks: estimates are then reported, never judged).
    warnings
        What to know about the fit (scores that contradict ``score_is``, scores
        recalibrated from outside ``[0, 1]``, too few reference chunks...).
    calibrated
        Whether the scores are recalibrated on the reference (classification).
    calibration
        Why they are or are not, in words (classification; ``None`` for regression).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(3000)
    >>> table = pa.table({"label": (rng.random(3000) < p).astype(int),
    ...                   "prediction": (p > 0.5).astype(int), "score": p})
    >>> estimator = PerformanceEstimator.fit(table, EstimationConfig(metrics=("accuracy",)))
    >>> [result] = estimator.estimate(table.slice(0, 1000))
    >>> result.metric, round(result.value, 2), result.details.calibrated
    ('accuracy', 0.75, False)
    """

    def __init__(
        self,
        config: EstimationConfig,
        model: ConfidenceModel | LossModel,
        limits: Mapping[str, LearnedLimits],
        warnings: Sequence[str],
    ) -> None:
        self.config = config
        self._model = model
        self.limits: Mapping[str, LearnedLimits] = MappingProxyType(dict(limits))
        self.warnings: tuple[str, ...] = tuple(warnings)

    @classmethod
    def fit(
        cls,
        reference: TableLike,
        config: EstimationConfig,
        *,
        chunks: Sequence[Chunk] | None = None,
        classes: ClassSet | None = None,
    ) -> PerformanceEstimator:
        """Learn from a labelled reference; with ``chunks``, learn limits too.

        Parameters
        ----------
        reference
            Rows with the target, the prediction, the score(s) and (regression) the
            features: a pyarrow table, or a path / pandas / polars table.
        config
            What to estimate, from which columns.
        chunks
            Chunks of ``reference`` of a window's size: each metric's limits are
            ``mean ± 3 std`` of its estimate over them (at most 30 are used).
        classes
            The class set labels and predictions are mapped onto; built from the
            reference's target, prediction and probability classes when ``None``.

        Raises
        ------
        InputError
            When the reference lacks a column, has too few labelled rows, or a chunk
            does not fit it.
        ConfigError
            When the positive label or the probability columns do not fit the classes.
        """
        table = as_table(reference, config.columns)
        model: ConfidenceModel | LossModel
        if config.task == "classification":
            known = classes if classes is not None else _classes(table, config)
            model = ConfidenceModel.fit(table, config, known)
        else:
            model = LossModel.fit(table, config)
        warnings = list(model.warnings)
        limits: dict[str, LearnedLimits] = {}
        if chunks is not None and model.problem is None:
            limits = cls._learn(model, config, table, chunks, warnings)
        return cls(config, model, limits, warnings)

    @staticmethod
    def _learn(
        model: ConfidenceModel | LossModel,
        config: EstimationConfig,
        table: pa.Table,
        chunks: Sequence[Chunk],
        warnings: list[str],
    ) -> dict[str, LearnedLimits]:
        bad = [c.key for c in chunks if not _chunk_fits(c, table.num_rows)]
        if bad:
            raise InputError(
                f"reference chunk {bad[0]!r} does not fit the reference ({table.num_rows} "
                "rows); make chunks of the reference with size_chunks or period_chunks"
            )
        picked = learning_chunks(chunks)
        values: dict[str, list[float]] = {m: [] for m in config.metrics}
        for chunk in picked:
            rows = model.rows(chunk.rows_of(table))
            if isinstance(rows, str) or len(rows) < config.min_rows:
                continue
            for metric, value in model.estimates(rows).items():  # type: ignore[arg-type]
                if metric in values:
                    values[metric].append(value)
        size = int(np.median([c.rows for c in picked])) if picked else 0
        limits = learned_limits(config.metrics, values, size)
        if not limits:
            warnings.append(
                f"no limits learned: they need at least 2 reference chunks of {size:,} rows "
                "that can be estimated; estimates are reported without a verdict"
            )
        elif (note := next(iter(limits.values())).note) is not None:
            warnings.append(note)
        return limits

    @property
    def classes(self) -> ClassSet | None:
        """The class set labels and predictions are mapped onto (``None`` for regression)."""
        return self._model.classes if isinstance(self._model, ConfidenceModel) else None

    @property
    def calibrated(self) -> bool:
        """Whether the scores are recalibrated on the reference."""
        model = self._model
        return isinstance(model, ConfidenceModel) and model.calibration.calibrated

    @property
    def calibration(self) -> str | None:
        """Why the scores are or are not recalibrated (classification)."""
        model = self._model
        return model.calibration.reason if isinstance(model, ConfidenceModel) else None

    def estimate(self, table: TableLike, *, labels: str | None = None) -> list[CheckResult]:
        """One result per metric: the estimate, its band, its verdict by the learned limits.

        Parameters
        ----------
        table
            A window's rows (prediction, score(s), features).
        labels
            A column of ``table`` holding labels where known (nulls: unlabelled): with
            at least ``min_labels`` of them, each result shows the realized metric,
            measured from the raw scores, beside the estimate.

        Returns
        -------
        list of CheckResult
            ``check=estimation``, ``metric`` the metric, ``value`` the estimate,
            ``details`` an :class:`~mlvigil.checks.details.EstimationDetails`; status
            ``error`` (no value, the reason in ``message``) for a window that cannot
            be estimated: too few rows, a missing or non-numeric column, scores that
            contradict ``score_is``, predictions of unknown classes.

        Raises
        ------
        InputError
            When ``labels`` is not a column of ``table``.
        """
        config, model = self.config, self._model
        names = [*config.columns, *([labels] if labels else [])]
        window = as_table(table, names)
        if labels is not None and labels not in window.column_names:
            raise InputError(f"labels column {labels!r} is not a column of the window")
        rows = model.rows(window)
        if isinstance(rows, str):
            return self._errors(rows, Severity.WARNING, window.num_rows)
        if len(rows) < config.min_rows:
            reason = (
                f"{len(rows)} of the window's {window.num_rows} rows can be estimated (with a "
                f"prediction{' and a score' if config.task == 'classification' else ''}); at "
                f"least {config.min_rows} are needed"
            )
            return self._errors(reason, Severity.INFO, len(rows))
        values = model.estimates(rows)  # type: ignore[arg-type]
        realized: dict[str, float] = {}
        if labels is not None:
            realized, _ = model.realized(window, labels, config.metrics)
        calibrated = self.calibrated if config.task == "classification" else None
        assumptions = (
            classification.ASSUMPTIONS if config.task == "classification" else loss.ASSUMPTIONS
        )
        results = []
        for metric in config.metrics:
            value = values[metric]
            if not np.isfinite(value):
                why = f"{metric} is undefined on these rows (e.g. no positive expected)"
                results.append(
                    estimate_error(
                        metric, why, severity=Severity.WARNING, rows=len(rows), method=config.method
                    )
                )
                continue
            results.append(
                estimate_result(
                    metric,
                    value,
                    rows=len(rows),
                    standard_error=self._standard_error(metric, len(rows)),
                    limits=self.limits.get(metric),
                    severity=config.severity,
                    method=config.method,
                    realized=realized.get(metric),
                    calibrated=calibrated,
                    assumptions=assumptions,
                )
            )
        return results

    def _standard_error(self, metric: str, rows: int) -> float | None:
        spread = self._model.spread.get(metric)
        return spread.standard_error(rows) if spread is not None else None

    def _errors(self, message: str, severity: Severity, rows: int) -> list[CheckResult]:
        method = self.config.method
        return [
            estimate_error(metric, message, severity=severity, rows=rows, method=method)
            for metric in self.config.metrics
        ]
