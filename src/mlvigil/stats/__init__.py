"""Two-sample statistical tests and distances for drift detection.

Every method is a pure function ``method(reference, current, *, threshold)``
returning a frozen :class:`StatTestResult`; :data:`METHODS` registers them by name.
"""

from mlvigil.stats.contingency import (
    chi_square_test,
    fisher_exact_test,
    g_test,
    two_proportion_z_test,
)
from mlvigil.stats.correction import Correction, adjust_p_values
from mlvigil.stats.distances import energy_distance_normed, wasserstein_distance_normed
from mlvigil.stats.divergences import (
    hellinger_distance,
    jensen_shannon_distance,
    kl_divergence,
    population_stability_index,
)
from mlvigil.stats.ecdf import anderson_darling_test, cramer_von_mises_test, ks_test
from mlvigil.stats.registry import METHODS, DriftMethod, get_method
from mlvigil.stats.result import DecisionRule, StatTestResult
from mlvigil.stats.samples import (
    CategoryCounts,
    DegenerateInputError,
    SortedSample,
    as_sorted,
    category_counts,
)
from mlvigil.stats.selection import default_method

__all__ = [
    "METHODS",
    "CategoryCounts",
    "Correction",
    "DecisionRule",
    "DegenerateInputError",
    "DriftMethod",
    "SortedSample",
    "StatTestResult",
    "adjust_p_values",
    "anderson_darling_test",
    "as_sorted",
    "category_counts",
    "chi_square_test",
    "cramer_von_mises_test",
    "default_method",
    "energy_distance_normed",
    "fisher_exact_test",
    "g_test",
    "get_method",
    "hellinger_distance",
    "jensen_shannon_distance",
    "kl_divergence",
    "ks_test",
    "population_stability_index",
    "two_proportion_z_test",
    "wasserstein_distance_normed",
]
