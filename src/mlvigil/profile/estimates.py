"""Drift statistics of numerical columns estimated from KLL sketches, with error bounds.

Each function compares the sketches' distributions: step functions through
each sketch's retained items and weights, which is exactly what the sketch's
``get_cdf`` evaluates. Every result carries a bound on the statistic's error in
``StatTestResult.approximation_error``, holding with the sketches' 99%
confidence. ``ε`` below is each sketch's ``normalized_rank_error(True)``: the
largest error of any CDF value or bin mass (DataSketches' double-sided bound).
Which estimate a method gets is what it declares in the registry
(:class:`~mlvigil.stats.registry.SketchEstimate`); :func:`estimate_from_sketches`
runs it.

Kolmogorov–Smirnov (``CDF_GAP``)
    ``|D_sketch - D_exact| <= ε_ref + ε_cur``: each CDF is off by at most its
    ``ε`` everywhere, so their largest gap is off by at most the sum.
Wasserstein (normed; ``CDF_AREA``)
    ``W1 = ∫ |F_ref - F_cur| dx``, so the error is at most ``∫ |F̂ - F| dx`` summed
    over both sides, divided by the reference std (exact, from the mergeable
    variance). ``|F̂ - F|`` is at most ``ε``, and in the tails also at most the
    larger of the sketch's tail mass and Cantelli's bound on the true tail,
    ``σ² / (σ² + (x - μ)²)`` from the side's exact mean and variance; it is 0
    beyond the exact min and max. Integrated over the sketch's own grid this is
    never looser than ``ε × (max - min)`` and much tighter for long tails.
PSI, Jensen–Shannon, Hellinger, KL (``BINNED``)
    Bins are the reference sketch's deciles; each side's bin masses come from
    its CDF, so each is within ``ε`` (plus ``1/n`` from rounding to counts) of
    the data's mass in that bin. Every per-bin term (the method's
    :class:`~mlvigil.stats.registry.BinTerm`) is jointly convex in the two
    masses, so its largest value over that box is at a corner and its least is
    the term's own ``least``; the bound is the widest deviation of the summed
    range from the estimate. It bounds the error against the same divergence
    computed from the raw data on the same bins. (PSI and KL renormalise after
    smoothing; that factor, within ``1 + bins × 1e-4``, is ignored.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from mlvigil.exceptions import ConfigError
from mlvigil.profile.moments import Moments
from mlvigil.profile.sketches import QuantileSketch
from mlvigil.stats.divergences import DEFAULT_BINS, SMOOTHING
from mlvigil.stats.registry import BinTerm, Box, DriftMethod, SketchEstimate
from mlvigil.stats.result import DecisionRule, StatTestResult
from mlvigil.stats.samples import DegenerateInputError

__all__ = [
    "NumericSide",
    "binned_divergence",
    "estimate_from_sketches",
    "ks_from_sketches",
    "wasserstein_from_sketches",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class NumericSide:
    """One side of a numerical column: its KLL sketch and exact moments."""

    sketch: QuantileSketch
    moments: Moments


def _gaps(reference: NumericSide, current: NumericSide) -> tuple[FloatArray, FloatArray]:
    """Union of both sketches' items, and the CDF difference just after each."""
    points = np.union1d(reference.sketch.sorted_view()[0], current.sketch.sorted_view()[0])
    return points, reference.sketch.cdf(points) - current.sketch.cdf(points)


def ks_from_sketches(
    reference: NumericSide, current: NumericSide, *, threshold: float
) -> StatTestResult:
    """Kolmogorov–Smirnov statistic of the two sketches, with scipy's asymptotic p-value.

    The p-value is ``scipy.stats.kstwo.sf(D, round(n m / (n + m)))``, as
    ``ks_2samp(..., method="asymp")`` gives for the estimated ``D``.
    """
    from scipy import stats

    _, gaps = _gaps(reference, current)
    statistic = float(np.abs(gaps).max())
    n, m = reference.sketch.n, current.sketch.n
    effective = round(n * m / (n + m))
    error = reference.sketch.rank_error + current.sketch.rank_error

    def p_value_at(d: float) -> float:
        return float(np.clip(stats.kstwo.sf(min(max(d, 0.0), 1.0), effective), 0.0, 1.0))

    p_value = p_value_at(statistic)
    # A p-value hides the statistic's error; say so when it could flip the verdict.
    highest, lowest = p_value_at(statistic - error), p_value_at(statistic + error)
    note = None
    if lowest < threshold <= highest:
        note = (
            f"p-value uncertain: within the sketches' error (D ± {error:.4f}) it ranges "
            f"from {lowest:.3g} to {highest:.3g}; profile with a larger quantile_k to decide"
        )
    return StatTestResult.judged(
        DecisionRule.P_VALUE,
        "ks",
        statistic,
        p_value,
        threshold,
        (n, m),
        note=note,
        approximation_error=error,
    )


def _clipped_cantelli_integral(
    near: FloatArray, far: FloatArray, floor: FloatArray, epsilon: float, sigma: float
) -> FloatArray:
    """``∫ min(ε, max(floor, σ²/(σ² + u²))) du`` over ``[near, far]``, ``0 <= near <= far``.

    Closed form: ``ε`` up to where Cantelli's bound falls to ``ε``, the bound
    itself (integral ``σ atan(u/σ)``) down to ``floor``, then ``floor``.
    """
    with np.errstate(divide="ignore"):
        reach_epsilon = sigma * math.sqrt(max(1.0 / epsilon - 1.0, 0.0))
        reach_floor = sigma * np.sqrt(np.maximum(1.0 / floor - 1.0, 0.0))

    def length(low: FloatArray | float, high: FloatArray | float) -> FloatArray:
        result: FloatArray = np.clip(np.minimum(far, high) - np.maximum(near, low), 0.0, None)
        return result

    capped = epsilon * length(0.0, reach_epsilon)
    low = np.clip(np.maximum(near, reach_epsilon), None, far)
    high = np.clip(np.minimum(far, reach_floor), low, None)
    curve = sigma * (np.arctan(high / sigma) - np.arctan(low / sigma)) if sigma else 0.0 * low
    floored = floor * length(reach_floor, np.inf)
    result: FloatArray = np.where(
        floor >= epsilon, epsilon * (far - near), capped + curve + floored
    )
    return result


def _cdf_error_area(side: NumericSide) -> float:
    """Bound on ``∫ |F̂(x) - F(x)| dx`` for one side (see the module notes)."""
    epsilon = side.sketch.rank_error
    moments = side.moments
    if epsilon == 0.0 or moments.minimum is None or moments.maximum is None:
        return 0.0
    mean, sigma = moments.mean, moments.std or 0.0
    items, _ = side.sketch.sorted_view()
    inner = items[(items > moments.minimum) & (items < moments.maximum)]
    grid = np.unique(np.concatenate([[moments.minimum, moments.maximum, mean], inner]))
    grid = grid[(grid >= moments.minimum) & (grid <= moments.maximum)]
    left, right = grid[:-1], grid[1:]
    # The sketch's CDF is constant on [left, right): every item is a grid point; the
    # mean is one too, so each interval lies on one side of it.
    sketch_cdf = side.sketch.cdf(left)
    upper = left >= mean
    near = np.where(upper, left - mean, mean - right)
    far = np.where(upper, right - mean, mean - left)
    tail = np.where(upper, 1.0 - sketch_cdf, sketch_cdf)
    return float(_clipped_cantelli_integral(near, far, tail, epsilon, sigma).sum())


def wasserstein_from_sketches(
    reference: NumericSide, current: NumericSide, *, threshold: float
) -> StatTestResult:
    """Wasserstein distance of the two sketches divided by the reference's exact std.

    Raises
    ------
    DegenerateInputError
        If the reference is constant (zero standard deviation).
    """
    scale = reference.moments.std or 0.0
    if scale == 0.0:
        raise DegenerateInputError(
            "reference is constant, so wasserstein normed by its standard deviation is undefined"
        )
    points, gaps = _gaps(reference, current)
    distance = float(np.abs(gaps[:-1]) @ np.diff(points))
    error = (_cdf_error_area(reference) + _cdf_error_area(current)) / scale
    return StatTestResult.judged(
        DecisionRule.DISTANCE,
        "wasserstein",
        distance / scale,
        None,
        threshold,
        (reference.sketch.n, current.sketch.n),
        approximation_error=error,
    )


# ---------------------------------------------------------------- binned divergences


def _rounded_counts(masses: FloatArray, n: int) -> npt.NDArray[np.int64]:
    """Masses times ``n`` as integers summing to ``n`` (largest remainders round up)."""
    scaled = np.clip(masses, 0.0, None) * n
    counts = np.floor(scaled).astype(np.int64)
    short = n - int(counts.sum())
    if short > 0:
        counts[np.argsort(counts - scaled, kind="stable")[:short]] += 1
    return counts


def _term_range(term: BinTerm, p: Box, q: Box) -> Box:
    """Smallest and largest value of each bin's term over its box of masses."""
    corners = [term.term(a, b) for a in p for b in q]
    return term.least(p, q), np.maximum.reduce(corners)


def _box(mass: FloatArray, error: float, floor: float) -> tuple[FloatArray, FloatArray]:
    return np.clip(mass - error, floor, 1.0), np.clip(mass + error, floor, 1.0)


def binned_divergence(
    method: DriftMethod,
    reference: NumericSide,
    current: NumericSide,
    *,
    threshold: float,
    bins: int = DEFAULT_BINS,
) -> StatTestResult:
    """A binned method (PSI, KL, Jensen–Shannon, Hellinger) on bins at the reference's quantiles.

    The bins are those of :mod:`mlvigil.stats.divergences` (right-closed, open
    at both ends), with edges at the reference sketch's ``1/bins`` quantiles;
    each side's counts are its sketch's bin masses times its size. The statistic
    itself comes from ``method`` on those counts, its error bound from the
    method's :class:`~mlvigil.stats.registry.BinTerm`.
    """
    term = method.bin_term
    if term is None:
        raise ConfigError(f"{method.name} declares no per-bin terms to estimate it from bins")
    ranks = np.arange(1, bins) / bins
    edges = np.unique(reference.sketch.quantiles(ranks.tolist()))
    sides = []
    for side in (reference, current):
        masses = np.diff(np.concatenate([[0.0], side.sketch.cdf(edges), [1.0]]))
        sides.append((side.sketch.n, _rounded_counts(masses, side.sketch.n), side.sketch))
    (n_ref, ref_counts, ref_sketch), (n_cur, cur_counts, cur_sketch) = sides
    result = method(
        dict(enumerate(ref_counts.tolist())),
        dict(enumerate(cur_counts.tolist())),
        threshold=threshold,
    )
    floor = min(SMOOTHING, 1.0 / max(n_ref, n_cur)) if term.smoothed else 0.0
    low, high = _term_range(
        term,
        _box(ref_counts / n_ref, ref_sketch.rank_error + 1.0 / n_ref, floor),
        _box(cur_counts / n_cur, cur_sketch.rank_error + 1.0 / n_cur, floor),
    )
    lowest = term.finish(float(low.sum()))
    highest = term.finish(float(high.sum()))
    error = max(result.statistic - lowest, highest - result.statistic, 0.0)
    # Bins are not categories: nothing is new or missing.
    return replace(result, new_categories=(), missing_categories=(), approximation_error=error)


def estimate_from_sketches(
    method: DriftMethod,
    reference: NumericSide,
    current: NumericSide,
    *,
    threshold: float | None = None,
) -> StatTestResult:
    """Run ``method`` on two sketches, as its :attr:`~DriftMethod.from_sketches` declares.

    Parameters
    ----------
    method
        A registered method that computes from sketches.
    reference, current
        Each side's sketch and exact moments.
    threshold
        The method's threshold; default: its own.

    Returns
    -------
    StatTestResult
        With ``approximation_error``, a bound on the statistic's error (see the
        module notes).

    Raises
    ------
    ConfigError
        When the method needs the raw values.
    DegenerateInputError
        When the method is undefined on these sides (a constant reference).

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> from mlvigil.profile import profile_table
    >>> from mlvigil.stats.registry import get_method
    >>> rng = np.random.default_rng(0)
    >>> def side(shift):
    ...     column = profile_table(pa.table({"x": rng.normal(shift, 1.0, 20_000)})).columns["x"]
    ...     return NumericSide(column.quantiles, column.moments)
    >>> result = estimate_from_sketches(get_method("ks"), side(0.0), side(0.5))
    >>> result.drifted, 0 < result.approximation_error < 0.05
    (True, True)
    """
    chosen = method.default_threshold if threshold is None else threshold
    if method.from_sketches is SketchEstimate.CDF_GAP:
        return replace(ks_from_sketches(reference, current, threshold=chosen), method=method.name)
    if method.from_sketches is SketchEstimate.CDF_AREA:
        estimate = wasserstein_from_sketches(reference, current, threshold=chosen)
        return replace(estimate, method=method.name)
    if method.from_sketches is SketchEstimate.BINNED:
        return binned_divergence(method, reference, current, threshold=chosen)
    raise ConfigError(
        f"{method.name} needs the raw values and cannot be computed from quantile sketches"
    )
