"""Column types and their inference from data.

Inference looks at the Arrow type first and, only where the type is ambiguous
(integers, strings), at an evenly spaced sample of at most
:data:`INFERENCE_SAMPLE_SIZE` values, so it never scans millions of values just
to count distinct ones.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "INFERENCE_SAMPLE_SIZE",
    "UNTESTED_TYPES",
    "ColumnType",
    "infer_column_type",
    "is_vector_type",
]

#: How many values type inference looks at, at most.
INFERENCE_SAMPLE_SIZE = 10_000

#: Integer columns with at most this many distinct values in the sample are categorical.
MAX_INTEGER_CATEGORIES = 10

#: String columns whose sample is more than this share distinct values are text.
TEXT_DISTINCT_SHARE = 0.5


class ColumnType(StrEnum):
    """What kind of values a column holds, which decides how drift is tested."""

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    #: Fixed-length vectors of numbers (embeddings), tested by the multivariate check.
    EMBEDDING = "embedding"
    #: No value to infer from: the column is all null.
    UNKNOWN = "unknown"

    @property
    def is_categorical(self) -> bool:
        """Whether values are compared as category frequencies."""
        return self in (ColumnType.CATEGORICAL, ColumnType.BOOLEAN)


#: Types univariate drift does not test: times move by nature, free text rarely
#: repeats, and embeddings are tested as whole vectors by the multivariate check.
UNTESTED_TYPES = frozenset({ColumnType.DATETIME, ColumnType.TEXT, ColumnType.EMBEDDING})


def _evenly_spaced_sample(values: pa.ChunkedArray, size: int) -> pa.Array | pa.ChunkedArray:
    non_null = pc.drop_null(values)
    if len(non_null) <= size:
        return non_null
    indices = np.linspace(0, len(non_null) - 1, size).astype(np.int64)
    return non_null.take(pa.array(indices))


def _is_string(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def is_vector_type(kind: pa.DataType) -> bool:
    """Whether an Arrow type holds vectors (embeddings): a (fixed-size) list of numbers.

    Examples
    --------
    >>> is_vector_type(pa.list_(pa.float32(), 8)), is_vector_type(pa.string())
    (True, False)
    """
    is_list = (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )
    if not is_list:
        return False
    value = kind.value_type
    return bool(pa.types.is_floating(value) or pa.types.is_integer(value))


def infer_column_type(values: pa.ChunkedArray | pa.Array) -> ColumnType:
    """Infer the :class:`ColumnType` of a column.

    Parameters
    ----------
    values
        The column, as an Arrow array.

    Returns
    -------
    ColumnType
        ``NUMERICAL`` for floats and for integers with more than
        :data:`MAX_INTEGER_CATEGORIES` distinct values in a sample,
        ``CATEGORICAL`` for few-valued integers, dictionaries and strings whose
        sample repeats values, ``TEXT`` for strings that mostly do not repeat,
        ``BOOLEAN``, ``DATETIME``, ``EMBEDDING`` for lists of numbers, or ``UNKNOWN``
        when every value is null.

    Examples
    --------
    >>> import pyarrow as pa
    >>> infer_column_type(pa.array([0.5, 1.5, None]))
    <ColumnType.NUMERICAL: 'numerical'>
    >>> infer_column_type(pa.array(["a", "b", "a", "b"]))
    <ColumnType.CATEGORICAL: 'categorical'>
    >>> infer_column_type(pa.array([1, 2, 1, 2, 3]))
    <ColumnType.CATEGORICAL: 'categorical'>
    """
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    kind = values.type
    if len(values) == values.null_count:
        return ColumnType.UNKNOWN
    if pa.types.is_boolean(kind):
        return ColumnType.BOOLEAN
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return ColumnType.NUMERICAL
    if pa.types.is_temporal(kind):
        return ColumnType.DATETIME
    if pa.types.is_dictionary(kind):
        return ColumnType.CATEGORICAL
    if is_vector_type(kind):
        return ColumnType.EMBEDDING
    if pa.types.is_nested(kind):
        return ColumnType.TEXT
    sample = _evenly_spaced_sample(values, INFERENCE_SAMPLE_SIZE)
    if pa.types.is_string_view(kind):
        sample = sample.cast(pa.large_string())  # string views lack count_distinct
    distinct = pc.count_distinct(sample).as_py()
    if pa.types.is_integer(kind):
        if distinct <= MAX_INTEGER_CATEGORIES:
            return ColumnType.CATEGORICAL
        return ColumnType.NUMERICAL
    if _is_string(kind):
        if len(sample) > 20 and distinct > TEXT_DISTINCT_SHARE * len(sample):
            return ColumnType.TEXT
        return ColumnType.CATEGORICAL
    return ColumnType.TEXT
