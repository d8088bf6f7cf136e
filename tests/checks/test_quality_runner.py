"""run_quality_checks end to end: inputs, bad columns, severities, the report."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import csv

from mlvigil.checks.quality import (
    CompletenessConfig,
    DriftCheckConfig,
    FreshnessConfig,
    OutlierRule,
    OutliersConfig,
    QualityConfig,
    QualityReport,
    RangeRule,
    SchemaConfig,
    UniquenessConfig,
    VolumeConfig,
    parse_duration,
    run_quality_checks,
)
from mlvigil.checks.result import CheckStatus, Severity
from mlvigil.exceptions import ConfigError, UnreadableInputError
from mlvigil.io.tables import ParquetSource

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _orders(n: int = 200) -> pa.Table:
    return pa.table(
        {
            "user_id": list(range(n)),
            "amount": [float(i % 50) for i in range(n)],
            "country": ["US", "DE", "FR", "US"] * (n // 4),
            "event_time": [datetime(2024, 6, 1, 10, 0)] * n,
        }
    )


def _full_config() -> QualityConfig:
    return QualityConfig(
        completeness=CompletenessConfig({"user_id": 0.0, "amount": 0.05}),
        uniqueness=UniquenessConfig(["user_id"]),
        schema=SchemaConfig(
            required=["user_id", "amount"],
            types={"amount": "numerical", "country": "categorical"},
            allowed={"country": ["US", "DE", "FR"]},
            ranges={"amount": RangeRule(min=0, max=10_000)},
        ),
        outliers=OutliersConfig({"amount": OutlierRule("iqr")}),
        freshness=FreshnessConfig("event_time", parse_duration("24h")),
        volume=VolumeConfig(min_rows=100, max_rows=1000),
    )


def test_clean_data_passes_every_configured_check() -> None:
    report = run_quality_checks(_orders(), _full_config(), now=NOW)
    assert report.passed
    assert report.failures == ()
    order = list(dict.fromkeys(r.check for r in report))
    assert order == ["volume", "schema", "completeness", "uniqueness", "outliers", "freshness"]
    assert {r.timestamp for r in report} == {NOW}


def test_a_missing_column_errors_its_check_and_the_others_still_run() -> None:
    config = QualityConfig(
        completeness=CompletenessConfig({"user_id": 0.0, "amout": 0.05}),
        outliers=OutliersConfig({"amout": OutlierRule()}),
        freshness=FreshnessConfig("created_at", parse_duration("1h")),
        uniqueness=UniquenessConfig([("user_id",), ("order_id", "line")]),
    )
    report = run_quality_checks(_orders(), config, now=NOW)
    errors = {(r.check, r.column): r.message for r in report.errors}
    assert "did you mean 'amount'" in errors[("completeness", "amout")]
    assert ("outliers", "amout") in errors
    assert "not found" in errors[("freshness", "created_at")]
    assert "order_id, line" in errors[("uniqueness", "order_id,line")]
    passing = {(r.check, r.column) for r in report if r.passed}
    assert passing == {("completeness", "user_id"), ("uniqueness", "user_id")}
    assert not report.passed


def test_failures_of_warning_severity_do_not_fail_the_run() -> None:
    table = pa.table({"x": [1.0] * 98 + [500.0, 900.0]})
    config = QualityConfig(outliers=OutliersConfig({"x": OutlierRule("zscore", n_std=3)}))
    report = run_quality_checks(table, config)
    (result,) = report.results
    assert result.status is CheckStatus.FAILED
    assert result.severity is Severity.WARNING
    assert report.passed
    strict = QualityConfig(outliers=config.outliers, severity={"outliers": "critical"})
    assert not run_quality_checks(table, strict).passed


def test_errors_of_blocking_checks_fail_the_run() -> None:
    config = QualityConfig(completeness=CompletenessConfig({"nope": 0.1}))
    report = run_quality_checks(_orders(), config)
    assert report.results[0].status is CheckStatus.ERROR
    assert not report.passed


def test_default_null_rate_covers_unlisted_columns_in_table_order() -> None:
    table = pa.table({"a": [1, None], "b": [None, None], "c": [1, 2]})
    config = QualityConfig(completeness=CompletenessConfig({"b": 1.0}, default_max_null_rate=0.1))
    report = run_quality_checks(table, config)
    assert [(r.column, r.threshold, r.passed) for r in report] == [
        ("a", 0.1, False),
        ("b", 1.0, True),
        ("c", 0.1, True),
    ]


def test_extra_columns_are_those_no_section_names() -> None:
    config = QualityConfig(
        schema=SchemaConfig(required=["user_id"], allow_extra_columns=False),
        freshness=FreshnessConfig("event_time", parse_duration("24h")),
    )
    report = run_quality_checks(_orders(), config, now=NOW)
    (extra,) = [r for r in report if r.metric == "unexpected_columns"]
    assert extra.details["unexpected"] == ["amount", "country"]
    assert not extra.passed


def test_schema_problems_are_found_per_column() -> None:
    table = pa.table(
        {
            "amount": ["1", "2"],
            "country": ["US", "XX"],
            "score": [-1.0, 0.5],
        }
    )
    config = QualityConfig(
        schema=SchemaConfig(
            required=["amount", "user_id"],
            types={"amount": "numerical"},
            allowed={"country": ["US"]},
            ranges={"score": RangeRule(min=0, max=1), "amount": RangeRule(min=0)},
        )
    )
    report = run_quality_checks(table, config)
    by_metric = {(r.metric, r.column): r for r in report}
    assert not by_metric[("column_present", "user_id")].passed
    assert not by_metric[("type_matches", "amount")].passed
    assert by_metric[("unexpected_value_rate", "country")].value == 0.5
    assert by_metric[("out_of_range_rate", "score")].value == 0.5
    assert by_metric[("out_of_range_rate", "amount")].status is CheckStatus.ERROR


def test_empty_table_gives_explicit_results_for_every_check() -> None:
    report = run_quality_checks(_orders().slice(0, 0), _full_config(), now=NOW)
    by_check = {r.check: r for r in report}
    assert by_check["volume"].status is CheckStatus.FAILED
    for check in ("completeness", "uniqueness", "outliers", "freshness"):
        assert by_check[check].status is CheckStatus.ERROR, check
        assert by_check[check].message
    assert not report.passed


@pytest.mark.parametrize("kind", ["csv", "parquet", "pandas", "polars"])
def test_every_supported_input_gives_the_same_results(kind: str, tmp_path: Path) -> None:
    table = _orders().drop_columns(["event_time"])
    data: object = table
    if kind == "csv":
        data = tmp_path / "orders.csv"
        csv.write_csv(table, data)
    elif kind == "parquet":
        data = tmp_path / "orders.parquet"
        pq.write_table(table, data)
    elif kind == "pandas":
        data = table.to_pandas()
    elif kind == "polars":
        data = pl.from_arrow(table)
    config = QualityConfig(
        completeness=CompletenessConfig({"amount": 0.0}),
        uniqueness=UniquenessConfig(["country"]),
        schema=SchemaConfig(allowed={"country": ["US", "DE"]}),
    )
    values = [r.value for r in run_quality_checks(data, config)]
    assert values == [pytest.approx(0.25), 0.0, pytest.approx(197 / 200)]


def test_only_the_columns_the_config_needs_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wide.parquet"
    pq.write_table(_orders().append_column("payload", pa.array(["x" * 100] * 200)), path)
    read: list[str] = []
    original = ParquetSource.column

    def recording(self: ParquetSource, name: str) -> pa.ChunkedArray:
        read.append(name)
        return original(self, name)

    monkeypatch.setattr(ParquetSource, "column", recording)
    config = QualityConfig(
        completeness=CompletenessConfig({"amount": 0.0}),
        outliers=OutliersConfig({"amount": OutlierRule()}),
        schema=SchemaConfig(required=["payload"]),
    )
    run_quality_checks(path, config)
    assert read == ["amount"]  # read once, shared by both checks; required reads no values


def test_unreadable_data_raises_instead_of_reporting() -> None:
    with pytest.raises(UnreadableInputError):
        run_quality_checks("no/such/file.csv", QualityConfig())


def test_drift_section_adds_column_and_dataset_results(tmp_path: Path) -> None:
    reference = tmp_path / "reference.parquet"
    pq.write_table(_orders(), reference)
    shifted = _orders().set_column(1, "amount", pa.array([float(i % 50) + 40 for i in range(200)]))
    config = QualityConfig(drift=DriftCheckConfig(reference, columns=["amount", "country"]))
    report = run_quality_checks(shifted, config)
    drift = {(r.metric, r.column): r for r in report}
    assert not drift[("ks", "amount")].passed
    assert drift[("chisquare", "country")].passed
    assert drift[("drift_share", None)].value == 0.5
    assert all(r.severity is Severity.WARNING for r in report)
    assert report.passed  # drift warns by default


def test_drift_compares_shared_columns_and_errors_on_named_missing_ones(tmp_path: Path) -> None:
    reference = tmp_path / "reference.parquet"
    pq.write_table(_orders().drop_columns(["country"]), reference)
    shared = run_quality_checks(_orders(), QualityConfig(drift=DriftCheckConfig(reference)))
    assert {r.column for r in shared} == {"user_id", "amount", None}  # event_time: datetime
    named = QualityConfig(drift=DriftCheckConfig(reference, columns=["amount", "country"]))
    results = {r.column: r for r in run_quality_checks(_orders(), named)}
    assert results["country"].status is CheckStatus.ERROR
    assert "the reference" in results["country"].message
    assert results["amount"].passed


def test_an_unreadable_reference_is_one_error_result(tmp_path: Path) -> None:
    config = QualityConfig(drift=DriftCheckConfig(tmp_path / "gone.parquet"))
    (result,) = run_quality_checks(_orders(), config).results
    assert result.status is CheckStatus.ERROR
    assert "no such file" in result.message


def test_report_serialises_to_the_documented_json_shape() -> None:
    table = pd.DataFrame({"user_id": [1, 2, 2], "amount": [1.0, float("nan"), 3.0]})
    config = QualityConfig(
        completeness=CompletenessConfig({"amount": 0.0}), uniqueness=UniquenessConfig(["user_id"])
    )
    report = run_quality_checks(table, config, now=NOW)
    data = json.loads(report.to_json())
    assert data["passed"] is False
    first = data["results"][0]
    assert {"check", "column", "value", "threshold", "passed", "severity", "metric"} <= set(first)
    assert first["timestamp"] == NOW.isoformat()
    assert data == report.to_dict()
    assert isinstance(report, QualityReport)
    assert len(report) == 2


def test_config_validates_when_built_in_code() -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        CompletenessConfig({"a": 5.0})
    with pytest.raises(ConfigError, match="unknown check"):
        QualityConfig(severity={"freshnes": "critical"})
    with pytest.raises(ConfigError, match="min_rows"):
        VolumeConfig(min_rows=10, max_rows=1)
    with pytest.raises(ConfigError, match="unknown type"):
        SchemaConfig(types={"a": "numeric"})


def test_quality_package_exports_resolve() -> None:
    import mlvigil.checks.quality as quality

    assert list(quality.__all__) == sorted(quality.__all__)
    for name in quality.__all__:
        assert getattr(quality, name) is not None, name
