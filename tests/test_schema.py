"""Column type inference."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from mlvigil.io.conform import ConformError, conform_column
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
        (pa.array([[0.5, 1.0], None], pa.list_(pa.float32())), ColumnType.EMBEDDING),
        (pa.array([[1, 2]], pa.list_(pa.int64(), 2)), ColumnType.EMBEDDING),
        (pa.array([["a"], ["b"]]), ColumnType.TEXT),
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


@pytest.mark.parametrize(
    "kind", [pa.list_(pa.float64()), pa.large_list(pa.int32()), pa.list_(pa.float16(), 2)]
)
def test_embeddings_of_any_list_of_numbers_are_stored_as_float32_lists(kind) -> None:
    stored = conform_column(pa.array([[1, 2], None, [3, 4]], kind), ColumnType.EMBEDDING)
    assert stored.type == pa.list_(pa.float32())
    assert stored.to_pylist() == [[1.0, 2.0], None, [3.0, 4.0]]


def test_an_embedding_whose_vectors_differ_in_length_is_refused_naming_the_row() -> None:
    with pytest.raises(ConformError, match="row 2 holds a vector of 1 values"):
        conform_column(pa.array([[1.0, 2.0], None, [3.0]]), ColumnType.EMBEDDING)
    with pytest.raises(ConformError, match="lists of numbers"):
        conform_column(pa.array(["1, 2"]), ColumnType.EMBEDDING)
