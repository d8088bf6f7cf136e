"""Distances between numerical distributions: Wasserstein and energy distance.

Both are divided by the reference's standard deviation, so a threshold means the
same on every column whatever its unit: 0.1 is a tenth of a reference standard
deviation.
"""

from __future__ import annotations

import numpy as np

from mlvigil.stats.ecdf import ecdf_difference
from mlvigil.stats.result import DecisionRule, StatTestResult
from mlvigil.stats.samples import DegenerateInputError, FloatArray, Numerical, sorted_pair

__all__ = ["energy_distance_normed", "wasserstein_distance_normed"]


def _reference_scale(reference: FloatArray, method: str) -> float:
    scale = float(np.std(reference))
    if scale == 0.0:
        raise DegenerateInputError(
            f"reference is constant, so {method} normed by its standard deviation is undefined"
        )
    return scale


def _wasserstein(reference: FloatArray, current: FloatArray) -> float:
    if reference.shape == current.shape:
        # Equal sizes: the quantile functions step together, W1 is the mean gap.
        return float(np.mean(np.abs(reference - current)))
    values, difference = ecdf_difference(reference, current)
    return float(np.abs(difference[:-1]) @ np.diff(values))


def wasserstein_distance_normed(
    reference: Numerical, current: Numerical, *, threshold: float = 0.1
) -> StatTestResult:
    """First Wasserstein (earth mover's) distance divided by the reference's std.

    Equals ``scipy.stats.wasserstein_distance(reference, current) / numpy.std(reference)``
    but runs in linear time on samples that are already sorted.

    Raises
    ------
    DegenerateInputError
        If the reference is constant (zero standard deviation).

    Examples
    --------
    >>> r = wasserstein_distance_normed([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    >>> round(r.statistic, 4), r.drifted
    (0.8944, True)
    """
    ref, cur = sorted_pair(reference, current)
    statistic = _wasserstein(ref, cur) / _reference_scale(ref, "wasserstein")
    return StatTestResult.judged(
        DecisionRule.DISTANCE,
        "wasserstein",
        statistic,
        None,
        threshold,
        (ref.shape[0], cur.shape[0]),
    )


def energy_distance_normed(
    reference: Numerical, current: Numerical, *, threshold: float = 0.1
) -> StatTestResult:
    """Energy distance of both samples divided by the reference's std.

    Equals ``scipy.stats.energy_distance(reference / s, current / s)`` with
    ``s = numpy.std(reference)``.

    Examples
    --------
    >>> r = energy_distance_normed([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0])
    >>> r.statistic, r.drifted
    (0.0, False)
    """
    from scipy import stats

    ref, cur = sorted_pair(reference, current)
    scale = _reference_scale(ref, "energy distance")
    statistic = float(stats.energy_distance(ref / scale, cur / scale))
    return StatTestResult.judged(
        DecisionRule.DISTANCE, "energy", statistic, None, threshold, (ref.shape[0], cur.shape[0])
    )
