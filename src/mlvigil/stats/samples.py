"""Prepared inputs shared by the drift methods.

A numerical column is sorted once into a :class:`SortedSample`; a categorical
column is counted once into a mapping. Every method accepts either raw values or
these prepared forms, so a report that runs several methods on a column never
sorts or counts it twice.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.exceptions import InputError

__all__ = [
    "CategoryCounts",
    "Categorical",
    "DegenerateInputError",
    "Numerical",
    "SortedSample",
    "as_sorted",
    "category_counts",
    "sorted_pair",
    "value_counts",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]


class DegenerateInputError(InputError):
    """A method cannot be computed on this input (empty, constant, infinite)."""


@dataclass(frozen=True, slots=True, eq=False)
class SortedSample:
    """Finite values of a numerical column, sorted ascending, NaN removed.

    Build one with :func:`as_sorted`; the constructor trusts its input.
    """

    values: FloatArray

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def is_constant(self) -> bool:
        """Whether every value is the same."""
        return len(self) > 0 and bool(self.values[0] == self.values[-1])

    def std(self) -> float:
        """Population standard deviation (``ddof=0``, as ``numpy.std``)."""
        return float(np.std(self.values))


Numerical: TypeAlias = "npt.ArrayLike | SortedSample"
Categorical: TypeAlias = "npt.ArrayLike | Mapping[Hashable, int] | pa.Array | pa.ChunkedArray"


def as_sorted(data: Numerical, *, side: str = "sample") -> SortedSample:
    """Prepare numerical values for the numerical methods.

    NaN values are dropped (they are missing values); infinite values are an
    error because no distance or ECDF test is defined on them.

    Parameters
    ----------
    data
        Values, or an already prepared :class:`SortedSample` (returned as is).
    side
        Name used in error messages ("reference", "current").

    Raises
    ------
    DegenerateInputError
        If no value is left or a value is infinite.

    Examples
    --------
    >>> as_sorted([3.0, float("nan"), 1.0]).values
    array([1., 3.])
    """
    if isinstance(data, SortedSample):
        return data
    values = np.asarray(data, dtype=np.float64).ravel()
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise DegenerateInputError(f"{side} has no values")
    if np.isinf(values).any():
        raise DegenerateInputError(f"{side} has infinite values; drop or clip them first")
    return SortedSample(np.sort(values))


def sorted_pair(reference: Numerical, current: Numerical) -> tuple[FloatArray, FloatArray]:
    """Both sides as sorted finite arrays (see :func:`as_sorted`)."""
    return as_sorted(reference, side="reference").values, as_sorted(current, side="current").values


@dataclass(frozen=True, slots=True, eq=False)
class CategoryCounts:
    """Counts of each category on both sides, aligned on one category list.

    Attributes
    ----------
    categories
        Every category seen on either side, in sorted order of their labels.
    reference, current
        Counts per category, aligned with ``categories``.
    """

    categories: tuple[Hashable, ...]
    reference: npt.NDArray[np.int64]
    current: npt.NDArray[np.int64]

    @property
    def new_categories(self) -> tuple[str, ...]:
        """Categories present in current but absent from reference."""
        return tuple(
            str(c)
            for c, r, k in zip(self.categories, self.reference, self.current, strict=True)
            if r == 0 and k > 0
        )

    @property
    def missing_categories(self) -> tuple[str, ...]:
        """Categories present in reference but absent from current."""
        return tuple(
            str(c)
            for c, r, k in zip(self.categories, self.reference, self.current, strict=True)
            if r > 0 and k == 0
        )

    def frequencies(self) -> tuple[FloatArray, FloatArray]:
        """Both sides' counts as proportions that sum to one."""
        return (
            self.reference / self.reference.sum(),
            self.current / self.current.sum(),
        )


def value_counts(values: pa.Array | pa.ChunkedArray) -> dict[Hashable, int]:
    """Count each distinct value of an Arrow array (nulls must be dropped first)."""
    table = pc.value_counts(values)
    return dict(
        zip(table.field("values").to_pylist(), table.field("counts").to_pylist(), strict=True)
    )


def _counts(data: Categorical, side: str) -> dict[Hashable, int]:
    if isinstance(data, Mapping):
        counts = {key: int(value) for key, value in data.items() if int(value) > 0}
    else:
        if not isinstance(data, pa.Array | pa.ChunkedArray):
            # from_pandas: NaN and None are both missing values, as in pandas.
            data = pa.array(data, from_pandas=True)
        counts = value_counts(pc.drop_null(data))
    if not counts:
        raise DegenerateInputError(f"{side} has no values")
    return counts


def _sort_key(label: Hashable) -> tuple[str, str]:
    return (type(label).__name__, str(label))


def category_counts(reference: Categorical, current: Categorical) -> CategoryCounts:
    """Count categories on both sides and align them.

    Parameters
    ----------
    reference, current
        Category values (nulls are dropped), or mappings of category to count.

    Examples
    --------
    >>> counts = category_counts(["a", "a", "b"], {"a": 1, "c": 4})
    >>> counts.categories, counts.reference.tolist(), counts.current.tolist()
    (('a', 'b', 'c'), [2, 1, 0], [1, 0, 4])
    >>> counts.new_categories, counts.missing_categories
    (('c',), ('b',))
    """
    ref = _counts(reference, "reference")
    cur = _counts(current, "current")
    categories = tuple(sorted(ref.keys() | cur.keys(), key=_sort_key))
    return CategoryCounts(
        categories=categories,
        reference=np.array([ref.get(c, 0) for c in categories], dtype=np.int64),
        current=np.array([cur.get(c, 0) for c in categories], dtype=np.int64),
    )
