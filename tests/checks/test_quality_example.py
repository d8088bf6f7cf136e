"""examples/quality.yaml finds exactly the problems planted in the example data."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlvigil.checks.config import load_quality_config
from mlvigil.checks.quality import QualityConfig, run_quality_checks
from mlvigil.checks.result import CheckStatus

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def config() -> QualityConfig:
    return load_quality_config(EXAMPLES / "quality.yaml")


def test_example_config_flags_the_planted_problems_and_passes_the_rest(
    config: QualityConfig,
) -> None:
    report = run_quality_checks(EXAMPLES / "data" / "current.csv", config)
    failed = {(r.check, r.metric, r.column) for r in report.failures}
    assert failed == {
        ("completeness", "null_rate", "employment_years"),
        ("schema", "unexpected_value_rate", "loan_purpose"),
        ("drift", "wasserstein", "income"),
        ("drift", "jensenshannon", "loan_purpose"),
    }
    assert not report.errors
    assert not report.passed
    crypto = next(r for r in report.failures if r.metric == "unexpected_value_rate")
    assert crypto.details["unexpected_values"][0]["value"] == "crypto"
    checks = {r.check for r in report}
    assert checks == {"volume", "schema", "completeness", "uniqueness", "outliers", "drift"}


def test_example_config_passes_the_reference_data(config: QualityConfig) -> None:
    report = run_quality_checks(EXAMPLES / "data" / "reference.csv", config)
    assert report.passed
    assert all(r.status is CheckStatus.PASSED for r in report)
