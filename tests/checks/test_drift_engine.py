"""detect_drift through its public interface: inputs, verdicts, statuses, options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import csv
from scipy import stats

from mlvigil import (
    ColumnMismatchError,
    ColumnStatus,
    ColumnType,
    ConfigError,
    DriftConfig,
    InputError,
    UnknownMethodError,
    UnreadableInputError,
    detect_drift,
)


def _tables(n: int = 5_000, seed: int = 7, shift: float = 0.0) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)

    def one(delta: float, weights: list[float]) -> pa.Table:
        return pa.table(
            {
                "x": rng.normal(delta, 1.0, n),
                "y": rng.exponential(2.0, n),
                "c": rng.choice(["a", "b", "c"], n, p=weights),
            }
        )

    return one(0.0, [0.5, 0.3, 0.2]), one(shift, [0.5 - shift / 5, 0.3, 0.2 + shift / 5])


def test_identical_distributions_show_no_drift() -> None:
    reference, current = _tables()
    report = detect_drift(reference, current)
    assert not report.dataset_drift
    assert report.number_of_drifted_columns == 0
    assert report.drift_share == 0.0
    assert [c.column for c in report] == ["x", "y", "c"]


def test_shifted_columns_are_flagged_and_dataset_verdict_follows_share() -> None:
    reference, current = _tables(shift=1.0)
    report = detect_drift(reference, current)
    assert report["x"].drifted
    assert report["c"].drifted
    assert not report["y"].drifted
    assert report.drift_share == pytest.approx(2 / 3)
    assert report.dataset_drift
    strict = detect_drift(reference, current, config=DriftConfig(drift_share=0.9))
    assert not strict.dataset_drift


def test_default_methods_follow_column_type_and_size() -> None:
    reference, current = _tables(n=5_000)
    large = detect_drift(reference, current)
    assert (large["x"].method, large["c"].method) == ("wasserstein", "jensenshannon")
    small = detect_drift(reference.slice(0, 800), current.slice(0, 800))
    assert (small["x"].method, small["c"].method) == ("ks", "chisquare")
    binary = pa.table({"b": [True, False] * 300})
    assert detect_drift(binary, binary)["b"].method == "z"


def test_values_agree_with_scipy() -> None:
    reference, current = _tables(n=800, shift=0.3)
    report = detect_drift(reference, current)
    ks = stats.ks_2samp(reference["x"].to_numpy(), current["x"].to_numpy())
    assert report["x"].statistic == pytest.approx(ks.statistic, rel=1e-9)
    assert report["x"].p_value == pytest.approx(ks.pvalue, rel=1e-9)
    table = [
        [np.sum(np.asarray(side["c"]) == v) for v in ("a", "b", "c")]
        for side in (reference, current)
    ]
    chi2 = stats.chi2_contingency(table, correction=False)
    assert report["c"].statistic == pytest.approx(chi2.statistic, rel=1e-9)
    assert report["c"].p_value == pytest.approx(chi2.pvalue, rel=1e-9)


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow", "csv", "parquet"])
def test_every_input_kind_gives_the_same_report(kind: str, tmp_path: Path) -> None:
    reference, current = _tables(n=2_000, shift=0.5)
    expected = detect_drift(reference, current).to_dict()

    def convert(table: pa.Table, name: str) -> object:
        if kind == "pandas":
            return table.to_pandas()
        if kind == "polars":
            import polars as pl

            return pl.from_arrow(table)
        if kind == "csv":
            csv.write_csv(table, tmp_path / f"{name}.csv")
            return tmp_path / f"{name}.csv"
        if kind == "parquet":
            pq.write_table(table, tmp_path / f"{name}.parquet")
            return str(tmp_path / f"{name}.parquet")
        return table

    report = detect_drift(convert(reference, "ref"), convert(current, "cur"))
    assert report.drift_share == expected["drift_share"]
    for name in ("x", "y", "c"):
        assert report[name].drifted == expected["columns"][name]["drifted"]
        assert report[name].statistic == pytest.approx(
            expected["columns"][name]["statistic"], rel=1e-6
        )


def test_mismatched_columns_raise_a_clear_error_unless_columns_are_chosen() -> None:
    reference = pa.table({"a": [1.0, 2.0], "b": [1.0, 2.0]})
    current = pa.table({"a": [1.0, 2.0], "z": [1.0, 2.0]})
    with pytest.raises(ColumnMismatchError, match="missing from current: b") as caught:
        detect_drift(reference, current)
    assert "missing from reference: z" in str(caught.value)
    assert "columns=" in str(caught.value)
    assert [c.column for c in detect_drift(reference, current, columns=["a"])] == ["a"]
    with pytest.raises(InputError, match="'b' \\(current\\)"):
        detect_drift(reference, current, columns=["a", "b"])


def test_unreadable_inputs_raise_input_errors(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="no such file"):
        detect_drift(tmp_path / "missing.parquet", tmp_path / "missing.parquet")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(UnreadableInputError, match="cannot read Parquet"):
        detect_drift(broken, broken)
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"")
    with pytest.raises(UnreadableInputError, match=r"\.csv or \.parquet"):
        detect_drift(odd, odd)
    with pytest.raises(UnreadableInputError, match="as a table"):
        detect_drift([1, 2, 3], [1, 2, 3])


def test_degenerate_columns_get_explicit_statuses_and_the_report_completes() -> None:
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
            "fine": normal,
        }
    )
    report = detect_drift(reference, current)
    status = {c.column: c.status for c in report}
    assert status == {
        "all_null": ColumnStatus.ALL_NULL,
        "constant": ColumnStatus.CONSTANT,
        "infinite": ColumnStatus.INFINITE,
        "only_inf": ColumnStatus.INFINITE,
        "when": ColumnStatus.SKIPPED,
        "mistyped": ColumnStatus.TYPE_MISMATCH,
        "fine": ColumnStatus.OK,
    }
    for result in report:
        if result.status is not ColumnStatus.OK:
            assert result.message, result.column
    assert report["all_null"].reference_nulls == n
    assert report["infinite"].current_infinite == 5
    assert report["infinite"].statistic is not None
    assert not report["constant"].drifted
    assert report["constant"].method == "ks"
    assert report.number_of_tested_columns == 3


def test_empty_tables_are_reported_not_raised() -> None:
    reference = pa.table({"x": pa.array([], pa.float64())})
    current = pa.table({"x": [1.0, 2.0]})
    result = detect_drift(reference, current)["x"]
    assert result.status is ColumnStatus.EMPTY
    assert result.message == "reference has no rows"
    assert not detect_drift(reference, current).dataset_drift


def test_missing_values_are_counted_and_a_jump_in_missing_rate_is_its_own_signal() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=4_000)
    reference = pa.table({"x": pa.array(values, mask=rng.random(4_000) < 0.01)})
    current = pa.table({"x": pa.array(values, mask=rng.random(4_000) < 0.20)})
    result = detect_drift(reference, current)["x"]
    assert result.current_nulls > 700
    assert result.reference_nulls < 80
    assert result.current_null_rate == pytest.approx(result.current_nulls / 4_000)
    assert result.missing_rate_drifted
    assert not result.drifted
    steady = detect_drift(reference, reference)["x"]
    assert not steady.missing_rate_drifted


def test_nan_counts_as_missing() -> None:
    reference = pa.table({"x": [1.0, 2.0, float("nan"), 4.0] * 50})
    result = detect_drift(reference, reference)["x"]
    assert result.reference_nulls == 50
    assert result.status is ColumnStatus.OK


def test_new_and_missing_categories_are_reported() -> None:
    reference = pa.table({"c": ["a", "b", "c"] * 100})
    current = pa.table({"c": ["a", "b", "d"] * 100})
    result = detect_drift(reference, current)["c"]
    assert result.new_categories == ("d",)
    assert result.missing_categories == ("c",)
    assert result.drifted


def test_schema_overrides_inferred_types() -> None:
    reference = pa.table({"zip": list(range(100, 400))})
    current = pa.table({"zip": list(range(100, 400))})
    assert detect_drift(reference, current)["zip"].type is ColumnType.NUMERICAL
    declared = detect_drift(reference, current, schema={"zip": "categorical"})["zip"]
    assert declared.type is ColumnType.CATEGORICAL
    assert declared.method == "chisquare"


def test_method_precedence_column_over_type_over_global() -> None:
    reference, current = _tables(n=2_000)
    config = DriftConfig(
        method="psi", type_methods={"numerical": "ks"}, column_methods={"y": "anderson"}
    )
    report = detect_drift(reference, current, config=config)
    assert (report["x"].method, report["y"].method, report["c"].method) == ("ks", "anderson", "psi")


def test_global_method_applies_only_where_it_can() -> None:
    reference, current = _tables(n=2_000)
    report = detect_drift(reference, current, config=DriftConfig(method="chisquare"))
    assert report["c"].method == "chisquare"
    assert report["x"].method == "wasserstein"


def test_a_column_method_that_does_not_apply_is_reported_as_an_error() -> None:
    reference, current = _tables(n=300)
    report = detect_drift(reference, current, config=DriftConfig(column_methods={"c": "z"}))
    assert report["c"].status is ColumnStatus.ERROR
    assert "two categories" in (report["c"].message or "")
    assert report["x"].status is ColumnStatus.OK


def test_thresholds_are_overridable_globally_and_per_column() -> None:
    reference, current = _tables(n=5_000, shift=0.05)
    config = DriftConfig(threshold=0.01, column_thresholds={"y": 0.5})
    report = detect_drift(reference, current, config=config)
    assert report["x"].threshold == 0.01
    assert report["x"].drifted
    assert report["y"].threshold == 0.5
    assert not report["y"].drifted


def test_bad_options_raise_config_errors() -> None:
    with pytest.raises(UnknownMethodError, match="choose one of"):
        DriftConfig(column_methods={"x": "t_test"})
    with pytest.raises(ConfigError, match="drift_share"):
        DriftConfig(drift_share=0.0)
    with pytest.raises(ConfigError, match="threshold"):
        DriftConfig(threshold=float("nan"))
    with pytest.raises(ConfigError, match=r"correction|bonferoni"):
        DriftConfig(correction="bonferoni")
    reference, current = _tables(n=100)
    with pytest.raises(ConfigError, match="not compared: nope"):
        detect_drift(reference, current, config=DriftConfig(column_thresholds={"nope": 0.1}))


def test_bonferroni_correction_raises_p_values_and_can_clear_a_verdict() -> None:
    rng = np.random.default_rng(11)
    n = 400
    reference = pa.table({f"x{i}": rng.normal(size=n) for i in range(20)})
    current = pa.table({f"x{i}": rng.normal(size=n) for i in range(20)})
    plain = detect_drift(reference, current)
    corrected = detect_drift(reference, current, config=DriftConfig(correction="bonferroni"))
    for before, after in zip(plain, corrected, strict=True):
        assert after.p_value == before.p_value
        assert after.p_value_adjusted == pytest.approx(min(1.0, (before.p_value or 0) * 20))
        assert after.drifted == (after.p_value_adjusted < 0.05)
    assert corrected.number_of_drifted_columns <= plain.number_of_drifted_columns


def test_report_serialises_to_the_documented_json_shape() -> None:
    reference, current = _tables(n=500, shift=1.0)
    report = detect_drift(reference, current)
    data = json.loads(report.to_json())
    assert set(data) >= {"dataset_drift", "drift_share", "number_of_drifted_columns", "columns"}
    column = data["columns"]["x"]
    for key in (
        "type",
        "method",
        "statistic",
        "p_value",
        "threshold",
        "drifted",
        "status",
        "reference_nulls",
        "current_nulls",
    ):
        assert key in column
    assert column["type"] == "numerical"
    assert column["status"] == "ok"
    assert data["number_of_drifted_columns"] == report.number_of_drifted_columns


def test_non_finite_statistics_become_json_null() -> None:
    reference = pa.table({"b": ["yes"] * 5 + ["no"] * 5})
    current = pa.table({"b": ["yes"] * 6})
    report = detect_drift(reference, current, config=DriftConfig(method="fisher_exact"))
    assert report["b"].statistic == float("inf")
    assert json.loads(report.to_json())["columns"]["b"]["statistic"] is None


def test_dataframe_view_has_one_row_per_column() -> None:
    reference, current = _tables(n=500)
    frame = detect_drift(reference, current).to_dataframe()
    assert list(frame.index) == ["x", "y", "c"]
    assert {"method", "statistic", "drifted", "status"} <= set(frame.columns)


def test_progress_callback_sees_every_column_once() -> None:
    reference, current = _tables(n=500)
    seen: list[str] = []
    detect_drift(reference, current, on_column=lambda result: seen.append(result.column))
    assert sorted(seen) == ["c", "x", "y"]


def test_single_worker_and_parallel_runs_agree() -> None:
    reference, current = _tables(n=3_000, shift=0.3)
    serial = detect_drift(reference, current, config=DriftConfig(workers=1))
    parallel = detect_drift(reference, current, config=DriftConfig(workers=2))
    assert serial.to_dict() == parallel.to_dict()
