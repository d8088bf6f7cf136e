"""Column type inference."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from mlvigil.schema import INFERENCE_SAMPLE_SIZE, ColumnType, infer_column_type


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pa.array([0.1, 2.5, None]), ColumnType.NUMERICAL),
        (pa.array(list(range(100))), ColumnType.NUMERICAL),
        (pa.array([1, 2, 3, 1, 2, 3]), ColumnType.CATEGORICAL),
        (pa.array(["a", "b", "a"] * 20), ColumnType.CATEGORICAL),
        (pa.array(["a", "b"]).dictionary_encode(), ColumnType.CATEGORICAL),
        (pa.array([True, False, None]), ColumnType.BOOLEAN),
        (pa.array([dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)]), ColumnType.DATETIME),
        (pa.array([dt.date(2026, 1, 1)]), ColumnType.DATETIME),
        (pa.array([f"free text number {i}" for i in range(100)]), ColumnType.TEXT),
        (pa.array([None, None], pa.float64()), ColumnType.UNKNOWN),
        (pa.array(["a", "b"], pa.string_view()), ColumnType.CATEGORICAL),
    ],
)
def test_types_are_inferred_from_arrow_type_and_a_sample(
    values: pa.Array, expected: ColumnType
) -> None:
    assert infer_column_type(values) is expected


def test_inference_reads_a_bounded_sample_of_a_large_column() -> None:
    # Few distinct values in evenly spaced positions, unique values elsewhere:
    # a full scan would call this numerical, the bounded sample sees few values.
    n = 2_000_000
    values = np.arange(n) + 100
    step = (n - 1) / (INFERENCE_SAMPLE_SIZE - 1)
    sampled = np.floor(np.arange(INFERENCE_SAMPLE_SIZE) * step).astype(np.int64)
    values[sampled] = sampled % 3
    assert infer_column_type(pa.chunked_array([values])) is ColumnType.CATEGORICAL


def test_categorical_covers_boolean() -> None:
    assert ColumnType.BOOLEAN.is_categorical
    assert ColumnType.CATEGORICAL.is_categorical
    assert not ColumnType.NUMERICAL.is_categorical
