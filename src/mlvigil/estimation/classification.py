"""Confidence-based estimation of a classifier: what the reference teaches, what a window gives.

:class:`ConfidenceModel` holds what the reference teaches once: the class set, the
positive class, the calibrator (:mod:`mlvigil.estimation.calibration`) and the
row-level spread of each metric (:mod:`mlvigil.estimation.sampling`). For a window it
reads the predictions and scores (:meth:`ConfidenceModel.rows`), checks them as the
realized checks do (classes the reference never had, scores that contradict
``score_is``), and estimates the metrics from the calibrated probabilities
(:mod:`mlvigil.estimation.confidence`). Realized metrics, where a window has labels,
come from the raw scores through :func:`mlvigil.checks.performance.measure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from mlvigil.checks.classes import ClassSet
from mlvigil.checks.metrics import CLASSIFICATION_METRICS
from mlvigil.checks.performance import PerformanceConfig, measure
from mlvigil.checks.scores import (
    positive_probability,
    probability_contradiction,
    score_contradiction,
)
from mlvigil.estimation.calibration import Calibration, Calibrator, choose_calibration
from mlvigil.estimation.columns import class_codes, class_values, float_values
from mlvigil.estimation.confidence import binary_estimates, confusion_metrics, multiclass_estimates
from mlvigil.estimation.sampling import Spread, binary_spread, multiclass_spread
from mlvigil.exceptions import ConfigError, InputError

if TYPE_CHECKING:
    from mlvigil.estimation.estimator import EstimationConfig

__all__ = ["ASSUMPTIONS", "ConfidenceModel", "ScoredRows"]

#: What confidence-based estimates take for granted.
ASSUMPTIONS = (
    "the probabilities are calibrated (recalibrated on the reference when that helps)",
    "no concept shift: P(label | inputs) is as on the reference",
    "no shift into regions of the inputs the reference does not cover",
)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ScoredRows:
    """A window's usable rows: predictions, raw and calibrated probabilities.

    Binary models: ``predicted`` is whether each row was predicted positive, and the
    probabilities are the positive class's (``n``). Multiclass: ``predicted`` is the
    column number of the predicted class, probabilities ``n x classes``.
    """

    predicted: npt.NDArray[Any]
    raw: FloatArray
    calibrated: FloatArray
    multiclass: bool

    def __len__(self) -> int:
        return int(self.predicted.shape[0])


def _quoted(values: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


class ConfidenceModel:
    """What confidence-based estimation learned from a classifier's reference.

    Build it with :meth:`fit`.
    """

    def __init__(
        self,
        config: EstimationConfig,
        classes: ClassSet,
        positive: str,
        columns: Mapping[str, str],
    ) -> None:
        self.config = config
        self.classes = classes
        self.positive = positive
        #: Class -> probability column (multiclass), or {positive: score column} (binary).
        self.columns = dict(columns)
        self.multiclass = len(self.columns) > 2 or (
            config.probabilities is None and len(classes) > 2
        )
        self.calibration = Calibration(Calibrator(), "not fitted")
        self.spread: dict[str, Spread] = {}
        #: Why no window can be estimated (the reference's scores contradict score_is).
        self.problem: str | None = None
        self.warnings: list[str] = []
        #: Whether the reference's scores were probabilities, in [0, 1]: a window's
        #: scores outside it then mean they changed meaning, calibrated or not.
        self.probabilities = True

    @property
    def labels(self) -> list[str]:
        """The classes of the probability columns, in order."""
        return list(self.columns)

    @property
    def scores(self) -> list[str]:
        """The score columns estimation reads: every class's (multiclass), else the positive's."""
        return list(self.columns.values()) if self.multiclass else [self.columns[self.positive]]

    @classmethod
    def fit(
        cls, reference: pa.Table, config: EstimationConfig, classes: ClassSet
    ) -> ConfidenceModel:
        """Learn the calibrator and the spread of each metric from the labelled reference.

        Raises
        ------
        InputError
            When the reference lacks a column, or has fewer labelled rows than
            ``config.min_rows``.
        ConfigError
            When the positive label or a probability column's class is not a class of
            the reference, or a multiclass model has no probability columns.
        """
        positive = classes.canonical(config.positive_label) or ""
        if config.probabilities is not None:
            columns = {classes.canonical(k) or "": v for k, v in config.probabilities.items()}
            unknown = [k for k in columns if k not in classes]
            if unknown:
                raise ConfigError(
                    f"probabilities name classes the reference does not have: {_quoted(unknown)} "
                    f"(classes: {_quoted(list(classes.classes))})"
                )
        elif len(classes) > 2:
            raise ConfigError(
                f"the reference has {len(classes)} classes: a multiclass model needs one "
                "probability column per class (probabilities={class: column})"
            )
        else:
            assert config.score is not None
            columns = {positive: config.score}
        model = cls(config, classes, positive, columns)
        if not model.multiclass and len(classes) == 2 and positive not in classes:
            raise ConfigError(
                f"positive_label {config.positive_label!r} is not one of the reference's classes "
                f"{list(classes.classes)}; set it to the positive class"
            )
        if not model.multiclass and positive not in columns:
            raise ConfigError(f"probabilities has no column for the positive class {positive!r}")
        needed = [config.target, config.prediction, *columns.values()]
        missing = [c for c in needed if c not in reference.column_names]
        if missing:
            raise InputError(f"the reference has no column {_quoted(missing)}")
        labelled = reference.filter(reference.column(config.target).is_valid())
        model._learn(labelled)
        return model

    def _learn(self, labelled: pa.Table) -> None:
        config = self.config
        read = self._read(labelled, Calibrator(), check_range=False)
        if isinstance(read, str):
            self.problem = f"the reference's scores cannot be used: {read}"
            self.warnings.append(self.problem)
            return
        rows, usable = read
        if len(rows) < config.min_rows:
            raise InputError(
                f"the reference has {len(rows)} labelled rows with a prediction and a score; "
                f"at least {config.min_rows} are needed to learn from"
            )
        truth = class_codes(labelled, config.target, self.classes, self.labels)
        if truth.unknown:
            raise InputError(
                f"the reference's labels hold unknown classes: {_quoted(truth.unknown)}"
            )
        actual = truth.codes[usable]
        if self.multiclass:
            target: npt.NDArray[Any] = actual[:, None] == np.arange(len(self.labels))[None, :]
            self.spread = multiclass_spread(actual, rows.predicted, rows.raw)
        else:
            target = actual == 0  # the positive class is the one label asked for
            self.spread = binary_spread(target, rows.predicted, rows.raw)
        mode = config.calibration
        outside = bool(rows.raw.min() < 0 or rows.raw.max() > 1)  # min_rows >= 1 rows here
        self.probabilities = not outside
        if outside:
            if mode == "never":
                raise ConfigError(
                    "the scores are outside [0, 1], so they are not probabilities: set "
                    "calibration='auto' to calibrate them on the reference"
                )
            mode = "always"
            self.warnings.append("the scores are outside [0, 1]: calibrated on the reference")
        self.calibration = choose_calibration(rows.raw, target, mode=mode, seed=config.seed)

    def _read(
        self, table: pa.Table, calibrator: Calibrator, *, check_range: bool = True
    ) -> tuple[ScoredRows, npt.NDArray[np.bool_]] | str:
        """The usable rows of ``table`` and which they are, or why they cannot be read."""
        config = self.config
        missing = [c for c in (config.prediction, *self.scores) if c not in table.column_names]
        if missing:
            return f"no column {_quoted(missing)} in the window"
        try:
            predicted = class_codes(table, config.prediction, self.classes, self.labels)
            raw = np.column_stack([float_values(table, c) for c in self.scores])
        except InputError as error:
            return str(error)
        if predicted.unknown:
            return (
                f"the predictions hold classes the reference never had: "
                f"{_quoted(predicted.unknown)} (reference classes: "
                f"{_quoted(list(self.classes.classes))})"
            )
        usable = predicted.valid & np.isfinite(raw).all(axis=1)
        codes, raw = predicted.codes[usable], raw[usable]
        if self.multiclass:
            scored = self._multiclass(codes, raw)
        else:
            scored = self._binary(codes == 0, raw[:, 0])
        if isinstance(scored, str):
            return scored
        outside = scored.size > 0 and (scored.min() < 0 or scored.max() > 1)
        if check_range and self.probabilities and outside:
            return (
                "scores outside [0, 1] are not probabilities, and the reference's were: "
                "has the model started sending logits or percentages?"
            )
        chosen = codes if self.multiclass else codes == 0
        return ScoredRows(chosen, scored, calibrator.apply(scored), self.multiclass), usable

    def _binary(self, positive: npt.NDArray[np.bool_], raw: FloatArray) -> FloatArray | str:
        semantics = "positive_probability" if self.config.probabilities else self.config.score_is
        problem = score_contradiction(semantics, raw, positive) if raw.size else None
        return problem if problem is not None else positive_probability(semantics, raw, positive)

    def _multiclass(self, codes: npt.NDArray[np.intp], raw: FloatArray) -> FloatArray | str:
        if not raw.size:
            return raw
        if (codes < 0).any():
            return "some rows predict a class that has no probability column"
        labels = np.asarray(self.labels, dtype=object)
        columns = {label: raw[:, i] for i, label in enumerate(self.labels)}
        problem = probability_contradiction(columns, labels[codes].tolist())
        return problem if problem is not None else raw

    def rows(self, table: pa.Table) -> ScoredRows | str:
        """A window's usable rows (prediction and every score present), or why it has none."""
        if self.problem is not None:
            return self.problem
        read = self._read(table, self.calibration.calibrator)
        return read if isinstance(read, str) else read[0]

    @staticmethod
    def estimates(rows: ScoredRows) -> dict[str, float]:
        """Every estimated metric of some usable rows."""
        if rows.multiclass:
            return multiclass_estimates(rows.calibrated, rows.raw, rows.predicted)
        return binary_estimates(rows.calibrated, rows.raw, rows.predicted)

    def realized(
        self, table: pa.Table, labels: str, metrics: Sequence[str]
    ) -> tuple[dict[str, float], int]:
        """The metrics measured from the raw scores of the labelled rows, and their count.

        Empty when fewer than ``min_labels`` rows are labelled or the inputs do not
        line up (see :func:`~mlvigil.checks.performance.measure`).
        """
        config = self.config
        labelled = table.filter(table.column(labels).is_valid())
        count = labelled.num_rows
        if count < config.min_labels or any(
            c not in labelled.column_names for c in (config.prediction, *self.columns.values())
        ):
            return {}, count
        y_true = class_values(labelled, labels, self.classes)
        y_pred = class_values(labelled, config.prediction, self.classes)
        extra: dict[str, Any] = {"classes": self.classes}
        if config.probabilities is not None:
            extra["probabilities"] = {k: float_values(labelled, c) for k, c in self.columns.items()}
        else:
            extra["y_score"] = float_values(labelled, self.columns[self.positive])
        measured = measure(
            PerformanceConfig(
                metrics=tuple(m for m in metrics if m in CLASSIFICATION_METRICS),
                positive_label=self.positive,
                min_labels=1,
                score_is=config.score_is,
            ),
            y_true.tolist(),
            y_pred.tolist(),
            **extra,
        )
        values = dict(measured.values)
        if "specificity" in metrics and not self.classes.unknown([*y_true, *y_pred]):
            values["specificity"] = self._specificity(y_true, y_pred)
        return values, count

    def _specificity(self, y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> float:
        # checks.metrics has no specificity: one-vs-rest from the confusion matrix.
        classes = self.labels if self.multiclass else [self.positive]
        values = []
        for label in classes:
            actual, predicted = y_true == label, y_pred == label
            counts = (
                float(np.sum(actual & predicted)),
                float(np.sum(~actual & predicted)),
                float(np.sum(actual & ~predicted)),
                float(np.sum(~actual & ~predicted)),
            )
            values.append(confusion_metrics(*counts)["specificity"])
        return float(np.mean(values))
