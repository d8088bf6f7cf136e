"""Every drift method by name: what it applies to, what it computes from, its default threshold.

Every method computes from raw values: a :class:`~mlvigil.stats.samples.SortedSample`
of a numerical column or the category counts of a categorical one. Profiles keep
exact category counts, so any method applies to their categorical columns; for
numerical columns they keep KLL quantile sketches instead of the values, and a
method runs on those only when it declares how (:attr:`DriftMethod.from_sketches`),
each result then stating a bound on its error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from mlvigil.exceptions import ConfigError, UnknownMethodError
from mlvigil.schema import ColumnType
from mlvigil.stats.contingency import (
    chi_square_test,
    fisher_exact_test,
    g_test,
    two_proportion_z_test,
)
from mlvigil.stats.distances import energy_distance_normed, wasserstein_distance_normed
from mlvigil.stats.divergences import (
    hellinger_distance,
    jensen_shannon_distance,
    kl_divergence,
    population_stability_index,
)
from mlvigil.stats.ecdf import anderson_darling_test, cramer_von_mises_test, ks_test
from mlvigil.stats.result import DecisionRule, StatTestResult

__all__ = [
    "METHODS",
    "BinTerm",
    "DriftMethod",
    "SketchEstimate",
    "get_method",
    "sketch_methods",
]

_NUMERICAL = frozenset({ColumnType.NUMERICAL})
_CATEGORICAL = frozenset({ColumnType.CATEGORICAL, ColumnType.BOOLEAN})
_BOTH = _NUMERICAL | _CATEGORICAL

FloatArray: TypeAlias = npt.NDArray[np.float64]
#: A range of bin masses, elementwise: ``(low, high)``.
Box: TypeAlias = tuple[FloatArray, FloatArray]


class SketchEstimate(StrEnum):
    """How a method's statistic is estimated from two KLL quantile sketches.

    :func:`mlvigil.profile.estimates.estimate_from_sketches` computes each kind; the
    result's ``approximation_error`` bounds the statistic's error with the sketches'
    99% confidence (``ε`` is a sketch's normalized rank error; the module notes
    derive each bound).
    """

    #: The largest gap between the two sketched CDFs; error at most ``ε_ref + ε_cur``.
    CDF_GAP = "cdf_gap"
    #: The area between the two sketched CDFs over the reference's exact standard
    #: deviation; error at most both sides' ``∫ |F̂ - F| dx`` (within ``ε``, and within
    #: Cantelli's bound in the tails) over that deviation.
    CDF_AREA = "cdf_area"
    #: The method itself on the counts of bins at the reference sketch's quantiles;
    #: error from each bin's mass range (``± ε + 1/n``) through its :class:`BinTerm`.
    BINNED = "binned"


@dataclass(frozen=True, slots=True)
class BinTerm:
    """A divergence as ``finish(sum of term(p, q) over bins)``, to bound it on uncertain bins.

    Attributes
    ----------
    term
        Each bin's term of the reference and current masses ``p`` and ``q``; jointly
        convex, so its largest value over a box of masses is at a corner.
    least
        The smallest value of ``term`` over a box ``(p_low, p_high), (q_low, q_high)``.
    smoothed
        Whether empty bins are floored at :data:`~mlvigil.stats.divergences.SMOOTHING`.
    finish
        The statistic from the summed terms.
    """

    term: Callable[[FloatArray, FloatArray], FloatArray]
    least: Callable[[Box, Box], FloatArray]
    smoothed: bool
    finish: Callable[[float], float]


@dataclass(frozen=True, slots=True)
class DriftMethod:
    """A registered drift method.

    Attributes
    ----------
    name
        Name used in options, the CLI and results.
    function
        ``function(reference, current, *, threshold) -> StatTestResult``.
    applies_to
        Column types it can test.
    rule
        Whether the threshold bounds a p-value or a distance.
    default_threshold
        Threshold used when none is configured.
    binary_only
        Only defined for columns with at most two categories.
    description
        One line for help texts and docs.
    from_sketches
        How the method is estimated from quantile sketches (the numerical columns
        of profiles), with a bound on its error; ``None`` when it needs the raw
        values, which gives such columns of profiles status ``error``.
    bin_term
        The per-bin terms of a :attr:`SketchEstimate.BINNED` method, which bound its error.
    """

    name: str
    function: Callable[..., StatTestResult]
    applies_to: frozenset[ColumnType]
    rule: DecisionRule
    default_threshold: float
    description: str
    binary_only: bool = False
    from_sketches: SketchEstimate | None = None
    bin_term: BinTerm | None = None

    def __post_init__(self) -> None:
        if (self.from_sketches is SketchEstimate.BINNED) != (self.bin_term is not None):
            raise ConfigError(
                f"method {self.name}: a binned estimate from sketches needs its bin_term, "
                "and only a binned estimate has one"
            )

    def __call__(
        self, reference: Any, current: Any, *, threshold: float | None = None
    ) -> StatTestResult:
        """Run the method with ``threshold`` or its default."""
        chosen = self.default_threshold if threshold is None else threshold
        return self.function(reference, current, threshold=chosen)


def _p(
    name: str,
    function: Callable[..., StatTestResult],
    applies_to: frozenset[ColumnType],
    description: str,
    *,
    binary_only: bool = False,
    from_sketches: SketchEstimate | None = None,
) -> DriftMethod:
    return DriftMethod(
        name,
        function,
        applies_to,
        DecisionRule.P_VALUE,
        0.05,
        description,
        binary_only,
        from_sketches=from_sketches,
    )


def _d(
    name: str,
    function: Callable[..., StatTestResult],
    applies_to: frozenset[ColumnType],
    description: str,
    threshold: float,
    *,
    from_sketches: SketchEstimate | None = None,
    bin_term: BinTerm | None = None,
) -> DriftMethod:
    return DriftMethod(
        name,
        function,
        applies_to,
        DecisionRule.DISTANCE,
        threshold,
        description,
        from_sketches=from_sketches,
        bin_term=bin_term,
    )


# ---------------------------------------------------------------- per-bin terms


def _psi_term(p: FloatArray, q: FloatArray) -> FloatArray:
    result: FloatArray = (q - p) * np.log(q / p)
    return result


def _kl_term(p: FloatArray, q: FloatArray) -> FloatArray:
    result: FloatArray = p * np.log(p / q)
    return result


def _js_term(p: FloatArray, q: FloatArray) -> FloatArray:
    mean = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / mean), 0.0)
        right = np.where(q > 0, q * np.log(q / mean), 0.0)
    result: FloatArray = left + right
    return result


def _hellinger_term(p: FloatArray, q: FloatArray) -> FloatArray:
    result: FloatArray = (np.sqrt(p) - np.sqrt(q)) ** 2
    return result


def _least_off_diagonal(
    term: Callable[[FloatArray, FloatArray], FloatArray],
) -> Callable[[Box, Box], FloatArray]:
    """Least value over a box of a term that is zero on ``p = q`` and grows away from it."""

    def least(p: Box, q: Box) -> FloatArray:
        (p_low, p_high), (q_low, q_high) = p, q
        result: FloatArray = np.where(
            q_low > p_high,
            term(p_high, q_low),
            np.where(p_low > q_high, term(p_low, q_high), 0.0),
        )
        return result

    return least


def _kl_least(p: Box, q: Box) -> FloatArray:
    # p ln(p/q) falls as q grows, and in p is least at p = q/e.
    (p_low, p_high), (_, q_high) = p, q
    return _kl_term(np.clip(q_high / math.e, p_low, p_high), q_high)


def _root_half(total: float) -> float:
    return math.sqrt(max(total, 0.0) / 2.0)


_PSI = BinTerm(_psi_term, _least_off_diagonal(_psi_term), True, float)
_KL = BinTerm(_kl_term, _kl_least, True, float)
_JS = BinTerm(_js_term, _least_off_diagonal(_js_term), False, _root_half)
_HELLINGER = BinTerm(_hellinger_term, _least_off_diagonal(_hellinger_term), False, _root_half)
_BINNED = SketchEstimate.BINNED


# Distance defaults are calibrated on one yardstick, so that each flags both a
# 0.5-standard-deviation mean shift and a 10-percentage-point shift in one
# category's share at 5,000 rows a side, while no-drift samples stay below them
# (tests/stats/test_calibration.py measures both). PSI and KL are in the same
# units (PSI is the symmetrised KL), hence KL's half-size threshold.


#: The registered methods, by name.
METHODS: dict[str, DriftMethod] = {
    m.name: m
    for m in (
        _p(
            "ks",
            ks_test,
            _NUMERICAL,
            "two-sample Kolmogorov-Smirnov test",
            from_sketches=SketchEstimate.CDF_GAP,
        ),
        _d(
            "wasserstein",
            wasserstein_distance_normed,
            _NUMERICAL,
            "Wasserstein distance / reference std",
            0.1,
            from_sketches=SketchEstimate.CDF_AREA,
        ),
        _p("anderson", anderson_darling_test, _NUMERICAL, "Anderson-Darling k-sample test"),
        _p(
            "cramer_von_mises",
            cramer_von_mises_test,
            _NUMERICAL,
            "two-sample Cramer-von Mises test",
        ),
        _d("energy", energy_distance_normed, _NUMERICAL, "energy distance / reference std", 0.1),
        _d(
            "psi",
            population_stability_index,
            _BOTH,
            "population stability index",
            0.04,
            from_sketches=_BINNED,
            bin_term=_PSI,
        ),
        _d(
            "jensenshannon",
            jensen_shannon_distance,
            _BOTH,
            "Jensen-Shannon distance",
            0.05,
            from_sketches=_BINNED,
            bin_term=_JS,
        ),
        _d(
            "hellinger",
            hellinger_distance,
            _BOTH,
            "Hellinger distance",
            0.05,
            from_sketches=_BINNED,
            bin_term=_HELLINGER,
        ),
        _d(
            "kl_div",
            kl_divergence,
            _BOTH,
            "Kullback-Leibler divergence",
            0.02,
            from_sketches=_BINNED,
            bin_term=_KL,
        ),
        _p(
            "chisquare",
            chi_square_test,
            _CATEGORICAL,
            "chi-square test of homogeneity (2 x k table)",
        ),
        _p("z", two_proportion_z_test, _CATEGORICAL, "two-proportion Z test", binary_only=True),
        _p(
            "fisher_exact", fisher_exact_test, _CATEGORICAL, "Fisher's exact test", binary_only=True
        ),
        _p("g_test", g_test, _CATEGORICAL, "G-test of homogeneity (2 x k table)"),
    )
}


def get_method(name: str) -> DriftMethod:
    """Look a method up by name.

    Raises
    ------
    UnknownMethodError
        With the list of known names.

    Examples
    --------
    >>> get_method("ks").rule
    <DecisionRule.P_VALUE: 'p_value'>
    """
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownMethodError(name, sorted(METHODS)) from None


def sketch_methods(column_type: ColumnType) -> list[str]:
    """Names of the methods for ``column_type`` that also compute from quantile sketches.

    Examples
    --------
    >>> sketch_methods(ColumnType.NUMERICAL)
    ['ks', 'wasserstein', 'psi', 'jensenshannon', 'hellinger', 'kl_div']
    """
    return [
        m.name
        for m in METHODS.values()
        if column_type in m.applies_to and m.from_sketches is not None
    ]
