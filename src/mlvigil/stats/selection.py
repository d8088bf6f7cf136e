"""The default drift method for a column, by its type and sample size.

``n`` is the smaller side's count of non-null values, ``k`` the number of categories.

=====================  ======================================  =================================
column                 small sample                            large sample
=====================  ======================================  =================================
numerical              ``ks`` (p < 0.05) when n <= 1000        ``wasserstein`` (>= 0.1 std)
binary categorical     ``z`` (p < 0.05), or ``fisher_exact``   ``jensenshannon`` (>= 0.05) when
                       when an expected count is below 5       n > 1000 and n >= 300 k
categorical, 3+ values ``chisquare`` (p < 0.05)                ``jensenshannon`` (>= 0.05)
=====================  ======================================  =================================

Small samples get a significance test, which is calibrated there; large samples
get a distance, because with a million rows every test is significant and what
matters is whether the shift is big enough to care about. A categorical distance
needs enough rows per category for sampling noise to stay under its threshold
(at n = 300 k the no-drift Jensen–Shannon distance stays under 0.05 in 99% of
samples), so many-valued columns keep the chi-square test longer.
"""

from __future__ import annotations

from mlvigil.schema import ColumnType
from mlvigil.stats.samples import CategoryCounts

__all__ = ["ROWS_PER_CATEGORY", "SMALL_SAMPLE_SIZE", "default_method"]

#: Samples of at most this many values count as small.
SMALL_SAMPLE_SIZE = 1000

#: A categorical distance needs at least this many values per category.
ROWS_PER_CATEGORY = 300

#: Fisher's exact test replaces the Z test when an expected count falls below this.
MIN_EXPECTED_COUNT = 5.0


def _min_expected_count(counts: CategoryCounts) -> float:
    total = counts.reference.sum() + counts.current.sum()
    column_totals = counts.reference + counts.current
    smaller_row = min(counts.reference.sum(), counts.current.sum())
    return float(smaller_row * column_totals.min() / total)


def default_method(
    column_type: ColumnType,
    sample_size: int,
    counts: CategoryCounts | None = None,
    *,
    small_sample_size: int = SMALL_SAMPLE_SIZE,
) -> str:
    """Name of the default method for a column.

    Parameters
    ----------
    column_type
        Numerical, categorical or boolean.
    sample_size
        Non-null values on the smaller side.
    counts
        Category counts, for categorical columns.
    small_sample_size
        Largest sample size that counts as small.

    Examples
    --------
    >>> default_method(ColumnType.NUMERICAL, 500)
    'ks'
    >>> default_method(ColumnType.NUMERICAL, 50_000)
    'wasserstein'
    """
    large = sample_size > small_sample_size
    if column_type is ColumnType.NUMERICAL:
        return "wasserstein" if large else "ks"
    categories = len(counts.categories) if counts is not None else 0
    if large and sample_size >= ROWS_PER_CATEGORY * categories:
        return "jensenshannon"
    if counts is not None and categories <= 2:
        return "fisher_exact" if _min_expected_count(counts) < MIN_EXPECTED_COUNT else "z"
    return "chisquare"
