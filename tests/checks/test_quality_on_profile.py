"""Quality checks on a profile agree with the same checks on the data."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from mlvigil.checks.config import load_quality_config
from mlvigil.checks.quality import (
    FreshnessConfig,
    OutlierRule,
    OutliersConfig,
    QualityConfig,
    RangeRule,
    SchemaConfig,
    UniquenessConfig,
    run_quality_checks,
    run_quality_checks_on_profile,
)
from mlvigil.checks.result import CheckResult, CheckStatus
from mlvigil.cli import app
from mlvigil.profile import DatasetProfile, ProfileConfig, profile_table

EXAMPLES = Path(__file__).parents[2] / "examples"
CURRENT = EXAMPLES / "data" / "current.csv"


@pytest.fixture(scope="module")
def config() -> QualityConfig:
    return load_quality_config(EXAMPLES / "quality.yaml")


@pytest.fixture(scope="module")
def profile() -> DatasetProfile:
    return profile_table(CURRENT)


def _by_key(
    results: tuple[CheckResult, ...] | list[CheckResult],
) -> dict[tuple[str, str, str | None], CheckResult]:
    return {(r.check, r.metric, r.column): r for r in results}


def _rank_error(profile: DatasetProfile, column: str | None) -> float:
    sketch = profile.columns[column].quantiles if column is not None else None
    return sketch.rank_error if sketch is not None else 0.0


def _assert_agree(data: CheckResult, sketched: CheckResult, profile: DatasetProfile) -> None:
    assert sketched.status is data.status, (data, sketched)
    if data.value is None:
        assert sketched.value is None
    elif data.metric in ("out_of_range_rate", "outlier_rate"):
        # Two tails, each off by at most the sketch's rank error.
        assert sketched.value is not None
        assert abs(sketched.value - data.value) <= 2 * _rank_error(profile, data.column)
    elif data.check != "drift":
        assert sketched.value == data.value, (data, sketched)


def test_profile_results_match_data_results_for_every_check_both_support(
    config: QualityConfig, profile: DatasetProfile
) -> None:
    # The example key is composite, which only the data can check; use single keys.
    config = replace(config, uniqueness=UniquenessConfig(["income", "region"]))
    data = _by_key(run_quality_checks(CURRENT, config).results)
    sketched = _by_key(run_quality_checks_on_profile(profile, config).results)
    assert list(sketched) == list(data)
    for key, result in data.items():
        _assert_agree(result, sketched[key], profile)
    assert sketched["uniqueness", "duplicate_rate", "income"].details["estimated"] is True
    assert sketched["uniqueness", "duplicate_rate", "region"].details["estimated"] is False


def test_estimated_range_and_outlier_rates_stay_within_the_rank_error_when_they_fail(
    profile: DatasetProfile,
) -> None:
    config = QualityConfig(
        schema=SchemaConfig(
            ranges={
                "age": RangeRule(min=25, max=60, max_rate=0.01),
                "income": RangeRule(min=40_000, max_rate=0.01),
            }
        ),
        outliers=OutliersConfig(
            {
                "income": OutlierRule("iqr", k=0.5, max_rate=0.01),
                "credit_score": OutlierRule("zscore", n_std=1.0, max_rate=0.01),
            }
        ),
    )
    data = _by_key(run_quality_checks(CURRENT, config).results)
    sketched = _by_key(run_quality_checks_on_profile(profile, config).results)
    assert all(r.status is CheckStatus.FAILED for r in data.values())
    for key, result in data.items():
        _assert_agree(result, sketched[key], profile)
        assert sketched[key].details["estimated"] is not profile.columns[key[2]].quantiles.is_exact  # type: ignore[union-attr,index]


def test_composite_uniqueness_key_on_a_profile_is_an_error(profile: DatasetProfile) -> None:
    config = QualityConfig(uniqueness=UniquenessConfig([("age", "income")]))
    (result,) = run_quality_checks_on_profile(profile, config)
    assert result.status is CheckStatus.ERROR
    assert result.column == "age,income"
    assert "composite keys need the data" in result.message


def test_allowed_values_of_a_column_beyond_the_category_cap_are_an_error() -> None:
    table = pa.table({"code": [f"c{i}" for i in range(50)]})
    profile = profile_table(table, config=ProfileConfig(max_categories=10))
    config = QualityConfig(schema=SchemaConfig(allowed={"code": ["c1"]}))
    (result,) = run_quality_checks_on_profile(profile, config)
    assert result.status is CheckStatus.ERROR
    assert "category cap" in result.message


def test_freshness_reads_the_profiles_timestamp_column_and_errors_on_another() -> None:
    newest = datetime(2024, 5, 1, 12, tzinfo=UTC)
    table = pa.table(
        {
            "at": pa.array([newest - timedelta(hours=5), newest], pa.timestamp("us", "UTC")),
            "other": pa.array([newest, newest], pa.timestamp("us", "UTC")),
        }
    )
    profile = profile_table(table, timestamp="at")
    now = newest + timedelta(hours=30)
    on_time = QualityConfig(freshness=FreshnessConfig("at", timedelta(hours=24)))
    (result,) = run_quality_checks_on_profile(profile, on_time, now=now)
    (expected,) = run_quality_checks(table, on_time, now=now)
    assert (
        (result.status, result.value)
        == (expected.status, expected.value)
        == (
            CheckStatus.FAILED,
            30.0,
        )
    )
    other = QualityConfig(freshness=FreshnessConfig("other", timedelta(hours=24)))
    (result,) = run_quality_checks_on_profile(profile, other, now=now)
    assert result.status is CheckStatus.ERROR
    assert "timestamp column 'at'" in result.message


def test_run_quality_checks_dispatches_a_profile_and_a_profile_path(
    config: QualityConfig, profile: DatasetProfile, tmp_path: Path
) -> None:
    path = tmp_path / "current.profile"
    profile.save(path)
    from_object = run_quality_checks(profile, config)
    from_path = run_quality_checks(str(path), config)
    assert [(r.check, r.column, r.status) for r in from_object] == [
        (r.check, r.column, r.status) for r in from_path
    ]
    composite = next(r for r in from_path if r.check == "uniqueness")
    assert composite.status is CheckStatus.ERROR


def test_check_cli_on_a_profile_exits_1_with_employment_years_incomplete(
    profile: DatasetProfile, tmp_path: Path
) -> None:
    path = tmp_path / "some.profile"
    profile.save(path)
    result = CliRunner().invoke(
        app,
        ["check", str(path), "--config", str(EXAMPLES / "quality.yaml"), "--format", "json"],
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    failed = {(r["check"], r["column"]) for r in report["results"] if r["status"] == "failed"}
    assert ("completeness", "employment_years") in failed
