"""estimate_performance: a current table cut into chunks, each estimated and judged."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlvigil.checks.result import CheckStatus
from mlvigil.estimation import EstimationConfig, EstimationReport, estimate_performance
from mlvigil.exceptions import ConfigError, InputError

Draw = Callable[..., pa.Table]


@pytest.fixture(scope="module")
def tables(draw: Draw) -> tuple[pa.Table, pa.Table]:
    current = pa.concat_tables([draw(6000, 2), draw(2000, 3, spread=0.3)])
    return draw(20_000, 1), current


@pytest.fixture(scope="module")
def report(tables: tuple[pa.Table, pa.Table]) -> EstimationReport:
    return estimate_performance(*tables, chunk_size=2000, metrics=("accuracy", "roc_auc"))


def test_each_chunk_gets_one_result_per_metric_and_the_shifted_one_alerts(
    report: EstimationReport,
) -> None:
    assert [c.chunk.key for c in report] == [
        "rows 0-1999", "rows 2000-3999", "rows 4000-5999", "rows 6000-7999"
    ]  # fmt: skip
    assert all([r.metric for r in c.results] == ["accuracy", "roc_auc"] for c in report)
    assert [chunk.index for chunk, _ in report.alerts] == [3, 3]
    assert all(r.status is CheckStatus.FAILED for _, r in report.alerts)
    # the current has labels: realized values beside the estimates
    assert all(r.details.realized is not None for r in report.metric("accuracy"))
    assert report.reference_rows == 20_000
    assert report.current_rows == 8000


def test_limits_are_learned_from_reference_chunks_of_the_window_size(
    report: EstimationReport,
) -> None:
    limits = report[0].results[0].details.limits
    assert limits.chunk_rows == 2000
    assert limits.chunks == 10


def test_json_dict_and_dataframe_views(report: EstimationReport) -> None:
    data = json.loads(report.to_json())
    assert data["number_of_chunks"] == 4
    assert data["number_of_alerts"] == 2
    assert data["chunks"][3]["results"][0]["status"] == "failed"
    assert data["chunks"][3]["results"][0]["details"]["direction"] == "degraded"
    assert data == report.to_dict()
    frame = report.to_dataframe()
    assert len(frame) == 8
    assert list(frame.loc[frame["status"] == "failed", "chunk"]) == [3, 3]
    assert frame[["value", "lower_band", "upper_band", "lower", "upper"]].notna().all().all()
    with pytest.raises(KeyError):
        report.metric("f1")


def test_period_chunks_of_a_timestamp(tables: tuple[pa.Table, pa.Table]) -> None:
    reference, current = tables
    start = datetime(2026, 5, 1, tzinfo=UTC)
    times = pa.array([start + timedelta(minutes=m) for m in range(current.num_rows)])
    stamped = current.append_column("ts", times)
    report = estimate_performance(
        reference, stamped, chunk_period="1d", timestamp="ts", metrics=("accuracy",)
    )
    assert [c.chunk.rows for c in report] == [1440] * 5 + [800]
    assert report[0].chunk.start == start


def test_files_and_pandas_are_read_as_tables(
    tables: tuple[pa.Table, pa.Table], tmp_path: Path
) -> None:
    reference, current = tables
    pq.write_table(reference, tmp_path / "reference.parquet")
    from_files = estimate_performance(
        tmp_path / "reference.parquet", current.to_pandas(), chunk_size=4000,
        config=EstimationConfig(metrics=("accuracy",)),
    )  # fmt: skip
    in_memory = estimate_performance(reference, current, chunk_size=4000, metrics=("accuracy",))
    assert [r.value for r in from_files.metric("accuracy")] == [
        r.value for r in in_memory.metric("accuracy")
    ]


def test_chunking_and_option_mistakes(tables: tuple[pa.Table, pa.Table]) -> None:
    reference, current = tables
    with pytest.raises(ConfigError, match="exactly one"):
        estimate_performance(reference, current)
    with pytest.raises(ConfigError, match="not chunk_size and chunk_period"):
        estimate_performance(reference, current, chunk_size=10, chunk_period="1d")
    with pytest.raises(ConfigError, match="timestamp"):
        estimate_performance(reference, current, chunk_period="1d")
    with pytest.raises(ConfigError, match="unknown estimation option"):
        estimate_performance(reference, current, chunk_size=100, metric=("accuracy",))
    with pytest.raises(InputError, match="no rows"):
        estimate_performance(reference, current.slice(0, 0), chunk_size=100)


def test_a_reference_too_small_for_limits_reports_without_a_verdict(draw: Draw) -> None:
    report = estimate_performance(draw(250, 1), draw(400, 2), chunk_size=200, metrics=("f1",))
    assert any("no limits learned" in w for w in report.warnings)
    assert not report.alerts
    assert all(r.threshold is None for r in report.metric("f1"))
