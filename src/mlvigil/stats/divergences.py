"""Divergences between frequency distributions: PSI, Jensen–Shannon, Hellinger, KL.

Categorical data are compared on category frequencies. Numerical data are first
binned on the reference's quantiles (``bins`` equal-frequency bins, open at both
ends so current values outside the reference range still land in a bin); the
edges depend only on the reference, which is what lets a stored reference
profile be reused for every later window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias, cast

import numpy as np
import numpy.typing as npt

from mlvigil.stats.result import DecisionRule, StatTestResult
from mlvigil.stats.samples import (
    Categorical,
    FloatArray,
    Numerical,
    SortedSample,
    as_sorted,
    category_counts,
)

__all__ = [
    "DEFAULT_BINS",
    "SMOOTHING",
    "hellinger_distance",
    "jensen_shannon_distance",
    "kl_divergence",
    "population_stability_index",
    "quantile_bin_edges",
]

#: Number of equal-frequency reference bins for numerical data.
DEFAULT_BINS = 10

#: Proportion that replaces an empty bin or an unseen category in PSI and KL,
#: which are infinite otherwise; the proportions are then renormalised.
SMOOTHING = 1e-4

NumericalOrCategorical: TypeAlias = "Numerical | Categorical"


def quantile_bin_edges(reference: SortedSample, bins: int) -> FloatArray:
    """Interior edges of ``bins`` equal-frequency bins of a sorted reference.

    Linear interpolation, as ``numpy.quantile``; repeated edges (heavy ties) are
    merged, so fewer bins may result.

    Examples
    --------
    >>> quantile_bin_edges(as_sorted([1.0, 2.0, 3.0, 4.0, 5.0]), 4)
    array([2., 3., 4.])
    """
    values = reference.values
    positions = np.linspace(0.0, 1.0, bins + 1)[1:-1] * (values.shape[0] - 1)
    lower = np.floor(positions).astype(np.int64)
    upper = np.minimum(lower + 1, values.shape[0] - 1)
    edges = values[lower] + (values[upper] - values[lower]) * (positions - lower)
    return np.unique(edges)


def _bin_counts(sample: SortedSample, edges: FloatArray) -> npt.NDArray[np.int64]:
    # Bins are (-inf, e1], (e1, e2], ..., (ek, inf): counts from cumulative positions.
    cumulative = np.searchsorted(sample.values, edges, side="right")
    return np.diff(np.concatenate([[0], cumulative, [len(sample)]])).astype(np.int64)


def _is_numerical(data: object) -> bool:
    if isinstance(data, SortedSample):
        return True
    if isinstance(data, Mapping):
        return False
    return np.asarray(data).dtype.kind in "iuf"


class _Frequencies:
    """Aligned reference/current proportions plus what the result should report."""

    def __init__(
        self, reference: NumericalOrCategorical, current: NumericalOrCategorical, bins: int
    ) -> None:
        if _is_numerical(reference) and _is_numerical(current):
            ref = as_sorted(cast("Numerical", reference), side="reference")
            cur = as_sorted(cast("Numerical", current), side="current")
            edges = quantile_bin_edges(ref, bins)
            ref_counts, cur_counts = _bin_counts(ref, edges), _bin_counts(cur, edges)
            self.new: tuple[str, ...] = ()
            self.missing: tuple[str, ...] = ()
        else:
            counts = category_counts(cast("Categorical", reference), cast("Categorical", current))
            ref_counts, cur_counts = counts.reference, counts.current
            self.new, self.missing = counts.new_categories, counts.missing_categories
        self.reference_size = int(ref_counts.sum())
        self.current_size = int(cur_counts.sum())
        self.reference: FloatArray = ref_counts / self.reference_size
        self.current: FloatArray = cur_counts / self.current_size

    def smoothed(self) -> tuple[FloatArray, FloatArray]:
        def smooth(p: FloatArray) -> FloatArray:
            filled: FloatArray = np.where(p == 0.0, SMOOTHING, p)
            normalised: FloatArray = filled / filled.sum()
            return normalised

        return smooth(self.reference), smooth(self.current)

    def result(self, method: str, statistic: float, threshold: float) -> StatTestResult:
        sizes = (self.reference_size, self.current_size)
        return StatTestResult.judged(
            DecisionRule.DISTANCE,
            method,
            statistic,
            None,
            threshold,
            sizes,
            new_categories=self.new,
            missing_categories=self.missing,
        )


def _psi(f: _Frequencies) -> float:
    p, q = f.smoothed()
    return float(np.sum((q - p) * np.log(q / p)))


def _kl(f: _Frequencies) -> float:
    p, q = f.smoothed()
    return float(np.sum(p * np.log(p / q)))


def _jensen_shannon(f: _Frequencies) -> float:
    p, q = f.reference, f.current
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / m), 0.0) + np.where(q > 0, q * np.log(q / m), 0.0)
    return float(np.sqrt(max(terms.sum() / 2.0, 0.0)))


def _hellinger(f: _Frequencies) -> float:
    return float(np.linalg.norm(np.sqrt(f.reference) - np.sqrt(f.current)) / np.sqrt(2.0))


def population_stability_index(
    reference: NumericalOrCategorical,
    current: NumericalOrCategorical,
    *,
    threshold: float = 0.1,
    bins: int = DEFAULT_BINS,
) -> StatTestResult:
    """Population stability index, ``sum((q - p) * ln(q / p))``.

    ``p`` and ``q`` are reference and current proportions, smoothed by
    :data:`SMOOTHING`. PSI is the symmetrised KL divergence:
    ``scipy.stats.entropy(p, q) + scipy.stats.entropy(q, p)``. Common reading:
    below 0.1 stable, 0.1–0.25 moderate shift, above 0.25 major shift.

    Examples
    --------
    >>> r = population_stability_index({"a": 50, "b": 50}, {"a": 60, "b": 40})
    >>> round(r.statistic, 4), r.drifted
    (0.0405, False)
    """
    frequencies = _Frequencies(reference, current, bins)
    return frequencies.result("psi", _psi(frequencies), threshold)


def kl_divergence(
    reference: NumericalOrCategorical,
    current: NumericalOrCategorical,
    *,
    threshold: float = 0.1,
    bins: int = DEFAULT_BINS,
) -> StatTestResult:
    """Kullback–Leibler divergence of current from reference, in nats.

    ``KL(p || q) = scipy.stats.entropy(p, q)`` on proportions smoothed by
    :data:`SMOOTHING`.

    Examples
    --------
    >>> round(kl_divergence({"a": 50, "b": 50}, {"a": 60, "b": 40}).statistic, 4)
    0.0204
    """
    frequencies = _Frequencies(reference, current, bins)
    return frequencies.result("kl_div", _kl(frequencies), threshold)


def jensen_shannon_distance(
    reference: NumericalOrCategorical,
    current: NumericalOrCategorical,
    *,
    threshold: float = 0.1,
    bins: int = DEFAULT_BINS,
) -> StatTestResult:
    """Jensen–Shannon distance (natural log), as ``scipy.spatial.distance.jensenshannon``.

    Bounded by ``sqrt(ln 2) ≈ 0.833``; no smoothing needed.

    Examples
    --------
    >>> round(jensen_shannon_distance({"a": 50, "b": 50}, {"a": 60, "b": 40}).statistic, 4)
    0.0711
    """
    frequencies = _Frequencies(reference, current, bins)
    return frequencies.result("jensenshannon", _jensen_shannon(frequencies), threshold)


def hellinger_distance(
    reference: NumericalOrCategorical,
    current: NumericalOrCategorical,
    *,
    threshold: float = 0.1,
    bins: int = DEFAULT_BINS,
) -> StatTestResult:
    """Hellinger distance, ``||sqrt(p) - sqrt(q)||_2 / sqrt(2)``, between 0 and 1.

    Examples
    --------
    >>> round(hellinger_distance({"a": 50, "b": 50}, {"a": 60, "b": 40}).statistic, 4)
    0.0712
    """
    frequencies = _Frequencies(reference, current, bins)
    return frequencies.result("hellinger", _hellinger(frequencies), threshold)
