"""The default drift method for a column, by its type and sample size.

=========================  =========================  ==============================
column                     reference values <= 1000   reference values > 1000
=========================  =========================  ==============================
numerical                  ``ks`` (p < 0.05)           ``wasserstein`` (>= 0.1 std)
binary categorical         ``z`` (p < 0.05), or        ``jensenshannon`` (>= 0.1)
                           ``fisher_exact`` when an
                           expected count is below 5
categorical, 3+ values     ``chisquare`` (p < 0.05)    ``jensenshannon`` (>= 0.1)
=========================  =========================  ==============================

Small samples get a significance test, which is calibrated there; large samples
get a distance, because with a million rows every test is significant and what
matters is whether the shift is big enough to care about.
"""

from __future__ import annotations

from mlvigil.schema import ColumnType
from mlvigil.stats.samples import CategoryCounts

__all__ = ["SMALL_SAMPLE_SIZE", "default_method"]

#: Reference samples of at most this many values count as small.
SMALL_SAMPLE_SIZE = 1000

#: Fisher's exact test replaces the Z test when an expected count falls below this.
MIN_EXPECTED_COUNT = 5.0


def _min_expected_count(counts: CategoryCounts) -> float:
    total = counts.reference.sum() + counts.current.sum()
    column_totals = counts.reference + counts.current
    smaller_row = min(counts.reference.sum(), counts.current.sum())
    return float(smaller_row * column_totals.min() / total)


def default_method(
    column_type: ColumnType,
    reference_size: int,
    counts: CategoryCounts | None = None,
    *,
    small_sample_size: int = SMALL_SAMPLE_SIZE,
) -> str:
    """Name of the default method for a column.

    Parameters
    ----------
    column_type
        Numerical, categorical or boolean.
    reference_size
        Non-null values in the reference column.
    counts
        Category counts, for categorical columns.
    small_sample_size
        Largest reference size that counts as small.

    Examples
    --------
    >>> default_method(ColumnType.NUMERICAL, 500)
    'ks'
    >>> default_method(ColumnType.NUMERICAL, 50_000)
    'wasserstein'
    """
    small = reference_size <= small_sample_size
    if column_type is ColumnType.NUMERICAL:
        return "ks" if small else "wasserstein"
    if not small:
        return "jensenshannon"
    if counts is not None and len(counts.categories) <= 2:
        return "fisher_exact" if _min_expected_count(counts) < MIN_EXPECTED_COUNT else "z"
    return "chisquare"
