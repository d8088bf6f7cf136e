"""The vectorised HyperLogLog: accuracy, exact merges, and its hashing."""

from __future__ import annotations

import zlib

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlvigil.profile import HyperLogLog, ProfileFormatError, ProfileMergeError
from mlvigil.profile.hll import hash_scheme

SALT = 0x9E3779B97F4A7C15


def _reference_registers(values: pa.Array, precision: int) -> np.ndarray:
    """Registers computed one hash at a time in plain Python, from DuckDB's hashes."""
    connection = duckdb.connect()
    connection.register("data", pa.table({"v": values}))
    hashes = connection.execute("SELECT hash(v) FROM data WHERE v IS NOT NULL").fetchall()
    registers = np.zeros(1 << precision, dtype=np.uint8)
    rest_bits = 64 - precision
    for (raw,) in hashes:
        h = raw ^ SALT
        index, rest = h >> rest_bits, h & ((1 << rest_bits) - 1)
        rank = rest_bits - rest.bit_length() + 1
        registers[index] = max(registers[index], rank)
    return registers


@pytest.mark.parametrize("precision", [4, 10, 12])
@pytest.mark.parametrize("distinct", [3, 3_000, 6_000])  # few distinct values, and many
@pytest.mark.parametrize("kind", [pa.string(), pa.large_string(), pa.int64(), pa.int8()])
def test_registers_match_a_one_value_at_a_time_implementation(
    precision: int, distinct: int, kind: pa.DataType
) -> None:
    if pa.types.is_integer(kind):
        high = min(distinct, np.iinfo(kind.to_pandas_dtype()).max)
        raw = [i % high - high // 2 for i in range(2 * distinct)]
    else:
        raw = [f"user-{i % distinct}" for i in range(2 * distinct)]
    values = pa.array([*raw, None], kind)
    for _ in range(2):  # the second time, from the hashes remembered the first time
        counter = HyperLogLog.of(values, precision)
        np.testing.assert_array_equal(counter.registers, _reference_registers(values, precision))


def test_booleans_and_chunked_columns_hash_as_duckdb_does() -> None:
    values = pa.chunked_array([[True, None], [False, True]])
    expected = _reference_registers(values.combine_chunks(), 12)
    np.testing.assert_array_equal(HyperLogLog.of(values).registers, expected)


@pytest.mark.parametrize("distinct", [1, 10, 1_000, 20_000, 200_000])
def test_estimates_are_within_three_standard_errors(distinct: int) -> None:
    rng = np.random.default_rng(distinct)
    values = pa.array(rng.permutation(np.repeat(np.arange(distinct, dtype=np.int64), 2)))
    counter = HyperLogLog.of(values)
    assert counter.relative_standard_error == pytest.approx(1.04 / 64)
    assert abs(counter.estimate() - distinct) <= 3 * counter.relative_standard_error * distinct


def test_merge_equals_the_counter_of_the_union_exactly() -> None:
    a = pa.array([str(i) for i in range(0, 6_000)])
    b = pa.array([str(i) for i in range(4_000, 12_000)])
    merged = HyperLogLog.of(a).merge(HyperLogLog.of(b))
    assert merged == HyperLogLog.of(pa.concat_arrays([a, b]))
    assert merged == HyperLogLog.of(b).merge(HyperLogLog.of(a))


def test_nulls_nan_and_repeats_are_not_distinct_values_but_zero_is_one() -> None:
    counter = HyperLogLog.of(pa.array([0.0, -0.0, 0.0, float("nan"), None, 1.5]))
    assert round(counter.estimate()) == 2
    assert HyperLogLog.of(pa.array([None, None], pa.float64())).is_empty()
    # DuckDB hashes 0 to 0; salted, zero must not look like a rare hash.
    assert HyperLogLog.of(pa.array([0] * 10)).registers.max() < 20


def test_serialization_round_trips_and_rejects_garbage() -> None:
    counter = HyperLogLog.of(pa.array(np.arange(5_000.0)))
    assert HyperLogLog.from_bytes(counter.to_bytes()) == counter
    assert len(counter.to_bytes()) < 4096  # compressed registers
    with pytest.raises(ProfileFormatError, match="distinct-count sketch"):
        HyperLogLog.from_bytes(b"\x0cnot zlib")


def test_merging_different_precisions_is_refused() -> None:
    with pytest.raises(ProfileMergeError, match="precision 12 and 10"):
        HyperLogLog(12).merge(HyperLogLog(10))


def test_hash_scheme_is_stable_within_a_process() -> None:
    assert hash_scheme() == hash_scheme()
    assert hash_scheme().startswith("duckdb-hash:")


@given(
    st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from([0.0, -0.0]),
        max_size=300,
    ),
    st.sampled_from([4, 12, 16]),
)
@settings(max_examples=100, deadline=None)
def test_counting_floats_in_numpy_hashes_exactly_as_duckdb_does(values, precision):
    array = np.asarray(values, dtype=np.float64)
    assert HyperLogLog.of_floats(array, precision) == HyperLogLog.of(
        pa.array(array, from_pandas=True), precision
    )


def test_registers_that_inflate_past_their_size_are_refused_not_expanded() -> None:
    bomb = bytes([12]) + zlib.compress(bytes(64 * 1024 * 1024), 9)  # 64 MiB of zeros
    with pytest.raises(ProfileFormatError, match="4096 registers"):
        HyperLogLog.from_bytes(bomb)
