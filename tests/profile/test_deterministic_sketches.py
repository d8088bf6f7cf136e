"""Quantile sketches are deterministic: same input, same bytes, same verdict, within bounds.

Past ``k`` values a sketch is built from the sorted values (``mlvigil.profile.kll``)
rather than by DataSketches' clock-seeded compactions. Every error below is
measured against the exact empirical CDF (numpy) at every distinct data value,
from both sides: a built sketch must stay within its construction's bound
(``kll.build_error``, at most ``1/(k+1)``), itself within ``rank_error``; merged
sketches (KLL's merge with hashed bits) within ``rank_error``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable

import datasketches as ds
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlvigil import DriftConfig, detect_drift, profile_drift
from mlvigil.profile import (
    DatasetProfile,
    ProfileConfig,
    QuantileSketch,
    kll,
    profile_table,
)

FloatArray = npt.NDArray[np.float64]
KS = DriftConfig(method="ks")


def _distribution(kind: str, rng: np.random.Generator, n: int) -> FloatArray:
    if kind == "normal":
        return rng.normal(size=n)
    if kind == "lognormal":
        return rng.lognormal(0.0, 2.0, n)
    if kind == "ties":  # a few values, heavily repeated
        return rng.integers(0, 5, n).astype(np.float64)
    if kind == "mostly_one":  # one value holds 90% of the mass
        return np.where(rng.random(n) < 0.9, 1.0, rng.normal(size=n))
    if kind == "sorted":
        return np.sort(rng.exponential(size=n))
    if kind == "constant":
        return np.full(n, 2.5)
    raise AssertionError(kind)


KINDS = ("normal", "lognormal", "ties", "mostly_one", "sorted", "constant")


def _cdf_error(sketch: QuantileSketch, values: FloatArray) -> float:
    """Largest gap between the sketch's CDF and the data's, at and just below every value."""
    data = np.sort(values)
    points = np.unique(data)
    at = np.abs(sketch.cdf(points) - np.searchsorted(data, points, side="right") / data.size)
    below = np.abs(
        sketch.cdf(np.nextafter(points, -np.inf))
        - np.searchsorted(data, points, side="left") / data.size
    )
    return float(max(at.max(), below.max()))


def _interval_error(sketch: QuantileSketch, values: FloatArray) -> float:
    """Largest error of the sketch's mass of ``(a, b]`` over the data's deciles."""
    data = np.sort(values)
    edges = np.unique(np.quantile(data, np.linspace(0.0, 1.0, 11)))
    true = np.diff(np.searchsorted(data, edges, side="right")) / data.size
    return float(np.abs(np.diff(sketch.cdf(edges)) - true).max(initial=0.0))


def _assert_summary_right(sketch: QuantileSketch, values: FloatArray, k: int) -> None:
    assert sketch.n == values.size
    assert sketch.k == k
    assert sketch.is_exact is (values.size <= k)
    assert sketch._sketch.get_min_value() == values.min()
    assert sketch._sketch.get_max_value() == values.max()
    expected = 0.0 if values.size <= k else ds.kll_doubles_sketch.get_normalized_rank_error(k, True)
    assert sketch.rank_error == expected
    # DataSketches' own iterator must read the right weights (it does not when level 0 is empty).
    assert sum(weight for _, weight in sketch._sketch) == values.size


# ---------------------------------------------------------------- same input, same bytes


def _table(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[:3] = [np.nan, np.inf, -np.inf]
    return pa.table(
        {
            "x": pa.array(x, mask=rng.random(n) < 0.01),
            "skewed": rng.lognormal(0.0, 1.0, n),
            "code": rng.integers(0, 50_000, n),
            "label": rng.choice(["a", "b", "c"], n),
        }
    )


@pytest.mark.parametrize("k", [400, 200])
def test_profiling_the_same_table_twice_gives_identical_bytes(k: int) -> None:
    table = _table(200_000, seed=5)
    config = ProfileConfig(quantile_k=k)
    first, second = profile_table(table, config=config), profile_table(table, config=config)
    assert first.serialize() == second.serialize()
    sketch = first.columns["x"].quantiles
    assert sketch is not None
    assert not sketch.is_exact  # compacted: the case DataSketches made random
    assert DatasetProfile.deserialize(first.serialize()).serialize() == first.serialize()


_CHILD = """
import hashlib, json, sys
from mlvigil.checks.drift import profile_drift
from mlvigil.profile import ProfileConfig, profile_table
sys.path.insert(0, sys.argv[1])
from test_deterministic_sketches import KS, _shifted, _table

table = _table(200_000, seed=5)
out = {}
for k in (400, 200):
    profile = profile_table(table, config=ProfileConfig(quantile_k=k))
    out[f"profile_{k}"] = hashlib.sha256(profile.serialize()).hexdigest()
parts = [profile_table(table.slice(i, 50_000)) for i in range(0, 200_000, 50_000)]
merged = parts[0].merge(parts[1]).merge(parts[2]).merge(parts[3])
out["merged"] = hashlib.sha256(merged.serialize()).hexdigest()
reference, current = _shifted()
report = profile_drift(profile_table(reference), profile_table(current), config=KS)
out["drift"] = report.to_dict()
print(json.dumps(out, sort_keys=True, default=str))
"""


def _shifted() -> tuple[pa.Table, pa.Table]:
    """KS p = 0.36 on the data; DataSketches' random sketches said drift in 1 of 10 runs."""
    rng = np.random.default_rng(2024)
    return (
        pa.table({"x": rng.normal(0.0, 1.0, 20_000)}),
        pa.table({"x": rng.normal(0.022, 1.0, 20_000)}),
    )


def _child_output(hash_seed: str) -> dict[str, object]:
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, here],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=300,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_profiles_merges_and_drift_are_identical_across_processes() -> None:
    first, second = _child_output("1"), _child_output("2")
    assert first == second
    table = _table(200_000, seed=5)
    here = hashlib.sha256(profile_table(table, config=ProfileConfig(quantile_k=400)).serialize())
    assert first["profile_400"] == here.hexdigest()
    assert first["profile_400"] != first["profile_200"]


# ---------------------------------------------------------------- errors of built sketches


@settings(max_examples=150, deadline=None)
@given(
    k=st.sampled_from([8, 16, 33, 200]),
    extra=st.one_of(st.integers(1, 40), st.integers(1, 30_000)),
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
)
def test_built_sketch_cdf_is_within_its_bound(k: int, extra: int, kind: str, seed: int) -> None:
    values = _distribution(kind, np.random.default_rng(seed), k + extra)
    sketch = QuantileSketch.of([values], k)
    _assert_summary_right(sketch, values, k)
    bound = kll.build_error(values.size, k)
    assert bound <= 1.0 / (k + 1) < sketch.rank_error
    assert _cdf_error(sketch, values) <= bound + 1e-12
    assert _interval_error(sketch, values) <= 2 * bound + 1e-12 < sketch.rank_error


@pytest.mark.parametrize("k", [8, 16, 400])
@pytest.mark.parametrize("kind", ["normal", "ties"])
def test_sizes_at_and_just_above_the_exact_capacity(k: int, kind: str) -> None:
    rng = np.random.default_rng(k)
    for n in (k - 1, k, k + 1, k + 2, 2 * k - 1, 2 * k, 2 * k + 1, 2 * k + 2, 4 * k + 3, 16 * k):
        values = _distribution(kind, rng, n)
        sketch = QuantileSketch.of([values[: n // 3], values[n // 3 :]], k)
        _assert_summary_right(sketch, values, k)
        assert _cdf_error(sketch, values) <= kll.build_error(n, k) + 1e-12
        if n <= k:
            assert sketch._sketch.is_estimation_mode() is False
            np.testing.assert_array_equal(sketch.values(), np.sort(values))


def test_exact_sketches_are_datasketches_own() -> None:
    values = np.random.default_rng(3).normal(size=150)
    own = ds.kll_doubles_sketch(200)
    own.update(values.copy())
    sketch = QuantileSketch.of([values], 200)
    assert sketch.to_bytes() == bytes(own.serialize())
    assert (sketch.is_exact, sketch.rank_error) == (True, 0.0)


def test_the_bound_is_met_by_every_size_in_a_range() -> None:
    # Every n in a stretch where the top level doubles its weight twice.
    rng = np.random.default_rng(8)
    pool = rng.normal(size=70)
    for n in range(17, 70):
        values = pool[:n]
        sketch = QuantileSketch.of([values], 16)
        assert _cdf_error(sketch, values) <= kll.build_error(n, 16) + 1e-12, n


def test_nan_is_ignored_as_datasketches_ignores_it() -> None:
    values = np.random.default_rng(1).normal(size=1_000)
    with_nan = np.concatenate([values, [np.nan] * 7])
    assert QuantileSketch.of([with_nan], 100) == QuantileSketch.of([values], 100)


@pytest.mark.parametrize("kind", ["normal", "lognormal", "ties", "mostly_one"])
@pytest.mark.parametrize("n", [401, 5_000, 200_000])
def test_quantiles_agree_with_numpy_within_the_bound(kind: str, n: int) -> None:
    values = np.sort(_distribution(kind, np.random.default_rng(n), n))
    sketch = QuantileSketch.of([values], 400)
    slack = kll.build_error(n, 400) * n + 1  # in counts: the CDF bound, plus one rank
    assert slack <= sketch.rank_error * n + 1
    ranks = np.linspace(0.01, 0.99, 99)
    for rank, quantile in zip(ranks, sketch.quantiles(ranks.tolist()), strict=True):
        below = np.searchsorted(values, quantile, side="left")
        upto = np.searchsorted(values, quantile, side="right")
        assert below - slack <= rank * n <= upto + slack, (rank, quantile)
    numpy_median = float(np.quantile(values, 0.5, method="inverted_cdf"))
    (median,) = sketch.quantiles([0.5])
    assert abs(np.searchsorted(values, median) - np.searchsorted(values, numpy_median)) <= slack


# ---------------------------------------------------------------- the format


def test_built_sketches_are_valid_datasketches_state() -> None:
    rng = np.random.default_rng(4)
    for k in (8, 16, 200, 400):
        for n in (k + 1, 3 * k, 50 * k + 7, 3_000 * k + 1):
            values = rng.normal(size=n)
            sketch = QuantileSketch.of([values], k)
            data = sketch.to_bytes()
            state = kll.parse(data)
            # DataSketches writes back exactly the bytes it was handed.
            assert bytes(ds.kll_doubles_sketch.deserialize(data).serialize()) == data
            assert state.retained <= kll.total_capacity(k, state.num_levels)
            assert state.levels[-1].size <= k  # the top level within its capacity
            assert all(level.size <= 2 for level in state.levels[:-1])
            assert state.levels[0].size >= 1
            capacity = f"Capacity items : {kll.total_capacity(k, state.num_levels)}\n"
            assert capacity in sketch._sketch.to_string()
            # DataSketches keeps working on it: updates and merges (its own, random).
            copy = ds.kll_doubles_sketch.deserialize(data)
            copy.update(rng.normal(size=5 * k))
            copy.merge(ds.kll_doubles_sketch.deserialize(data))
            assert copy.n == 2 * n + 5 * k


def test_datasketches_own_sketches_read_back_level_by_level() -> None:
    rng = np.random.default_rng(6)
    for k, n in ((8, 1), (8, 7), (16, 17), (16, 1_000), (200, 150), (400, 123_457)):
        own = ds.kll_doubles_sketch(k)
        own.update(rng.normal(size=n))
        state = kll.parse(bytes(own.serialize()))
        assert (state.k, state.n, state.weight()) == (k, n, n)
        assert (state.minimum, state.maximum) == (own.get_min_value(), own.get_max_value())
        again = ds.kll_doubles_sketch.deserialize(kll.encode(state))
        points = list(np.linspace(-3, 3, 25))
        assert again.get_cdf(points, True) == own.get_cdf(points, True)
        assert again.normalized_rank_error(True) == own.normalized_rank_error(True)
    empty = ds.kll_doubles_sketch(50)
    assert kll.encode(kll.parse(bytes(empty.serialize()))) == bytes(empty.serialize())


def test_corrupt_levels_are_rejected_when_read() -> None:
    from mlvigil.profile import ProfileFormatError

    data = bytearray(QuantileSketch.of([np.arange(5_000.0)], 16).to_bytes())
    top = kll.parse(bytes(data)).levels[-1]
    data[-8 * top.size : -8 * top.size + 8] = np.float64(1e9).tobytes()  # unsorts the top level
    with pytest.raises(ProfileFormatError, match="sorted"):
        QuantileSketch.from_bytes(bytes(data))


# ---------------------------------------------------------------- merges


def _chain(sketches: list[QuantileSketch]) -> QuantileSketch:
    merged = sketches[0]
    for sketch in sketches[1:]:
        merged = merged.merge(sketch)
    return merged


def _tree(sketches: list[QuantileSketch]) -> QuantileSketch:
    while len(sketches) > 1:
        pairs = zip(sketches[::2], sketches[1::2], strict=False)
        sketches = [a.merge(b) for a, b in pairs] + sketches[len(sketches) // 2 * 2 :]
    return sketches[0]


FOLDS: dict[str, Callable[[list[QuantileSketch]], QuantileSketch]] = {
    "chain": _chain,
    "tree": _tree,
}


@pytest.mark.parametrize(
    ("k", "parts", "size"),
    [(16, 300, 10), (16, 40, 2_000), (200, 60, 1_000), (400, 24, 5_000), (400, 200, 150)],
)
@pytest.mark.parametrize("fold", ["chain", "tree"])
@pytest.mark.parametrize("kind", ["normal", "ties", "sorted"])
def test_merged_sketches_stay_within_rank_error(
    k: int, parts: int, size: int, fold: str, kind: str
) -> None:
    rng = np.random.default_rng(parts * size + k)
    values = _distribution(kind, rng, parts * size)
    sketches = [QuantileSketch.of([part], k) for part in np.split(values, parts)]
    merged = FOLDS[fold](sketches)
    _assert_summary_right(merged, values, k)
    assert _cdf_error(merged, values) <= merged.rank_error
    assert _interval_error(merged, values) <= merged.rank_error


@settings(max_examples=80, deadline=None)
@given(
    k=st.sampled_from([8, 16, 50]),
    sizes=st.lists(st.integers(0, 400), min_size=2, max_size=12),
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
)
def test_merges_are_deterministic_order_free_and_within_rank_error(
    k: int, sizes: list[int], kind: str, seed: int
) -> None:
    values = _distribution(kind, np.random.default_rng(seed), sum(sizes))
    cuts = np.cumsum(sizes)[:-1]
    sketches = [QuantileSketch.of([part], k) for part in np.split(values, cuts)]
    merged = _chain(sketches)
    assert merged == _chain(sketches)
    assert merged.to_bytes() == _chain(sketches).to_bytes()
    assert sketches[0].merge(sketches[1]) == sketches[1].merge(sketches[0])
    if values.size:
        _assert_summary_right(merged, values, k)
        assert _cdf_error(merged, values) <= merged.rank_error


def test_exact_sketches_merge_without_randomness() -> None:
    rng = np.random.default_rng(12)
    a, b = rng.normal(size=90), rng.normal(size=100)
    small = QuantileSketch.of([a], 200).merge(QuantileSketch.of([b], 200))
    assert small.is_exact
    np.testing.assert_array_equal(small.values(), np.sort(np.concatenate([a, b])))
    # Past k, two exact sketches are rebuilt from their values, with the build's bound.
    large = QuantileSketch.of([a], 120).merge(QuantileSketch.of([b], 120))
    assert large == QuantileSketch.of([np.concatenate([a, b])], 120)
    assert _cdf_error(large, np.concatenate([a, b])) <= kll.build_error(190, 120) + 1e-12


def test_merging_different_k_takes_the_smaller_and_its_bound() -> None:
    rng = np.random.default_rng(13)
    a, b = rng.normal(size=20_000), rng.normal(1.0, 1.0, 30_000)
    merged = QuantileSketch.of([a], 400).merge(QuantileSketch.of([b], 50))
    assert merged.k == 50
    assert merged.rank_error == ds.kll_doubles_sketch.get_normalized_rank_error(50, True)
    assert _cdf_error(merged, np.concatenate([a, b])) <= merged.rank_error


def test_merged_profiles_have_the_data_cdf() -> None:
    # DataSketches' merges leave level 0 empty, and its item iterator then reads
    # every weight as 1: the CDF is read from the levels instead.
    values = np.random.default_rng(3).normal(size=30_000)
    parts = [profile_table(pa.table({"x": part})) for part in np.split(values, 3)]
    merged = parts[0].merge(parts[1]).merge(parts[2]).columns["x"].quantiles
    assert merged is not None
    assert _cdf_error(merged, values) <= merged.rank_error
    own = ds.kll_doubles_sketch(400)
    for part in np.split(values, 3):
        single = ds.kll_doubles_sketch(400)
        single.update(part.copy())
        own.merge(single)
    assert _cdf_error(QuantileSketch(own), values) <= own.normalized_rank_error(True)


#: ``DatasetProfile.serialize()`` as mlvigil wrote it before sketches were deterministic
#: (commit a1c68cd): ``x`` = ``default_rng(11).normal(size=400)``, profiled in two parts
#: (150, 250) with ``quantile_k=16`` and merged by DataSketches, leaving levels 0-3 empty.
OLD_PROFILE = (
    "TUxWR1BST0YBAAAAtQEAADA+rXB7InJvd3MiOjQwMCwidGltZXN0YW1wIjpudWxsLCJoYXNoX3NjaGVtZSI6ImR1"
    "Y2tkYi1oYXNoOmVhOGQ3YTRlYmUzOGM0NjUtMTdhZjE0Y2ZkMjU4MjgzMy03OTNmOWJkNzMzODMzODRhIiwiY29u"
    "ZmlnIjp7InF1YW50aWxlX2siOjE2LCJkaXN0aW5jdF9wcmVjaXNpb24iOjEyLCJmcmVxdWVudF9pdGVtc19sZ19r"
    "IjoxMCwibWF4X2NhdGVnb3JpZXMiOjEwMDB9LCJjb2x1bW5zIjpbeyJuYW1lIjoieCIsImtpbmQiOiJudW1iZXIi"
    "LCJjb3VudCI6NDAwLCJudWxscyI6MCwibmFuIjowLCJpbmYiOjAsImludGVncmFsIjpmYWxzZSwiZGljdGlvbmFy"
    "eSI6ZmFsc2UsImNvdW50cyI6bnVsbCwiY2FwcGVkIjpmYWxzZSwidGltZSI6bnVsbCwibW9tZW50cyI6WzAsNDBd"
    "LCJxdWFudGlsZXMiOls0MCwzNzZdLCJkaXN0aW5jdCI6WzQxNiw1NDFdLCJmcmVxdWVudCI6bnVsbH1dfZABAAAA"
    "AAAAMSzGFRnhpj8ZhJ1HsDJ3QL4nv1m/VgbALhBjDhH9DEAFAQ8AEAAIAJABAAAAAAAAEAAFAAsAAAALAAAACwAA"
    "AAsAAAApAAAAvie/Wb9WBsAuEGMOEf0MQDkQ4eHhQQbAupP1WYa++7954dNgPQr4v0wAt3r0//e/baAgk6SN9L9T"
    "sbBIbHX0v3gn875RCOq/osmDiMmA578U8C88pQfjv7j3eS9Th92/nBg0SpgZ3L8OQtXJc1zTv4RlFjV3082/TYQa"
    "CX6WvL+2N/4V3t66v1efSa+U3rO/9rIjK8wAsD+E/Ds+Kj3PPwP1prWm+tQ/Niutzyer1j/8zmfKmKPdPz6hTn2x"
    "B+E/a0ERiPoT4z/HAFqk8knjP9PC4/9wg+Y/k2gEouO87z9Tlhsynq/wP7FqF1hghPE/OwowB/Un9D9xyQOiWub7"
    "P1hhQ+gIoeu/ZHf0woIL5r+QVNDSZr7Xv5rQdQuS/KG/Vu8mIQBWxj8caWhTykPWP0DeL6ZhZeE/Qr9AQ9416j9q"
    "lBvF+XfxP8zfzpUjMgBADHicnVeJcsQgCA2I6Uz7///bmngAPtQtO7ObKMcTENjrWhKPx1RfUv8KifqTNNkD3piG"
    "+OAmK6je7rE0K69iakMAihNQgBOIUfviyAf5Mm6eCW/21bySvRI1VF9W9FmV5yE+7TrMg6j9GKzLU4XEoSg1PHA3"
    "9MMhDNKpQH3RO2d2iXR5T2nY/3YM4pXBIPA2FeXVr29cLEHTtXG7Ft2zuLE/bQvi2otxBjtMLK+TflrW+ktdgxsk"
    "KmtefBJYJRwHKCPxZS+UdQb5fRgF7oknjp9C6Ow461pbzvGJQ5VUXQnuzMpLbBmSAH4QIl91fe4YpOc1eUHsTNjX"
    "ApGneGsUaYIxvH21U/vovheUDbtSL22RHuMRcvzqwPLMbPyO1MPeF+LYh1ExOm/Yu0AWKRVOmDTJW8WdfQcUw6wZ"
    "wH8f0axaPIGedDt9/2t2zUCsBdSRKDYSbVBaOuy0xBM9mQzzpVhgJBQR4yN97sbk7XnTdM3JcF8rYqhHrXl1evYo"
    "g976FAHWwwIXdWQ3S6yMCJiWpCg4aN4rlM+cW5+oqV12T+8oPNRbd6O2t0eagDWGs+ZHKcjsMKBJxOOnMsnmF2O3"
    "ZorfrGXgL2wtUHX24xh14c6d121syEigtO6NCzYRUO7f7+d0cs+YJmoqTGkZuUN9c6AbrmP3u6PbyY97pEfsuCyA"
    "RtdMx3+kQPrMHViXMIUjsR8OJ9HdP7hfBhsC7g=="
)


def _old_profile() -> DatasetProfile:
    return DatasetProfile.deserialize(base64.b64decode(OLD_PROFILE))


def test_profiles_written_before_still_load_and_merge() -> None:
    values = np.random.default_rng(11).normal(size=400)
    old = _old_profile()
    sketch = old.columns["x"].quantiles
    assert sketch is not None
    assert (sketch.n, sketch.k, sketch.is_exact) == (400, 16, False)
    assert kll.parse(sketch.to_bytes()).levels[0].size == 0  # as DataSketches left it
    assert _cdf_error(sketch, values) <= sketch.rank_error
    assert DatasetProfile.deserialize(old.serialize()) == old
    more = np.random.default_rng(12).normal(size=3_000)
    new = profile_table(pa.table({"x": more}), config=ProfileConfig(quantile_k=16))
    merged = old.merge(new)
    assert merged.serialize() == _old_profile().merge(new).serialize()
    both = merged.columns["x"].quantiles
    assert both is not None
    assert both.n == 3_400
    assert _cdf_error(both, np.concatenate([values, more])) <= both.rank_error


# ---------------------------------------------------------------- drift verdicts


def test_profile_drift_gives_the_same_verdict_every_time() -> None:
    reference, current = _shifted()
    exact = detect_drift(reference, current, config=KS)["x"]
    reports = [
        profile_drift(profile_table(reference), profile_table(current), config=KS) for _ in range(5)
    ]
    assert len({orjson.dumps(report.to_dict()) for report in reports}) == 1
    estimate = reports[0]["x"]
    assert estimate.drifted is exact.drifted is False
    assert estimate.method == exact.method == "ks"
    assert estimate.approximation_error is not None
    assert abs(estimate.statistic - exact.statistic) <= estimate.approximation_error
