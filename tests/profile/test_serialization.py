"""serialize/deserialize, save/load: lossless, compact, and strict about bad input."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from datetime import timedelta
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pytest

from mlvigil import InputError, UnreadableInputError
from mlvigil.profile import (
    DatasetProfile,
    FrequentItems,
    ProfileConfig,
    ProfileFormatError,
    ProfileMergeError,
    profile_table,
)
from mlvigil.profile.codec import MAGIC


@pytest.fixture(scope="module")
def profile() -> DatasetProfile:
    rng = np.random.default_rng(2)
    n = 5_000
    x = rng.normal(size=n)
    x[:3] = [np.nan, np.inf, -np.inf]
    table = pa.table(
        {
            "x": pa.array(x, mask=rng.random(n) < 0.1),
            "k": rng.integers(0, 5, n),
            "c": pa.array(rng.choice(["a", "b", "c"], n)).dictionary_encode(),
            "many": pa.array([f"s{i % 1_500}" for i in range(n)]),
            "flag": rng.random(n) < 0.5,
            "when": pa.array(np.arange(n) * 1_000_000, pa.timestamp("us", "UTC")),
            "took": pa.array([timedelta(seconds=int(s)) for s in rng.integers(0, 99, n)]),
            "empty": pa.nulls(n),
        }
    )
    return profile_table(table, timestamp="when", config=ProfileConfig(max_categories=1_000))


def test_round_trip_preserves_everything(profile: DatasetProfile) -> None:
    data = profile.serialize()
    restored = DatasetProfile.deserialize(data)
    assert restored == profile
    assert DatasetProfile.deserialize(restored.serialize()) == profile
    assert restored.to_dict() == profile.to_dict()
    assert restored.columns["many"].frequent_items == profile.columns["many"].frequent_items
    assert restored.columns["x"].quantiles == profile.columns["x"].quantiles
    assert restored.time_range == profile.time_range


def test_profiles_are_compact(profile: DatasetProfile) -> None:
    # 8 columns of 5,000 rows; the raw table is about 250 KB.
    assert len(profile.serialize()) < 60_000


def test_save_and_load_through_a_file(profile: DatasetProfile, tmp_path: Path) -> None:
    path = tmp_path / "ref.profile"
    profile.save(path)
    assert DatasetProfile.load(path) == profile
    assert [p.name for p in tmp_path.iterdir()] == ["ref.profile"]  # no partial file left
    with pytest.raises(UnreadableInputError, match="cannot read profile"):
        DatasetProfile.load(tmp_path / "missing.profile")


def _reframed(header: dict[str, object], blobs: bytes) -> bytes:
    body = orjson.dumps(header) + blobs
    return struct.pack("<8sHHII", MAGIC, 1, 0, len(body) - len(blobs), zlib.crc32(body)) + body


def test_bad_input_is_rejected_with_a_reason(profile: DatasetProfile) -> None:
    data = profile.serialize()
    header_size = struct.unpack_from("<I", data, 12)[0]
    header = orjson.loads(data[20 : 20 + header_size])
    blobs = data[20 + header_size :]
    flipped = bytearray(data)
    flipped[-10] ^= 0xFF
    newer = bytearray(data)
    newer[8] = 9
    del header["rows"]
    cases = {
        b"PAR1 parquet bytes": "not an mlvigil profile",
        data[:100]: "checksum mismatch",
        bytes(flipped): "checksum mismatch",
        bytes(newer): "version 9 is newer",
        _reframed(header, blobs): "corrupt profile header",
        _reframed({**orjson.loads(data[20 : 20 + header_size])}, b""): "outside the data",
    }
    for bad, reason in cases.items():
        with pytest.raises(ProfileFormatError, match=reason):
            DatasetProfile.deserialize(bad)
    assert issubclass(ProfileFormatError, InputError)
    with pytest.raises(ProfileFormatError, match="bytes, not str"):
        DatasetProfile.deserialize("profile")  # type: ignore[arg-type]


def test_incompatible_profiles_refuse_to_merge(profile: DatasetProfile) -> None:
    strings = profile_table(pa.table({"x": ["a", "b"]}))
    with pytest.raises(ProfileMergeError, match=r"column 'x'.*number values and the other string"):
        profile.merge(strings)
    coarse = profile_table(pa.table({"x": [1.0]}), config=ProfileConfig(distinct_precision=10))
    with pytest.raises(ProfileMergeError, match="precision"):
        profile.merge(coarse)


CHILD = """
import sys
import pyarrow as pa
from mlvigil.profile import profile_table
values = [f"user-{i}" for i in range(int(sys.argv[1]), int(sys.argv[2]))]
profile = profile_table(pa.table({"u": values, "x": [1.0] * len(values)}))
sys.stdout.buffer.write(profile.serialize())
"""


def test_profiles_from_different_processes_merge_to_the_right_distinct_count() -> None:
    # Overlapping halves: 0..60k and 40k..100k, 100k distinct values in all.
    def child(start: int, stop: int) -> DatasetProfile:
        run = subprocess.run(
            [sys.executable, "-c", CHILD, str(start), str(stop)], capture_output=True, check=True
        )
        return DatasetProfile.deserialize(run.stdout)

    merged = child(0, 60_000).merge(child(40_000, 100_000))
    column = merged.columns["u"]
    assert column.count == 120_000
    assert (
        abs(column.distinct - 100_000)
        <= 3 * column.distinct_sketch.relative_standard_error * 100_000
    )
    # Deterministic hashing: identical to this process's counter of the union.
    union = pa.table({"u": [f"user-{i}" for i in range(100_000)], "x": [1.0] * 100_000})
    assert column.distinct_sketch == profile_table(union).columns["u"].distinct_sketch


def _all_purged(values: list[str]) -> DatasetProfile:
    """A profile whose frequent-items map (eight slots) purged every one of ``values``."""
    config = ProfileConfig(frequent_items_lg_k=3, max_categories=8)
    return profile_table(pa.table({"s": values}), config=config)


def test_a_frequent_items_sketch_that_purged_every_item_keeps_its_weight_and_error() -> None:
    profile = _all_purged([f"v{i}" for i in range(14)])
    items = profile.columns["s"].frequent_items
    assert items is not None
    assert (items.total_weight, items.lower_bounds()) == (14, [])
    copied = DatasetProfile.deserialize(profile.serialize()).columns["s"].frequent_items
    assert copied is not None
    assert copied.total_weight == 14
    assert copied.maximum_error == items.maximum_error > 0


def test_merging_a_sketch_that_purged_every_item_adds_its_weight_and_error() -> None:
    purged = FrequentItems.of_counts([f"v{i}" for i in range(14)], [1] * 14, lg_k=3)
    tracked = FrequentItems.of_counts(["a", "b"], [50, 5], lg_k=3)
    assert purged.lower_bounds() == []
    assert purged.maximum_error > 0
    for left, right in [(purged, tracked), (tracked, purged), (purged, purged)]:
        merged = left.merge(right)
        assert merged.total_weight == left.total_weight + right.total_weight
        assert merged.maximum_error == left.maximum_error + right.maximum_error
    # "a" was counted 50 times: its bounds still hold it, the purged side's error apart.
    [(value, _, lower, upper)] = purged.merge(tracked).top(1)
    assert value == "a"
    assert lower <= 50 <= upper == lower + purged.maximum_error
