"""How far a candidate version is from a baseline on one quantity, and how surely.

Each function compares the candidate's value of a quantity with the baseline's and
returns a :class:`Difference`: candidate minus baseline, its confidence interval, the
standard error behind it, and one-sided p-values for an increase and for a decrease
(the two-sided p-value is twice the smaller). Each uses the exact or standard test
for its quantity:

- a proportion (accuracy, a conversion rate): the pooled two-proportion z test, and
  Newcombe's interval from the two Wilson intervals;
- a mean (absolute error, revenue per prediction): Welch's t test and interval;
- paired rows (both versions scored the same ids): McNemar's exact test for who was
  right, the paired t test for a numeric difference;
- a quantile (p99 latency): each side's distribution-free interval from its order
  statistics, combined as normal;
- anything else (ROC AUC, F1): a seeded bootstrap (:mod:`mlvigil.experiments.bootstrap`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlvigil.stats.samples import DegenerateInputError

__all__ = [
    "Difference",
    "mcnemar_difference",
    "normal_tails",
    "mean_difference",
    "normal_difference",
    "paired_mean_difference",
    "proportion_difference",
    "quantile_difference",
    "wilson_interval",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Difference:
    """Candidate minus baseline on one quantity, with its interval and tests.

    Attributes
    ----------
    metric
        The quantity compared, e.g. ``accuracy`` or ``latency_p99_ms``.
    baseline, candidate
        Its value on each side.
    low, high
        The confidence interval of ``candidate - baseline``.
    standard_error
        Standard error of the difference.
    p_increase, p_decrease
        One-sided p-values against "no difference": for the candidate being higher,
        and lower.
    method
        The test, as a person reads it.
    n_baseline, n_candidate
        Rows behind each side (pairs, twice, for paired tests).
    confidence
        Level of the interval.
    """

    metric: str
    baseline: float
    candidate: float
    low: float
    high: float
    standard_error: float
    p_increase: float
    p_decrease: float
    method: str
    n_baseline: int
    n_candidate: int
    confidence: float

    @property
    def difference(self) -> float:
        """``candidate - baseline``."""
        return self.candidate - self.baseline

    @property
    def p_value(self) -> float:
        """Two-sided p-value against "no difference"."""
        return min(1.0, 2.0 * min(self.p_increase, self.p_decrease))

    def p_worse(self, lower_is_better: bool) -> float:
        """One-sided p-value for the candidate being worse than the baseline."""
        return self.p_increase if lower_is_better else self.p_decrease

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view (non-finite values as ``None``)."""
        numbers = {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "difference": self.difference,
            "low": self.low,
            "high": self.high,
            "standard_error": self.standard_error,
            "p_value": self.p_value,
        }
        return {
            "metric": self.metric,
            **{k: v if math.isfinite(v) else None for k, v in numbers.items()},
            "method": self.method,
            "n_baseline": self.n_baseline,
            "n_candidate": self.n_candidate,
            "confidence": self.confidence,
        }


def _normal_sf(z: float) -> float:
    """``scipy.stats.norm.sf(z)``, without importing scipy.stats."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _z(confidence: float) -> float:
    """The two-sided normal critical value of ``confidence``."""
    from scipy.special import ndtri

    return float(ndtri(0.5 + confidence / 2.0))


def normal_tails(statistic: float) -> tuple[float, float]:
    """One-sided p-values (increase, decrease) of a standard-normal statistic."""
    return _normal_sf(statistic), _normal_sf(-statistic)


def _flat_tails(difference: float) -> tuple[float, float]:
    """One-sided p-values when there is no spread: certain, or no evidence."""
    return (0.0 if difference > 0 else 1.0), (0.0 if difference < 0 else 1.0)


def _t_test(
    difference: float, error: float, freedom: float, confidence: float
) -> tuple[float, float, float]:
    """One-sided p-values (increase, decrease) of a t statistic, and the interval's half."""
    if error == 0:
        return (*_flat_tails(difference), 0.0)
    from scipy import stats

    t = difference / error
    spread = float(stats.t.ppf(0.5 + confidence / 2, freedom)) * error
    return float(stats.t.sf(t, freedom)), float(stats.t.cdf(t, freedom)), spread


def normal_difference(
    metric: str,
    baseline: float,
    candidate: float,
    standard_error: float,
    *,
    n_baseline: int,
    n_candidate: int,
    method: str,
    confidence: float = 0.95,
) -> Difference:
    """A difference whose estimate is normal with ``standard_error``: interval and tests.

    Examples
    --------
    >>> d = normal_difference("m", 1.0, 1.5, 0.25, n_baseline=9, n_candidate=9, method="z")
    >>> round(d.low, 3), round(d.p_value, 4)
    (0.01, 0.0455)
    """
    difference = candidate - baseline
    spread = _z(confidence) * standard_error
    if standard_error > 0:
        increase, decrease = normal_tails(difference / standard_error)
    else:
        increase, decrease = _flat_tails(difference)
    return Difference(
        metric,
        baseline,
        candidate,
        difference - spread,
        difference + spread,
        standard_error,
        increase,
        decrease,
        method,
        n_baseline,
        n_candidate,
        confidence,
    )


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a proportion ``successes / n``.

    Examples
    --------
    >>> [round(v, 4) for v in wilson_interval(5, 50)]
    [0.0435, 0.2136]
    """
    z = _z(confidence)
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def proportion_difference(
    metric: str,
    baseline: tuple[int, int],
    candidate: tuple[int, int],
    *,
    confidence: float = 0.95,
) -> Difference:
    """Difference of two proportions, each given as ``(successes, trials)``.

    The tests are the pooled two-proportion z test (its two-sided p-value is
    ``scipy.stats.chi2_contingency(table, correction=False)``'s); the interval is
    Newcombe's hybrid score interval, which keeps its coverage near 0 and 1.

    Raises
    ------
    DegenerateInputError
        When a side has no trials.

    Examples
    --------
    >>> d = proportion_difference("accuracy", (900, 1000), (870, 1000))
    >>> round(d.difference, 3), round(d.p_value, 4), round(d.low, 4)
    (-0.03, 0.0355, -0.0581)
    """
    (k_b, n_b), (k_c, n_c) = baseline, candidate
    if n_b <= 0 or n_c <= 0:
        raise DegenerateInputError(f"{metric}: a side has no rows to compare")
    share_b, share_c = k_b / n_b, k_c / n_c
    difference = share_c - share_b
    pooled = (k_b + k_c) / (n_b + n_c)
    null_error = math.sqrt(pooled * (1 - pooled) * (1 / n_b + 1 / n_c))
    if null_error > 0:
        increase, decrease = normal_tails(difference / null_error)
    else:
        increase, decrease = _flat_tails(difference)
    low_c, high_c = wilson_interval(k_c, n_c, confidence=confidence)
    low_b, high_b = wilson_interval(k_b, n_b, confidence=confidence)
    low = difference - math.hypot(share_c - low_c, high_b - share_b)
    high = difference + math.hypot(high_c - share_c, share_b - low_b)
    error = math.sqrt(share_b * (1 - share_b) / n_b + share_c * (1 - share_c) / n_c)
    return Difference(
        metric,
        share_b,
        share_c,
        low,
        high,
        error,
        increase,
        decrease,
        "two-proportion z test, Newcombe interval",
        n_b,
        n_c,
        confidence,
    )


def _values(metric: str, values: npt.ArrayLike, minimum: int) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size < minimum:
        raise DegenerateInputError(
            f"{metric}: {array.size} finite values on a side, {minimum} needed to compare"
        )
    return array


def mean_difference(
    metric: str,
    baseline: npt.ArrayLike,
    candidate: npt.ArrayLike,
    *,
    confidence: float = 0.95,
) -> Difference:
    """Difference of two means: Welch's t test and interval (unequal variances).

    Agrees with ``scipy.stats.ttest_ind(candidate, baseline, equal_var=False)`` and
    its ``confidence_interval``. Non-finite values are left out.

    Raises
    ------
    DegenerateInputError
        When a side has fewer than two finite values.

    Examples
    --------
    >>> d = mean_difference("revenue", [1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0])
    >>> d.difference, round(d.p_value, 4)
    (1.0, 0.3153)
    """
    b, c = _values(metric, baseline, 2), _values(metric, candidate, 2)
    var_b, var_c = float(b.var(ddof=1)) / b.size, float(c.var(ddof=1)) / c.size
    error = math.sqrt(var_b + var_c)
    mean_b, mean_c = float(b.mean()), float(c.mean())
    difference = mean_c - mean_b
    freedom = (
        (var_b + var_c) ** 2 / (var_b**2 / (b.size - 1) + var_c**2 / (c.size - 1)) if error else 1.0
    )
    increase, decrease, spread = _t_test(difference, error, freedom, confidence)
    return Difference(
        metric,
        mean_b,
        mean_c,
        difference - spread,
        difference + spread,
        error,
        increase,
        decrease,
        "Welch's t test",
        b.size,
        c.size,
        confidence,
    )


def paired_mean_difference(
    metric: str,
    baseline: npt.ArrayLike,
    candidate: npt.ArrayLike,
    *,
    confidence: float = 0.95,
) -> Difference:
    """Mean of paired differences (the same rows on both sides): the paired t test.

    Agrees with ``scipy.stats.ttest_rel(candidate, baseline)``. Pairs with a
    non-finite side are left out.

    Examples
    --------
    >>> d = paired_mean_difference("error", [1.0, 2.0, 3.0], [1.5, 2.4, 3.7])
    >>> round(d.difference, 3), round(d.p_value, 4)
    (0.533, 0.0263)
    """
    b = np.asarray(baseline, dtype=np.float64)
    c = np.asarray(candidate, dtype=np.float64)
    kept = np.isfinite(b) & np.isfinite(c)
    differences = _values(metric, c[kept] - b[kept], 2)
    n = differences.size
    error = float(differences.std(ddof=1)) / math.sqrt(n)
    difference = float(differences.mean())
    increase, decrease, spread = _t_test(difference, error, n - 1, confidence)
    mean_b = float(b[kept].mean())
    return Difference(
        metric,
        mean_b,
        mean_b + difference,
        difference - spread,
        difference + spread,
        error,
        increase,
        decrease,
        "paired t test",
        n,
        n,
        confidence,
    )


def mcnemar_difference(
    metric: str,
    baseline_right: npt.ArrayLike,
    candidate_right: npt.ArrayLike,
    *,
    confidence: float = 0.95,
) -> Difference:
    """Difference of two paired proportions (who was right on the same rows): McNemar.

    The tests are McNemar's exact test: only the rows one side got right and the
    other wrong count, binomial with p = 1/2 under no difference (its two-sided
    p-value is ``scipy.stats.binomtest(k, m).pvalue``). The interval is the normal
    one of the paired difference.

    Examples
    --------
    >>> base = [True] * 90 + [False] * 10
    >>> cand = [True] * 80 + [False] * 15 + [True] * 5
    >>> d = mcnemar_difference("accuracy", base, cand)
    >>> round(d.difference, 2), round(d.p_value, 4)
    (-0.05, 0.3018)
    """
    from scipy import stats

    b = np.asarray(baseline_right, dtype=bool)
    c = np.asarray(candidate_right, dtype=bool)
    n = b.size
    if n == 0:
        raise DegenerateInputError(f"{metric}: no paired rows to compare")
    baseline_only, candidate_only = int(np.sum(b & ~c)), int(np.sum(c & ~b))
    discordant = baseline_only + candidate_only
    difference = (candidate_only - baseline_only) / n
    if discordant:
        increase = float(stats.binom.sf(candidate_only - 1, discordant, 0.5))
        decrease = float(stats.binom.cdf(candidate_only, discordant, 0.5))
    else:
        increase = decrease = 1.0
    error = math.sqrt(max(discordant - (candidate_only - baseline_only) ** 2 / n, 0.0)) / n
    spread = _z(confidence) * error
    share_b = float(b.mean())
    return Difference(
        metric,
        share_b,
        share_b + difference,
        difference - spread,
        difference + spread,
        error,
        min(increase, 1.0),
        min(decrease, 1.0),
        "McNemar's exact test",
        n,
        n,
        confidence,
    )


def _quantile_error(values: FloatArray, q: float, confidence: float) -> tuple[float, float]:
    """A quantile and its standard error, from its order-statistic interval."""
    from scipy import stats

    ordered = np.sort(values)
    n = ordered.size
    tail = (1 - confidence) / 2
    low = int(stats.binom.ppf(tail, n, q))
    high = min(int(stats.binom.ppf(1 - tail, n, q)), n - 1)
    error = float(ordered[high] - ordered[max(low - 1, 0)]) / (2 * _z(confidence))
    return float(np.quantile(ordered, q)), error


def quantile_difference(
    metric: str,
    baseline: npt.ArrayLike,
    candidate: npt.ArrayLike,
    q: float,
    *,
    confidence: float = 0.95,
) -> Difference:
    """Difference of a quantile (e.g. ``q=0.99`` of latency) of two samples.

    Each side's standard error comes from its distribution-free interval (the
    order statistics whose ranks bracket ``q`` with the binomial law), and the
    difference is taken as normal.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = quantile_difference("p50", rng.normal(0, 1, 2000), rng.normal(1, 1, 2000), 0.5)
    >>> round(d.difference, 1), d.p_increase < 1e-6
    (1.0, True)
    """
    b, c = _values(metric, baseline, 2), _values(metric, candidate, 2)
    value_b, error_b = _quantile_error(b, q, confidence)
    value_c, error_c = _quantile_error(c, q, confidence)
    return normal_difference(
        metric,
        value_b,
        value_c,
        math.hypot(error_b, error_c),
        n_baseline=b.size,
        n_candidate=c.size,
        method="order-statistic intervals",
        confidence=confidence,
    )
