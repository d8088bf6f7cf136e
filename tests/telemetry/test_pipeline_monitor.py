import asyncio
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

from mlvigil.telemetry.pipeline import PipelineMonitor, table_shape


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def registry():
    return CollectorRegistry()


def value(registry, name, **labels):
    return registry.get_sample_value(name, labels)


def test_successful_run_counts_records_and_nests_stage_spans(registry, spans):
    provider, exporter = spans
    pipeline = PipelineMonitor("features", registry=registry, tracer=provider.get_tracer("t"))

    @pipeline.traced_stage("extract")
    def extract():
        return pa.table({"a": [1, 2, 3, 4], "b": ["x", "y", "z", "w"]})

    @pipeline.traced_stage("transform")
    def transform(table):
        return table.filter(pa.array([True, False, True, False]))

    with pipeline.run():
        transform(extract())

    assert value(registry, "ml_pipeline_runs_total", pipeline="features", status="success") == 1
    assert value(registry, "ml_pipeline_active_runs", pipeline="features") == 0
    assert value(registry, "ml_pipeline_run_duration_seconds_count", pipeline="features") == 1
    records = "ml_pipeline_records_processed_total"
    assert value(registry, records, pipeline="features", stage="extract", status="success") == 4
    assert value(registry, records, pipeline="features", stage="transform", status="success") == 2

    by_name = {span.name: span for span in exporter.get_finished_spans()}
    run = by_name["pipeline.run"]
    extract_span = by_name["stage extract"]
    assert extract_span.parent.span_id == run.context.span_id
    assert extract_span.attributes["data.rows"] == 4
    assert extract_span.attributes["data.columns"] == 2
    assert by_name["stage transform"].attributes["data.rows"] == 2


def test_failing_stage_fails_the_run_and_marks_spans(registry, spans):
    provider, exporter = spans
    pipeline = PipelineMonitor("features", registry=registry, tracer=provider.get_tracer("t"))

    @pipeline.traced_stage("load")
    def load():
        raise OSError("bucket unreachable")

    with pytest.raises(OSError, match="bucket unreachable"), pipeline.run():
        load()

    assert value(registry, "ml_pipeline_runs_total", pipeline="features", status="error") == 1
    assert value(registry, "ml_pipeline_active_runs", pipeline="features") == 0
    stage_count = "ml_pipeline_stage_duration_seconds_count"
    assert value(registry, stage_count, pipeline="features", stage="load") == 1
    by_name = {span.name: span for span in exporter.get_finished_spans()}
    assert by_name["stage load"].status.status_code is StatusCode.ERROR
    assert by_name["pipeline.run"].status.status_code is StatusCode.ERROR


def test_timed_stage_records_metrics_without_a_span(registry, spans):
    provider, exporter = spans
    pipeline = PipelineMonitor("features", registry=registry, tracer=provider.get_tracer("t"))

    @pipeline.timed_stage("score")
    async def score():
        await asyncio.sleep(0)
        return [{"id": 1}, {"id": 2}]

    assert asyncio.run(score()) == [{"id": 1}, {"id": 2}]
    records = "ml_pipeline_records_processed_total"
    assert value(registry, records, pipeline="features", stage="score", status="success") == 2
    assert exporter.get_finished_spans() == ()


def test_observed_table_sets_null_ratios_and_freshness_from_its_newest_row(registry):
    pipeline = PipelineMonitor("features", registry=registry)
    table = pa.table(
        {
            "amount": [1.0, float("nan"), None, 4.0],
            "city": ["a", None, "b", "c"],
            "at": [datetime(2026, 11, 1), datetime(2026, 11, 3), None, datetime(2026, 11, 2)],
        }
    )
    pipeline.observe_table("payments", table, timestamp_column="at")

    assert value(registry, "ml_feature_null_ratio", dataset="payments", feature="amount") == 0.5
    assert value(registry, "ml_feature_null_ratio", dataset="payments", feature="city") == 0.25
    newest = datetime(2026, 11, 3, tzinfo=UTC).timestamp()  # naive timestamps are UTC
    updated = value(registry, "ml_data_last_updated_timestamp_seconds", dataset="payments")
    assert updated == pytest.approx(newest)


def test_table_shape_reads_pandas_and_polars_frames():
    pandas = pytest.importorskip("pandas")
    polars = pytest.importorskip("polars")
    assert table_shape(pandas.DataFrame({"a": [1, 2], "b": [3, 4]})) == (2, 2)
    assert table_shape(polars.DataFrame({"a": [1, 2, 3]})) == (3, 1)
