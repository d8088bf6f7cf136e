"""Every drift method by name, with what it applies to and its default threshold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlvigil.exceptions import UnknownMethodError
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

__all__ = ["METHODS", "DriftMethod", "get_method"]

_NUMERICAL = frozenset({ColumnType.NUMERICAL})
_CATEGORICAL = frozenset({ColumnType.CATEGORICAL, ColumnType.BOOLEAN})
_BOTH = _NUMERICAL | _CATEGORICAL


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
    """

    name: str
    function: Callable[..., StatTestResult]
    applies_to: frozenset[ColumnType]
    rule: DecisionRule
    default_threshold: float
    description: str
    binary_only: bool = False

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
) -> DriftMethod:
    return DriftMethod(
        name, function, applies_to, DecisionRule.P_VALUE, 0.05, description, binary_only
    )


def _d(
    name: str,
    function: Callable[..., StatTestResult],
    applies_to: frozenset[ColumnType],
    description: str,
    threshold: float,
) -> DriftMethod:
    return DriftMethod(name, function, applies_to, DecisionRule.DISTANCE, threshold, description)


# Distance defaults are calibrated on one yardstick, so that each flags both a
# 0.5-standard-deviation mean shift and a 10-percentage-point shift in one
# category's share at 5,000 rows a side, while no-drift samples stay below them
# (tests/stats/test_calibration.py measures both). PSI and KL are in the same
# units (PSI is the symmetrised KL), hence KL's half-size threshold.


#: The registered methods, by name.
METHODS: dict[str, DriftMethod] = {
    m.name: m
    for m in (
        _p("ks", ks_test, _NUMERICAL, "two-sample Kolmogorov-Smirnov test"),
        _d(
            "wasserstein",
            wasserstein_distance_normed,
            _NUMERICAL,
            "Wasserstein distance / reference std",
            0.1,
        ),
        _p("anderson", anderson_darling_test, _NUMERICAL, "Anderson-Darling k-sample test"),
        _p(
            "cramer_von_mises",
            cramer_von_mises_test,
            _NUMERICAL,
            "two-sample Cramer-von Mises test",
        ),
        _d("energy", energy_distance_normed, _NUMERICAL, "energy distance / reference std", 0.1),
        _d("psi", population_stability_index, _BOTH, "population stability index", 0.04),
        _d("jensenshannon", jensen_shannon_distance, _BOTH, "Jensen-Shannon distance", 0.05),
        _d("hellinger", hellinger_distance, _BOTH, "Hellinger distance", 0.05),
        _d("kl_div", kl_divergence, _BOTH, "Kullback-Leibler divergence", 0.02),
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
