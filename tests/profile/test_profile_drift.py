"""profile_drift: the engine's report from profiles, exact where counts allow, bounded elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats
from scipy.spatial import distance

from mlvigil import ColumnMismatchError, ColumnStatus, DriftConfig, detect_drift
from mlvigil.checks.drift import profile_drift
from mlvigil.profile import DatasetProfile, ProfileConfig, profile_table
from mlvigil.stats import (
    ks_test,
    wasserstein_distance_normed,
)


def _both(reference: pa.Table, current: pa.Table, **options: object) -> tuple[object, object]:
    config = options.pop("config", None)
    exact = detect_drift(reference, current, config=config, **options)  # type: ignore[arg-type]
    approx = profile_drift(
        profile_table(reference),
        profile_table(current),
        config=config,  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )
    return exact, approx


def _same_report(exact: object, approx: object) -> None:
    for e, a in zip(exact, approx, strict=True):  # type: ignore[call-overload]
        expected, got = e.to_dict(), a.to_dict()
        if e.tested and e.type.value == "numerical":
            # Small profiles still hold every value: exact, and say so with a zero bound.
            assert got.pop("approximation_error") == 0.0
            expected.pop("approximation_error")
        assert got == expected, e.column


def test_degenerate_columns_get_the_engines_statuses() -> None:
    n = 200
    rng = np.random.default_rng(1)
    normal = rng.normal(size=n)
    with_inf = normal.copy()
    with_inf[:5] = np.inf
    reference = pa.table(
        {
            "all_null": pa.array([None] * n, pa.float64()),
            "constant": np.full(n, 3.0),
            "infinite": normal,
            "only_inf": normal,
            "when": pa.array(np.arange(n).astype("datetime64[s]")),
            "mistyped": normal,
            "fine": normal,
            "flag": [True, False] * (n // 2),
            "code": np.arange(n) % 3,
            "letter": ["x", "y", "z", "w"] * (n // 4),
            "note": [f"free text {i}" for i in range(n)],
        }
    )
    current = pa.table(
        {
            "all_null": normal,
            "constant": np.full(n, 3.0),
            "infinite": with_inf,
            "only_inf": np.full(n, -np.inf),
            "when": pa.array(np.arange(n).astype("datetime64[s]")),
            "mistyped": [str(v) for v in normal],
            "fine": normal + 0.3,
            "flag": [True, True, False, None] * (n // 4),
            "code": np.arange(n) % 4,
            "letter": ["x", "y", "z", "z"] * (n // 4),
            "note": [f"free text {i}" for i in range(n)],
        }
    )
    exact, approx = _both(reference, current)
    _same_report(exact, approx)
    statuses = {c.column: c.status for c in approx}  # type: ignore[attr-defined]
    assert statuses["note"] is ColumnStatus.SKIPPED
    assert statuses["mistyped"] is ColumnStatus.TYPE_MISMATCH


@pytest.mark.parametrize("n", [800, 5_000])
def test_default_methods_and_categorical_results_match_the_engine(n: int) -> None:
    rng = np.random.default_rng(n)

    def table(shift: float) -> pa.Table:
        return pa.table(
            {
                "x": rng.normal(shift, 1.0, n),
                "c": rng.choice(["a", "b", "c"], n, p=[0.5 - shift / 5, 0.3, 0.2 + shift / 5]),
                "b": rng.random(n) < 0.3 + shift / 10,
                "k": rng.integers(0, 6, n),
            }
        )

    reference, current = table(0.0), table(0.4)
    exact, approx = _both(reference, current, config=DriftConfig(correction="bh"))
    for name in ("c", "b", "k"):
        e, a = exact[name], approx[name]  # type: ignore[index]
        assert (a.method, a.statistic, a.p_value, a.p_value_adjusted, a.drifted) == (
            e.method,
            e.statistic,
            e.p_value,
            e.p_value_adjusted,
            e.drifted,
        )
        assert a.approximation_error is None  # exact counts, exact test
    assert approx["x"].method == exact["x"].method  # type: ignore[index]


def test_columns_schema_and_config_options_work_as_in_the_engine() -> None:
    rng = np.random.default_rng(4)
    reference = pa.table({"a": rng.normal(size=500), "zip": rng.integers(0, 40, 500)})
    current = pa.table({"a": rng.normal(size=500), "z": rng.integers(0, 40, 500)})
    with pytest.raises(ColumnMismatchError, match="missing from current: zip"):
        profile_drift(profile_table(reference), profile_table(current))
    only_a = profile_drift(profile_table(reference), profile_table(current), columns=["a"])
    assert [c.column for c in only_a] == ["a"]
    as_category = profile_drift(
        profile_table(reference), profile_table(reference), schema={"zip": "categorical"}
    )
    assert as_category["zip"].method == "chisquare"
    same = profile_table(reference)
    psi = profile_drift(same, same, config=DriftConfig(method="psi", column_thresholds={"a": 0.5}))
    assert (psi["a"].method, psi["a"].threshold, psi["a"].statistic) == ("psi", 0.5, 0.0)


def test_methods_that_need_raw_values_and_capped_categories_report_errors() -> None:
    rng = np.random.default_rng(8)
    table = pa.table(
        {"x": rng.normal(size=3_000), "id": [f"user {i % 1_200}" for i in range(3_000)]}
    )
    profile = profile_table(table, config=ProfileConfig(max_categories=1_000))
    report = profile_drift(
        profile,
        profile,
        schema={"id": "categorical"},
        config=DriftConfig(method="anderson"),
    )
    assert report["x"].status is ColumnStatus.ERROR
    assert "anderson needs the raw values" in (report["x"].message or "")
    assert report["id"].status is ColumnStatus.ERROR
    assert "max_categories" in (report["id"].message or "")
    assert report.number_of_tested_columns == 0


def test_missing_rate_signal_comes_from_null_counts() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=4_000)
    reference = pa.table({"x": pa.array(values, mask=rng.random(4_000) < 0.01)})
    current = pa.table({"x": pa.array(values, mask=rng.random(4_000) < 0.20)})
    result = profile_drift(profile_table(reference), profile_table(current))["x"]
    assert result.missing_rate_drifted
    assert result.current_nulls == current["x"].null_count
    assert not result.drifted


# ---------------------------------------------------------------- real-sized data

N = 300_000


@pytest.fixture(scope="module")
def large() -> tuple[pa.Table, pa.Table, DatasetProfile, DatasetProfile]:
    rng = np.random.default_rng(2024)

    def table(shift: float, scale: float) -> pa.Table:
        return pa.table(
            {
                "same": rng.normal(0.0, 1.0, N),
                "shifted": rng.normal(shift, 1.0, N),
                "scaled": rng.exponential(2.0 * scale, N),
                "tail": rng.pareto(2.5, N),
            }
        )

    reference, current = table(0.0, 1.0), table(0.3, 1.3)
    return reference, current, profile_table(reference), profile_table(current)


def test_ks_and_wasserstein_are_within_their_bounds_of_the_exact_values(
    large: tuple[pa.Table, pa.Table, DatasetProfile, DatasetProfile],
) -> None:
    reference, current, ref_profile, cur_profile = large
    for method, exact_method in (("ks", ks_test), ("wasserstein", wasserstein_distance_normed)):
        report = profile_drift(ref_profile, cur_profile, config=DriftConfig(method=method))
        for name in reference.column_names:
            result = report[name]
            exact = exact_method(reference[name].to_numpy(), current[name].to_numpy())
            assert result.approximation_error is not None
            assert 0 < result.approximation_error < (0.05 if method == "ks" else 1.0)
            assert abs(result.statistic - exact.statistic) <= result.approximation_error, name


def test_the_wasserstein_bound_beats_the_range_bound_on_long_tails(
    large: tuple[pa.Table, pa.Table, DatasetProfile, DatasetProfile],
) -> None:
    _, _, ref_profile, cur_profile = large
    result = profile_drift(ref_profile, cur_profile, config=DriftConfig(method="wasserstein"))
    ref, cur = ref_profile.columns["tail"], cur_profile.columns["tail"]
    range_bound = (
        sum(
            side.quantiles.rank_error * (side.moments.maximum - side.moments.minimum)  # type: ignore[union-attr,operator]
            for side in (ref, cur)
        )
        / ref.moments.std
    )  # type: ignore[union-attr,operator]
    assert result["tail"].approximation_error < range_bound / 3  # type: ignore[operator]


def _masses(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    cumulative = np.searchsorted(np.sort(values), edges, side="right")
    return np.diff(np.concatenate([[0], cumulative, [values.size]])) / values.size


@pytest.mark.parametrize("method", ["psi", "kl_div", "jensenshannon", "hellinger"])
def test_binned_divergences_are_within_their_bounds_on_the_same_bins(
    method: str, large: tuple[pa.Table, pa.Table, DatasetProfile, DatasetProfile]
) -> None:
    reference, current, ref_profile, cur_profile = large
    report = profile_drift(ref_profile, cur_profile, config=DriftConfig(method=method))
    for name in reference.column_names:
        sketch = ref_profile.columns[name].quantiles
        assert sketch is not None
        edges = np.unique(sketch.quantiles([i / 10 for i in range(1, 10)]))
        p = _masses(reference[name].to_numpy(), edges)
        q = _masses(current[name].to_numpy(), edges)
        smooth_p, smooth_q = (np.where(v == 0, 1e-4, v) for v in (p, q))
        smooth_p, smooth_q = smooth_p / smooth_p.sum(), smooth_q / smooth_q.sum()
        exact = {
            "psi": stats.entropy(smooth_p, smooth_q) + stats.entropy(smooth_q, smooth_p),
            "kl_div": stats.entropy(smooth_p, smooth_q),
            "jensenshannon": distance.jensenshannon(p, q),
            "hellinger": np.linalg.norm(np.sqrt(p) - np.sqrt(q)) / np.sqrt(2),
        }[method]
        result = report[name]
        assert result.approximation_error is not None
        assert abs(result.statistic - exact) <= result.approximation_error, name
        assert result.new_categories == result.missing_categories == ()
    assert report["shifted"].drifted
    assert not report["same"].drifted


def test_a_stored_reference_profile_serves_every_window_without_the_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    data = tmp_path / "reference.parquet"
    pq.write_table(
        pa.table({"x": rng.normal(size=50_000), "c": rng.choice(["a", "b"], 50_000)}), data
    )
    profile_table(data).save(tmp_path / "reference.profile")
    data.unlink()  # nothing can rescan the reference now
    reference = DatasetProfile.load(tmp_path / "reference.profile")
    verdicts = []
    for shift in (0.0, 0.0, 1.0):
        window = pa.table({"x": rng.normal(shift, 1.0, 5_000), "c": rng.choice(["a", "b"], 5_000)})
        verdicts.append(profile_drift(reference, profile_table(window))["x"].drifted)
    assert verdicts == [False, False, True]
