"""Results become Prometheus gauges on the registry they are given."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mlvigil.catalog import RESULT_METRICS
from mlvigil.checks.export import export_to_prometheus
from mlvigil.checks.quality import (
    CompletenessConfig,
    DriftCheckConfig,
    FreshnessConfig,
    QualityConfig,
    QualityReport,
    RangeRule,
    SchemaConfig,
    UniquenessConfig,
    parse_duration,
    run_quality_checks,
)
from mlvigil.checks.result import CheckResult, CheckStatus


def _report(tmp_path: Path) -> QualityReport:
    reference = pa.table({"x": [float(i) for i in range(100)], "c": ["a", "b"] * 50})
    current = pa.table(
        {
            "x": [float(i) + 60 for i in range(100)],
            "c": ["a", "b"] * 50,
            "id": [i // 2 for i in range(100)],
            "t": pa.array([1_717_236_000_000_000] * 100, pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(reference, tmp_path / "reference.parquet")
    config = QualityConfig(
        completeness=CompletenessConfig({"x": 0.0}),
        uniqueness=UniquenessConfig([["id"], ["id", "c"]]),
        freshness=FreshnessConfig("t", parse_duration("1d")),
        drift=DriftCheckConfig(tmp_path / "reference.parquet", columns=["x", "c"]),
    )
    return run_quality_checks(current, config, now=datetime(2024, 6, 1, 13, 0, tzinfo=UTC))


def test_each_result_kind_sets_its_gauge(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    export_to_prometheus(_report(tmp_path), registry, model="loans")

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"model": "loans", **labels})

    assert value("mlvigil_null_rate", column="x") == 0.0
    assert value("mlvigil_data_freshness_hours") == 3.0
    assert value("mlvigil_duplicate_rate", column="id") == 0.5
    assert value("mlvigil_duplicate_rate", column="id,c") == 0.0  # each id once per c
    assert value("mlvigil_drift_score", column="x", method="ks") == 0.6
    assert value("mlvigil_drift_share") == 0.5
    passed = "mlvigil_quality_check_passed"
    assert value(passed, check="completeness", metric="null_rate", column="x") == 1.0
    assert value(passed, check="uniqueness", metric="duplicate_rate", column="id") == 0.0
    assert value("mlvigil_column_drifted", column="x") == 1.0
    # one of two columns drifted: the share reached the default threshold 0.5
    assert value("mlvigil_dataset_drift") == 1.0


def test_exporting_again_updates_the_same_gauges(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    failing = CheckResult("completeness", "null_rate", "age", 0.3, 0.1, CheckStatus.FAILED)
    passing = CheckResult("completeness", "null_rate", "age", 0.0, 0.1, CheckStatus.PASSED)
    export_to_prometheus([failing], registry)
    export_to_prometheus([passing], registry)
    export_to_prometheus([failing], registry, model="other")
    labels = {"model": "default", "column": "age"}
    assert registry.get_sample_value("mlvigil_null_rate", labels) == 0.0
    passed = {"model": "default", "check": "completeness", "metric": "null_rate", "column": "age"}
    assert registry.get_sample_value("mlvigil_quality_check_passed", passed) == 1.0
    other = {**passed, "model": "other"}
    assert registry.get_sample_value("mlvigil_quality_check_passed", other) == 0.0


def test_gauges_are_per_registry() -> None:
    result = CheckResult("freshness", "freshness_hours", "t", 2.0, 24.0, CheckStatus.PASSED)
    first, second = CollectorRegistry(), CollectorRegistry()
    export_to_prometheus([result], first)
    assert second.get_sample_value("mlvigil_data_freshness_hours", {"model": "default"}) is None
    export_to_prometheus([result], second)
    assert second.get_sample_value("mlvigil_data_freshness_hours", {"model": "default"}) == 2.0


@pytest.mark.parametrize("values", [[-1.0, 2.0], [2.0, 3.0]])
@pytest.mark.parametrize("declared", ["numerical", "categorical"])
def test_each_quality_result_sets_its_own_passed_gauge(values: list[float], declared: str) -> None:
    # A column's type result comes before its range result; either may fail alone.
    table = pa.table({"amount": values})
    config = QualityConfig(
        schema=SchemaConfig(types={"amount": declared}, ranges={"amount": RangeRule(min=0)})
    )
    report = run_quality_checks(table, config)
    registry = CollectorRegistry()
    export_to_prometheus(report, registry)
    for result in report:
        if result.status is CheckStatus.ERROR:
            continue
        labels = {"model": "default", "check": "schema", "metric": result.metric}
        gauge = registry.get_sample_value(
            "mlvigil_quality_check_passed", {**labels, "column": "amount"}
        )
        assert gauge == (1.0 if result.passed else 0.0)


def test_results_sharing_labels_pass_only_when_all_passed() -> None:
    first = CheckResult("schema", "type_matches", "amount", 1.0, None, CheckStatus.PASSED)
    second = CheckResult("schema", "type_matches", "amount", 0.0, None, CheckStatus.FAILED)
    registry = CollectorRegistry()
    export_to_prometheus([first, second], registry)
    labels = {"model": "default", "check": "schema", "metric": "type_matches", "column": "amount"}
    assert registry.get_sample_value("mlvigil_quality_check_passed", labels) == 0.0


def test_a_value_that_could_not_be_computed_is_exported_as_an_error_not_a_number() -> None:
    errored = CheckResult("completeness", "null_rate", "gone", None, 0.1, CheckStatus.ERROR)
    registry = CollectorRegistry()
    export_to_prometheus([errored], registry)
    labels = {"model": "default", "column": "gone"}
    assert registry.get_sample_value("mlvigil_null_rate", labels) is None  # no stale number
    error = {**labels, "check": "completeness", "metric": "null_rate"}
    assert registry.get_sample_value("mlvigil_check_error", error) == 1.0


def test_text_exposition_parses_with_the_expected_families(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    report = _report(tmp_path)
    export_to_prometheus(report, registry, model='we"ird\\name')
    export_to_prometheus(report, registry, model='we"ird\\name')
    families = {
        f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())
    }
    assert set(families) == {m.name for m in RESULT_METRICS}
    assert all(f.type == "gauge" for f in families.values())
    (sample,) = families["mlvigil_data_freshness_hours"].samples
    assert sample.labels == {"model": 'we"ird\\name'}
