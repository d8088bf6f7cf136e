"""One drift engine for data and profiles: methods declare what they compute from."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from mlvigil import ColumnStatus, DriftConfig, DriftReport, detect_drift
from mlvigil.exceptions import ConfigError
from mlvigil.profile import profile_table
from mlvigil.schema import ColumnType
from mlvigil.stats.registry import METHODS, DriftMethod, SketchEstimate, get_method
from mlvigil.stats.result import DecisionRule, StatTestResult
from mlvigil.stats.samples import as_sorted

N = 300  # under the default quantile_k (400): every sketch still holds each value


def _median_shift(reference: Any, current: Any, *, threshold: float) -> StatTestResult:
    ref, cur = as_sorted(reference), as_sorted(current)
    shift = abs(float(np.median(cur.values)) - float(np.median(ref.values))) / ref.std()
    return StatTestResult.judged(
        DecisionRule.DISTANCE, "median_shift", shift, None, threshold, (len(ref), len(cur))
    )


@pytest.fixture
def median_shift(monkeypatch: pytest.MonkeyPatch) -> DriftMethod:
    """A newly registered method that declares no way to compute from sketches."""
    method = DriftMethod(
        "median_shift",
        _median_shift,
        frozenset({ColumnType.NUMERICAL}),
        DecisionRule.DISTANCE,
        0.1,
        "median shift / reference std",
    )
    monkeypatch.setitem(METHODS, method.name, method)
    return method


def _tables(n: int, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)

    def table(shift: float) -> pa.Table:
        return pa.table(
            {
                "x": rng.normal(shift, 1.0, n),
                "c": rng.choice(["a", "b", "c"], n, p=[0.5 - shift / 5, 0.3, 0.2 + shift / 5]),
                "flag": rng.random(n) < 0.3 + shift / 10,
                "k": rng.integers(0, 5, n),
            }
        )

    return table(0.0), table(0.5)


def test_a_method_registered_without_sketch_support_gives_profiles_an_error_status(
    median_shift: DriftMethod,
) -> None:
    reference, current = _tables(20_000)
    config = DriftConfig(column_methods={"x": "median_shift"})
    on_data = detect_drift(reference, current, config=config)["x"]
    assert (on_data.method, on_data.status, on_data.drifted) == ("median_shift", "ok", True)
    for ref, cur in [
        (profile_table(reference), profile_table(current)),
        (profile_table(reference), current),  # mixed: the data side is profiled alike
    ]:
        on_profiles = detect_drift(ref, cur, config=config)
        result = on_profiles["x"]
        assert result.status is ColumnStatus.ERROR
        assert not result.tested
        assert result.message == (
            "median_shift needs the raw values and cannot be computed from a profile; "
            "use ks, wasserstein, psi, jensenshannon, hellinger or kl_div"
        )
        assert on_profiles["c"].tested  # the other columns still run


def test_the_capability_holds_even_while_the_sketches_are_exact(
    median_shift: DriftMethod,
) -> None:
    # A verdict should not depend on whether a window happened to be small.
    reference, current = _tables(N)
    ref_profile, cur_profile = profile_table(reference), profile_table(current)
    assert ref_profile.columns["x"].quantiles.is_exact  # type: ignore[union-attr]
    result = detect_drift(ref_profile, cur_profile, config=DriftConfig(method="median_shift"))
    assert result["x"].status is ColumnStatus.ERROR


def test_a_method_declaring_a_sketch_estimate_is_estimated_from_sketches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ks_alike = replace(get_method("ks"), name="ks_alike")
    assert ks_alike.from_sketches is SketchEstimate.CDF_GAP
    monkeypatch.setitem(METHODS, ks_alike.name, ks_alike)
    reference, current = _tables(20_000)
    config = DriftConfig(method="ks_alike")
    result = detect_drift(profile_table(reference), profile_table(current), config=config)["x"]
    assert (result.method, result.status, result.drifted) == ("ks_alike", "ok", True)
    assert result.approximation_error is not None
    assert result.approximation_error > 0


def test_a_binned_estimate_needs_the_terms_that_bound_it() -> None:
    psi = get_method("psi")
    with pytest.raises(ConfigError, match="needs its bin_term"):
        replace(psi, bin_term=None)
    with pytest.raises(ConfigError, match="only a binned estimate"):
        replace(get_method("ks"), bin_term=psi.bin_term)


def _without_bound(report: DriftReport) -> list[dict[str, Any]]:
    rows = []
    for column in report:
        row = column.to_dict()
        if column.tested and column.type is ColumnType.NUMERICAL:
            # From exact sketches the bound is 0; from data there is none.
            assert row.pop("approximation_error") in (0.0, None)
        rows.append(row)
    return rows


@pytest.mark.parametrize(
    "method",
    [None, "ks", "wasserstein", "psi", "jensenshannon", "hellinger", "kl_div"],
)
def test_profiles_and_data_agree_where_the_sketches_are_exact(method: str | None) -> None:
    reference, current = _tables(N, seed=3)
    config = DriftConfig(type_methods={"numerical": method} if method else {}, correction="bh")
    ref_profile, cur_profile = profile_table(reference), profile_table(current)
    assert cur_profile.columns["x"].quantiles.is_exact  # type: ignore[union-attr]
    on_data = detect_drift(reference, current, config=config)
    expected = _without_bound(on_data)
    assert _without_bound(detect_drift(ref_profile, cur_profile, config=config)) == expected
    assert _without_bound(detect_drift(reference, cur_profile, config=config)) == expected
    assert on_data.drift_share == detect_drift(ref_profile, cur_profile, config=config).drift_share


def test_a_constant_reference_falls_back_to_ks_on_data_and_on_profiles() -> None:
    reference = pa.table({"x": np.full(N, 2.0)})
    current = pa.table({"x": np.random.default_rng(1).normal(2.0, 1.0, N)})
    config = DriftConfig(method="wasserstein")
    on_data = detect_drift(reference, current, config=config)["x"]
    on_profiles = detect_drift(profile_table(reference), profile_table(current), config=config)
    for result in (on_data, on_profiles["x"]):
        assert (result.method, result.status) == ("ks", ColumnStatus.CONSTANT)
        assert "wasserstein is undefined on a constant reference" in (result.message or "")
    assert on_profiles["x"].statistic == on_data.statistic
