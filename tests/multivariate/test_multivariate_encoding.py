"""Tables as matrices: imputation, frequency encoding, standardisation, types users send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlvigil.exceptions import InputError
from mlvigil.multivariate.encoding import EmbeddingEncoder, TabularEncoder
from mlvigil.schema import ColumnType, is_vector_type


def _raw(encoder: TabularEncoder, table: pa.Table) -> np.ndarray:
    """The encoded values before standardisation."""
    return encoder.transform(table) * encoder.std + encoder.mean


def test_numbers_are_imputed_with_the_reference_mean_and_standardised():
    reference = pa.table({"x": [1.0, 2.0, None, 6.0, float("nan")], "y": [1, 5, 2, 9, 3]})

    encoder = TabularEncoder.fit(reference, ["x", "y"], {"y": ColumnType.NUMERICAL})
    matrix = encoder.transform(reference)

    assert _raw(encoder, reference)[:, 0] == pytest.approx([1.0, 2.0, 3.0, 6.0, 3.0])
    assert matrix.mean(axis=0) == pytest.approx([0.0, 0.0])
    assert matrix.std(axis=0) == pytest.approx([1.0, 1.0])
    assert matrix.dtype == np.float64
    window = pa.table({"x": [float("inf"), None], "y": [1.0, 2.0]})
    assert _raw(encoder, window)[:, 0] == pytest.approx([3.0, 3.0])  # infinite is missing


def test_categories_become_their_reference_share_and_unseen_ones_zero():
    reference = pd.DataFrame(
        {"grade": pd.Categorical(["A", "A", "A", "B", None, "C", "B", "A"]), "n": range(8)}
    )
    table = pa.Table.from_pandas(reference, preserve_index=False)
    encoder = TabularEncoder.fit(table, ["grade"])

    window = pd.DataFrame({"grade": pd.array(["A", "B", "C", "Z", None], dtype="str")})
    shares = _raw(encoder, pa.Table.from_pandas(window, preserve_index=False))[:, 0]

    # 7 known values: A 4/7, B 2/7, C 1/7; a missing grade takes A's (the most frequent).
    assert shares == pytest.approx([4 / 7, 2 / 7, 1 / 7, 0.0, 4 / 7])


def test_float_labels_booleans_and_pandas_strings_are_categories():
    frame = pd.DataFrame(
        {
            "label": [1.0, 0.0, 1.0, 1.0],
            "flag": [True, False, True, True],
            "city": pd.array(["Oslo", "Rome", "Oslo", None], dtype="str"),
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema = {"label": ColumnType.CATEGORICAL, "flag": ColumnType.BOOLEAN}

    encoder = TabularEncoder.fit(table, ["label", "flag", "city"], schema)

    assert _raw(encoder, table)[:, 0] == pytest.approx([0.75, 0.25, 0.75, 0.75])
    as_text = pa.table({"label": ["1", "0"], "flag": ["true", "0"], "city": ["Rome", "Oslo"]})
    assert _raw(encoder, as_text)[:, 0] == pytest.approx([0.75, 0.25])  # "1" is 1.0
    assert _raw(encoder, as_text)[:, 1] == pytest.approx([0.75, 0.25])
    # city: Oslo 2 of 3 known values; the missing one took Oslo's share.
    assert _raw(encoder, as_text)[:, 2] == pytest.approx([1 / 3, 2 / 3])


def test_datetimes_are_epoch_seconds():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = pa.array([start + timedelta(hours=h) for h in range(4)], pa.timestamp("us", tz="UTC"))

    encoder = TabularEncoder.fit(pa.table({"at": times}), ["at"])

    assert encoder.mean[0] == pytest.approx(start.timestamp() + 1.5 * 3600)
    assert encoder.std[0] == pytest.approx(np.std([0, 3600, 7200, 10800]))


def test_constant_and_all_null_columns_are_dropped_with_their_reason():
    table = pa.table(
        {
            "x": [1.0, 2.0, 3.0],
            "same": ["a", "a", "a"],
            "empty": pa.array([None, None, None], pa.float64()),
        }
    )

    encoder = TabularEncoder.fit(table, ["x", "same", "empty"])

    assert encoder.columns == ("x",)
    assert dict(encoder.dropped) == {"same": "constant", "empty": "all null"}
    assert encoder.transform(table).shape == (3, 1)


def test_values_that_cannot_take_the_declared_type_raise_naming_the_column():
    table = pa.table({"x": ["1.5", "lots"]})

    with pytest.raises(InputError, match="'x'"):
        TabularEncoder.fit(table, ["x"], {"x": ColumnType.NUMERICAL})


def test_embedding_types_are_lists_of_numbers():
    assert is_vector_type(pa.list_(pa.float32()))
    assert is_vector_type(pa.large_list(pa.float64()))
    assert is_vector_type(pa.list_(pa.int8(), 4))
    assert not is_vector_type(pa.list_(pa.string()))
    assert not is_vector_type(pa.float64())


def test_an_embedding_of_another_length_than_the_reference_raises():
    encoder = EmbeddingEncoder.fit("vec", pa.array([[1.0, 2.0], [3.0, 4.0]]))

    with pytest.raises(InputError, match="another length"):
        encoder.transform(pa.array([[1.0, 2.0, 3.0]]))
