"""DriftReport → CheckResult: one result per tested column plus the dataset share."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mlvigil.checks.drift import DriftConfig, detect_drift
from mlvigil.checks.quality import drift_check_results
from mlvigil.checks.result import CheckStatus, Severity


def _tables() -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(11)
    n = 400
    reference = pa.table(
        {
            "x": rng.normal(0, 1, n),
            "c": rng.choice(["a", "b", "c"], n),
            "empty": pa.nulls(n, pa.float64()),
            "t": pa.array(np.arange(n), pa.timestamp("s")),
        }
    )
    current = reference.set_column(0, "x", pa.array(rng.normal(1, 1, n)))
    return reference, current


def test_tested_columns_become_results_named_after_their_method() -> None:
    reference, current = _tables()
    report = detect_drift(reference, current)
    results = {r.column: r for r in drift_check_results(report)}
    x = results["x"]
    assert (x.check, x.metric, x.status) == ("drift", "ks", CheckStatus.FAILED)
    assert x.value == pytest.approx(report["x"].statistic)
    assert x.threshold == report["x"].threshold
    assert x.details["rule"] == "p_value"
    assert x.details["p_value"] == report["x"].p_value
    assert "p-value" in x.message
    assert results["c"].passed
    assert results["c"].metric == report["c"].method
    assert x.severity is Severity.WARNING


def test_untestable_columns_are_errors_but_skipped_types_are_left_out() -> None:
    reference, current = _tables()
    results = {r.column: r for r in drift_check_results(detect_drift(reference, current))}
    assert results["empty"].status is CheckStatus.ERROR
    assert "null" in results["empty"].message
    assert "t" not in results  # datetime columns are not drift-tested by design


def test_dataset_result_carries_share_and_verdict() -> None:
    reference, current = _tables()
    report = detect_drift(reference, current, config=DriftConfig(drift_share=0.3))
    share = drift_check_results(report, severity=Severity.CRITICAL)[-1]
    assert (share.metric, share.column) == ("drift_share", None)
    assert share.value == pytest.approx(report.drift_share)
    assert share.threshold == 0.3
    assert share.status is (CheckStatus.FAILED if report.dataset_drift else CheckStatus.PASSED)
    assert share.details["drifted_columns"] == ["x"]
    assert share.severity is Severity.CRITICAL


def test_corrected_p_values_decide_the_message() -> None:
    reference, current = _tables()
    report = detect_drift(reference, current, config=DriftConfig(correction="bonferroni"))
    x = next(r for r in drift_check_results(report) if r.column == "x")
    assert x.details["p_value_adjusted"] == report["x"].p_value_adjusted
    assert f"{report['x'].p_value_adjusted:.3g}" in x.message
