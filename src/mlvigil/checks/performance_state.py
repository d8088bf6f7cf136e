"""Mergeable performance state: the metrics of labelled rows without keeping the rows.

The :class:`PerformanceState` of parts (Spark partitions, windows, jobs) merge into
the state of the whole and give the metrics of :mod:`mlvigil.checks.metrics` on all
the rows. Classification keeps confusion counts per (true, predicted) class
(accuracy, precision, recall, F1: exact), the log-loss sum, and per class
fixed-bin histograms of its probability over the rows of that class and the others
(1024 bins on [0, 1]) for ROC AUC: pairs in different bins are ordered exactly,
pairs in one bin count a half, so the AUC is within
``0.5 · Σ_b pos_b · neg_b / (P · N)`` (:meth:`PerformanceState.roc_auc_error`).
Regression keeps the row count, the sums of the absolute, squared and absolute
percentage errors, and the target's mean and squared deviations (for R², merged as
moments are). Built with vectorised numpy from Arrow columns; serialized as a magic
header, a version byte and zlib-compressed JSON with sparse histograms.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.classes import ClassSet
from mlvigil.checks.performance import (
    _SCORE_METRICS,
    Measurement,
    PerformanceConfig,
    _chosen,
    _class_problem,
)
from mlvigil.checks.scores import (
    MIN_ROWS_PER_CLASS,
    MIN_SEPARATION,
    TOLERATED_SHARE,
    ScoreSemantics,
)
from mlvigil.exceptions import ConfigError, InputError
from mlvigil.profile.errors import ProfileFormatError, ProfileMergeError

__all__ = ["SCORE_BINS", "PerformanceState", "label_order"]

#: Default number of score histogram bins on [0, 1].
SCORE_BINS = 1024
_MAGIC = b"MLVPERF"
_VERSION = 1
_EPS = float(np.finfo(np.float64).eps)
_HISTOGRAMS = ("positives", "negatives", "separation")
#: Most bytes a serialized state may inflate to (about 20,000 classes' histograms).
_MAX_INFLATED = 256 * 1024 * 1024
_NONE = np.zeros((0, 0), np.int64)  # no histograms (or no classes)
#: Why scores cannot give ROC AUC and log loss (as mlvigil.checks.scores says of rows).
_WHY = {
    "unscored": "no score column: declare schema.score or schema.probabilities",
    "positive": "the scores are about the class {!r}, not the positive label {!r}",
    "missing": "{} scores or class probabilities of labelled rows are missing",
    "off_sum": "the class probabilities of {:.0%} of the rows do not sum to 1",
    "not_argmax": "the predicted class is not the most probable one in {:.0%} of the rows",
    "below_half": "{:.0%} of the scores are below 0.5: not confidences in the predicted class",
    "separation": "the scores do not decide the predictions as a positive-class probability "
    "does (separation AUC {:.2f}): check positive_label and score_is",
}

Label = Any
Task = Literal["classification", "regression"]
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def label_order(label: Label) -> tuple[str, str]:
    """Sort key of labels of mixed types (classes are kept in this order)."""
    return (type(label).__name__, str(label))


def _scalar(label: Label) -> Label:
    return label.item() if isinstance(label, np.generic) else label  # numpy -> JSON-able


def _arrow(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values if isinstance(values, pa.Array) else pa.array(values)


def _floats(values: Any) -> Floats:
    array = _arrow(values).cast(pa.float64())
    return np.asarray(pc.fill_null(array, np.nan).to_numpy(zero_copy_only=False), np.float64)


def _codes(values: pa.Array, classes: dict[Label, int], *, null_class: bool = False) -> Ints:
    """Index of each value's class in ``classes`` (added as found); -1 for nulls.

    One Python step per distinct value, none per row. With ``null_class`` a null
    is the class ``None``.
    """
    encoded = pc.dictionary_encode(values, null_encoding="encode" if null_class else "mask")
    distinct = encoded.dictionary.to_pylist()
    lookup = np.array([classes.setdefault(v, len(classes)) for v in distinct] + [-1], np.int64)
    indices = pc.fill_null(encoded.indices, len(distinct)).to_numpy(zero_copy_only=False)
    return lookup[np.asarray(indices, dtype=np.int64)]


def _histogram(scores: Floats, bins: int) -> Ints:
    index = np.clip(np.floor(scores * bins), 0, bins - 1).astype(np.int64)
    return np.bincount(index, minlength=bins).astype(np.int64)


def _auc(positive: Ints, negative: Ints) -> tuple[float, float]:
    """AUC from two histograms, and the bound on its error (ties within a bin)."""
    pairs = float(positive.sum()) * float(negative.sum())
    if not pairs:
        return math.nan, math.nan
    below = np.cumsum(negative) - negative
    tied, ordered = (float(np.dot(positive.astype(np.float64), h)) for h in (negative, below))
    return (ordered + 0.5 * tied) / pairs, 0.5 * tied / pairs


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _sparse(histogram: Ints) -> list[list[int]]:
    where = np.flatnonzero(histogram)
    return [where.tolist(), histogram[where].tolist()]


def _dense(pair: Sequence[Sequence[int]], bins: int) -> Ints:
    histogram = np.zeros(bins, dtype=np.int64)
    histogram[np.asarray(pair[0], dtype=np.int64)] = pair[1]
    return histogram


@dataclass(frozen=True, eq=False)
class PerformanceState:
    """Mergeable summary of labelled predictions; build with :meth:`of_arrays`.

    Attributes
    ----------
    task, rows, labelled
        ``classification`` or ``regression``; predictions seen, and those labelled.
    classes, confusion
        Classes of labels and predictions (canonical order); counts per (true,
        predicted) class.
    positive, score_classes, score_is
        The class one score column is about (binary) or ``None``; the classes with
        histograms; what the one score meant.
    bins, positives, negatives
        Histogram bins on [0, 1]; per score class, its probability over the rows of
        that class and over the others.
    separation
        One score column: the raw score over rows predicted positive and the others.
    counts, sums
        Integer facts (scored, missing scores, out of range, the score checks'
        counts; regression's rows) and float sums (log loss, errors, moments).
    """

    task: Task
    rows: int = 0
    labelled: int = 0
    classes: tuple[Label, ...] = ()
    confusion: Ints = field(default_factory=_NONE.copy)
    positive: Label | None = None
    score_classes: tuple[Label, ...] = ()
    score_is: ScoreSemantics = "positive_probability"
    bins: int = SCORE_BINS
    positives: Ints = field(default_factory=_NONE.copy)
    negatives: Ints = field(default_factory=_NONE.copy)
    separation: Ints = field(default_factory=_NONE.copy)
    counts: Mapping[str, int] = field(default_factory=dict)
    sums: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def of_arrays(
        cls,
        *,
        task: Task = "classification",
        y_true: Any,
        y_pred: Any,
        y_score: Any = None,
        probabilities: Mapping[Label, Any] | None = None,
        positive_label: Label | None = None,
        score_is: ScoreSemantics = "positive_probability",
        bins: int = SCORE_BINS,
    ) -> PerformanceState:
        """The state of some predictions; rows with a null label count as unlabelled.

        Parameters
        ----------
        task
            ``classification`` or ``regression``.
        y_true, y_pred, y_score
            Labels, predictions (a null one is a class of its own) and one score
            per row (see ``score_is``) about ``positive_label``: Arrow arrays,
            numpy arrays or lists.
        probabilities
            One probability column per class; with ``positive_label``, that
            class's column is the score.
        positive_label
            The positive class of a binary model; ``None`` for a multiclass one.
        score_is
            ``positive_probability`` or ``confidence`` (of the predicted class).
        bins
            Histogram bins of the scores on [0, 1].

        Examples
        --------
        >>> state = PerformanceState.of_arrays(y_true=[1, 0, 1, 1], y_pred=[1, 0, 0, 1],
        ...                                    y_score=[0.9, 0.2, 0.4, 0.8], positive_label=1)
        >>> m = state.metrics()
        >>> m["accuracy"], m["recall"], m["roc_auc"], state.roc_auc_error()
        (0.75, 0.6666666666666666, 1.0, 0.0)
        """
        if task not in ("classification", "regression"):
            raise ConfigError(f"task must be classification or regression, got {task!r}")
        if not 2 <= bins <= 1 << 20:
            raise ConfigError(f"bins must be between 2 and 1048576, got {bins}")
        truth = _arrow(y_true)
        labelled = np.asarray(truth.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if task == "regression":
            return cls._regression(_floats(truth)[labelled], _floats(y_pred)[labelled], len(truth))
        found: dict[Label, int] = {}
        true_codes = _codes(truth, found)
        pred_codes = _codes(_arrow(y_pred), found, null_class=True)
        order = sorted(found, key=label_order)
        rank = np.zeros(max(len(found), 1), dtype=np.int64)
        rank[[found[c] for c in order]] = np.arange(len(order))
        true, pred = rank[true_codes[labelled]], rank[pred_codes[labelled]]
        size = len(order)
        confusion = np.bincount(true * size + pred, minlength=size * size).reshape(size, size)
        counted = (len(truth), int(labelled.sum()), tuple(order), confusion.astype(np.int64))
        state = cls("classification", *counted, score_is=score_is, bins=bins)
        probabilities = {_scalar(c): p for c, p in (probabilities or {}).items()} or None
        if positive_label is not None:
            positive_label = _scalar(positive_label)
            score = y_score if probabilities is None else probabilities.get(positive_label)
            if score is None:
                return replace(state, positive=positive_label)
            return state._binary(positive_label, _floats(score)[labelled], true, pred)
        if probabilities is not None:
            matrix = np.column_stack([_floats(p)[labelled] for p in probabilities.values()])
            return state._multiclass(tuple(probabilities), matrix, true, pred)
        return state

    @classmethod
    def _regression(cls, truth: Floats, predicted: Floats, rows: int) -> PerformanceState:
        finite = np.isfinite(truth) & np.isfinite(predicted)
        y, error = truth[finite], predicted[finite] - truth[finite]
        nonzero = y != 0
        mean = float(y.mean()) if y.size else 0.0
        counts = {"n": y.size, "nonfinite": truth.size - y.size, "nonzero": int(nonzero.sum())}
        return cls(
            "regression",
            rows,
            truth.size,
            counts=counts,
            sums={
                "abs_error": float(np.abs(error).sum()),
                "squared_error": float(np.square(error).sum()),
                "abs_pct_error": float(np.abs(error[nonzero] / y[nonzero]).sum()),
                "y_mean": mean,
                "y_m2": float(np.square(y - mean).sum()),
            },
        )

    def _code(self, label: Label) -> int:
        return self.classes.index(label) if label in self.classes else -2

    def _binary(self, positive: Label, raw: Floats, true: Ints, pred: Ints) -> PerformanceState:
        code = self._code(positive)
        scored = np.isfinite(raw)
        raw, actual, predicted = raw[scored], true[scored] == code, pred[scored] == code
        p = raw if self.score_is == "positive_probability" else np.where(predicted, raw, 1 - raw)
        chosen = np.where(actual, p, 1.0 - p)
        return replace(
            self,
            positive=positive,
            score_classes=(positive,),
            positives=_histogram(p[actual], self.bins)[None, :],
            negatives=_histogram(p[~actual], self.bins)[None, :],
            separation=np.stack(
                [_histogram(raw[predicted], self.bins), _histogram(raw[~predicted], self.bins)]
            ),
            counts={
                "scored": int(raw.size),
                "missing_scores": int(scored.size - raw.size),
                "out_of_range": int(np.count_nonzero((p < 0) | (p > 1))),
                "below_half": int(np.count_nonzero(raw < 0.5 - 1e-9)),
            },
            sums={"log_loss": float(-np.log(np.clip(chosen, _EPS, 1 - _EPS)).sum())},
        )

    def _multiclass(
        self, labels: tuple[Label, ...], matrix: Floats, true: Ints, pred: Ints
    ) -> PerformanceState:
        finite = np.isfinite(matrix)
        whole = np.asarray(finite.all(axis=1), dtype=bool)
        codes = np.array([self._code(c) for c in labels], dtype=np.int64)
        actual = true[:, None] == codes[None, :]
        histograms = [
            [_histogram(matrix[rows & finite[:, k], k], self.bins) for k, rows in enumerate(side.T)]
            for side in (actual, ~actual)
        ]
        column_of = {int(code): k for k, code in enumerate(codes)}
        where = np.array([column_of.get(int(t), -1) for t in range(len(self.classes))] + [-1])
        truth_column = where[true] if true.size else np.zeros(0, np.int64)
        has = (truth_column >= 0) & whole
        chosen = matrix[np.flatnonzero(has), truth_column[has]]
        rows = matrix[whole]
        argmax = codes[np.argmax(rows, axis=1)] if rows.size else np.zeros(0, np.int64)
        return replace(
            self,
            score_classes=labels,
            positives=np.stack(histograms[0]),
            negatives=np.stack(histograms[1]),
            counts={
                "scored": int(whole.sum()),
                "missing_scores": int(finite.size - finite.sum()),
                "unscored_labels": int(np.count_nonzero(truth_column[whole] < 0)),
                "off_sum": int(np.count_nonzero(np.abs(rows.sum(axis=1) - 1.0) > 1e-3)),
                "not_argmax": int(np.count_nonzero(argmax != pred[whole])),
            },
            sums={"log_loss": float(-np.log(np.clip(chosen, _EPS, 1 - _EPS)).sum())},
        )

    def merge(self, other: PerformanceState) -> PerformanceState:
        """The state of both states' rows together (associative and commutative).

        Raises
        ------
        ProfileMergeError
            For states of other tasks, positive classes, score meanings or columns.
        """
        mine = (self.task, self.positive, self.score_is, self.bins, set(self.score_classes))
        theirs = (other.task, other.positive, other.score_is, other.bins, set(other.score_classes))
        if mine != theirs and self.labelled and other.labelled:
            raise ProfileMergeError(
                "performance states of different settings (task, positive class, score "
                f"meaning, bins, probability columns): {mine} vs {theirs}"
            )
        if not other.labelled:
            return replace(self, rows=self.rows + other.rows)
        if not self.labelled:
            return replace(other, rows=self.rows + other.rows)
        counts = {k: self.counts.get(k, 0) + other.counts.get(k, 0) for k in self.counts}
        rows, labelled = self.rows + other.rows, self.labelled + other.labelled
        if self.task == "regression":
            return replace(
                self, rows=rows, labelled=labelled, counts=counts, sums=self._moments(other)
            )
        classes = tuple(sorted({*self.classes, *other.classes}, key=label_order))
        confusion = np.zeros((len(classes), len(classes)), np.int64)
        for state in (self, other):
            at = np.array([classes.index(c) for c in state.classes], dtype=np.int64)
            confusion[np.ix_(at, at)] += state.confusion
        columns = [other.score_classes.index(c) for c in self.score_classes]
        log_loss = self.sums.get("log_loss", 0.0) + other.sums.get("log_loss", 0.0)
        return replace(
            self,
            rows=rows,
            labelled=labelled,
            classes=classes,
            confusion=confusion,
            positives=self.positives + other.positives[columns],
            negatives=self.negatives + other.negatives[columns],
            separation=self.separation + other.separation,
            counts=counts,
            sums={"log_loss": log_loss} if self.score_classes else {},
        )

    def _moments(self, other: PerformanceState) -> dict[str, float]:
        a, b = self.counts["n"], other.counts["n"]
        sums = {k: self.sums[k] + other.sums[k] for k in self.sums if k not in ("y_mean", "y_m2")}
        if not a + b:
            return sums | {"y_mean": 0.0, "y_m2": 0.0}
        delta = other.sums["y_mean"] - self.sums["y_mean"]
        mean = self.sums["y_mean"] + delta * b / (a + b)
        m2 = self.sums["y_m2"] + other.sums["y_m2"] + delta * delta * a * b / (a + b)
        return sums | {"y_mean": mean, "y_m2": m2}

    def roc_auc_error(self) -> float:
        """Bound on the error of :meth:`metrics`' ``roc_auc`` (NaN without an AUC).

        ``0.5 · Σ_b pos_b · neg_b / (P · N)`` per class (a pair in one bin counts a
        half, its true share is 0 or 1), averaged as the macro AUC is.
        """
        bounds = [bound for auc, bound in self._aucs() if not math.isnan(auc)]
        return float(np.mean(bounds)) if bounds else math.nan

    def _aucs(self) -> list[tuple[float, float]]:
        return [_auc(p, n) for p, n in zip(self.positives, self.negatives, strict=True)]

    def _log_loss(self) -> float:
        if self.counts.get("unscored_labels") or not self.labelled:
            return math.nan
        return self.sums["log_loss"] / self.labelled

    def metrics(self) -> dict[str, float]:
        """The metrics of :mod:`mlvigil.checks.metrics` on the same rows.

        As ``classification_metrics`` for binary states (with ``positive``),
        ``multiclass_metrics`` or ``regression_metrics``: the same names and values
        (ROC AUC within :meth:`roc_auc_error`; NaN when a labelled row has no score).

        Raises
        ------
        InputError
            When no row is labelled.
        """
        if not self.labelled:
            raise InputError("no labelled predictions to compute metrics on")
        if self.task == "regression":
            return self._regression_metrics()
        confusion = self.confusion.astype(np.float64)
        hits, predicted, actual = np.diag(confusion), confusion.sum(axis=0), confusion.sum(axis=1)
        if self.positive is not None:  # one class, as classification_metrics
            keep = np.arange(len(self.classes)) == self._code(self.positive)
        else:  # the classes present, averaged, as multiclass_metrics
            keep = (predicted + actual) > 0
        pairs = zip(hits[keep], predicted[keep], actual[keep], strict=True)
        scores = [(_ratio(t, p), _ratio(t, a)) for t, p, a in pairs]
        f1 = [_ratio(2 * p * r, p + r) for p, r in scores]
        metrics = {
            "accuracy": float(hits.sum()) / self.labelled,
            "precision": float(np.mean([p for p, _ in scores])) if scores else 0.0,
            "recall": float(np.mean([r for _, r in scores])) if scores else 0.0,
            "f1": float(np.mean(f1)) if f1 else 0.0,
        }
        if self.score_classes:
            defined = [a for a, _ in self._aucs() if not math.isnan(a)]
            missing = self.counts.get("missing_scores", 0)
            metrics["roc_auc"] = float(np.mean(defined)) if defined and not missing else math.nan
            metrics["log_loss"] = math.nan if missing else self._log_loss()
        return metrics

    def _regression_metrics(self) -> dict[str, float]:
        n, sums = self.counts["n"], self.sums
        if not n:
            return dict.fromkeys(("mae", "mse", "rmse", "mape", "r2"), math.nan)
        mse = sums["squared_error"] / n
        nonzero = self.counts["nonzero"]
        return {
            "mae": sums["abs_error"] / n,
            "mse": mse,
            "rmse": math.sqrt(mse),
            "mape": sums["abs_pct_error"] / nonzero if nonzero else math.nan,
            "r2": 1.0 - sums["squared_error"] / sums["y_m2"] if sums["y_m2"] else math.nan,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: every field, histograms sparse (bin indices, counts)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _HISTOGRAMS:
            data[name] = [_sparse(h) for h in data[name]]
        return data | {"confusion": self.confusion.tolist(), "counts": dict(self.counts),
                       "sums": dict(self.sums)}  # fmt: skip

    def serialize(self) -> bytes:
        """Compact, versioned bytes: ``MLVPERF``, a version byte, zlib-compressed JSON."""
        return _MAGIC + bytes([_VERSION]) + zlib.compress(orjson.dumps(self.to_dict()), 6)

    @classmethod
    def deserialize(cls, data: bytes) -> PerformanceState:
        """Read what :meth:`serialize` wrote.

        Raises
        ------
        ProfileFormatError
            For bytes that are not a performance state this version can read.
        """
        head = len(_MAGIC)
        if data[:head] != _MAGIC or len(data) <= head or data[head] != _VERSION:
            raise ProfileFormatError("not a performance state of format 1 (MLVPERF header)")
        try:
            # Bounded: a pushed body cannot inflate past the largest state there can be.
            text = zlib.decompressobj().decompress(data[head + 1 :], _MAX_INFLATED + 1)
            if len(text) > _MAX_INFLATED:
                raise ValueError(f"it inflates past {_MAX_INFLATED} bytes")
            raw = orjson.loads(text)
            bins, size = int(raw["bins"]), len(raw["classes"])
            for name in _HISTOGRAMS:
                rows = [_dense(pair, bins) for pair in raw[name]]
                raw[name] = np.stack(rows) if rows else _NONE.copy()
            for name in ("classes", "score_classes"):
                raw[name] = tuple(raw[name])
            raw["confusion"] = np.array(raw["confusion"], np.int64).reshape(size, size)
            return cls(**raw)
        except (zlib.error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ProfileFormatError(f"a damaged performance state: {error}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PerformanceState):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def measurement(
        self, config: PerformanceConfig, classes: ClassSet | None = None
    ) -> Measurement:
        """The configured metrics, or why each cannot be computed, as ``measure`` says.

        A state without scores and with at most two classes is judged as a binary
        model with ``config.positive_label``.
        """
        wanted = config.metrics
        problem = "no labelled predictions" if not self.labelled else None
        if problem is None and self.task == "regression" and self.counts["nonfinite"]:
            problem = "labels or predictions hold non-finite values"
        if problem is None and self.task == "classification":
            problem = _class_problem(self._present(1), self._present(0), classes)
        if problem is not None:
            return Measurement({}, dict.fromkeys(wanted, problem))
        state = self
        if self.positive is None and len(self.classes) <= 2 and not self.score_classes:
            state = replace(self, positive=config.positive_label)
        reason = state._score_problem(config)
        problems = {} if reason is None else dict.fromkeys(_SCORE_METRICS, reason)
        if not problems and self.counts.get("out_of_range"):
            problems["log_loss"] = "scores outside [0, 1] are not probabilities"
        return _chosen(wanted, state.metrics(), problems)

    def _present(self, axis: int) -> list[Label]:
        return [c for c, n in zip(self.classes, self.confusion.sum(axis), strict=True) if n]

    def _score_problem(self, config: PerformanceConfig) -> str | None:
        """Why the scores cannot be used, as :mod:`mlvigil.checks.scores` judges rows."""
        count, scored = self.counts.get, self.counts.get("scored", 0)
        if self.task == "regression":
            return None
        if not self.score_classes:
            return _WHY["unscored"]
        if self.positive is not None and self.positive != config.positive_label:
            return _WHY["positive"].format(self.positive, config.positive_label)
        if count("missing_scores", 0):
            return _WHY["missing"].format(count("missing_scores"))
        if self.positive is None:  # one probability column per class
            checks: tuple[str, ...] = ("off_sum", "not_argmax")
        elif self.score_is == "confidence":
            checks = ("below_half",)
        else:
            high, low = self.separation
            if min(int(high.sum()), int(low.sum())) < MIN_ROWS_PER_CLASS:
                return None
            separation = _auc(high, low)[0]
            return _WHY["separation"].format(separation) if separation < MIN_SEPARATION else None
        for key in checks:
            if (share := _ratio(count(key, 0), scored)) > TOLERATED_SHARE:
                return _WHY[key].format(share)
        return None
