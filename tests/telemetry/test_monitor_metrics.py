import asyncio
import logging
import math

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

from mlvigil.exceptions import ConfigError
from mlvigil.telemetry.exposition import render_metrics
from mlvigil.telemetry.metrics import Buckets
from mlvigil.telemetry.monitor import ModelMonitor, Prediction


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def sample(registry, name, **labels):
    return registry.get_sample_value(name, labels)


def test_tracked_prediction_counts_latency_confidence_and_value(registry):
    monitor = ModelMonitor("credit", version="7", registry=registry)

    @monitor.track
    def predict(features):
        return {"prediction": 1, "score": 0.92}

    for _ in range(3):
        assert predict({"income": 52_000.0}) == {"prediction": 1, "score": 0.92}

    key = {"model": "credit", "version": "7"}
    assert sample(registry, "ml_prediction_requests_total", **key, status="success") == 3
    assert sample(registry, "ml_prediction_latency_seconds_count", **key) == 3
    assert sample(registry, "ml_prediction_latency_seconds_sum", **key) > 0
    confidence = {"model": "credit", "predicted_class": "1"}
    assert sample(registry, "ml_prediction_confidence_count", **confidence) == 3
    assert sample(registry, "ml_prediction_confidence_bucket", **confidence, le="0.9") == 0
    assert sample(registry, "ml_prediction_confidence_bucket", **confidence, le="0.95") == 3
    assert sample(registry, "ml_prediction_value_sum", model="credit") == 3


def test_failed_prediction_counts_an_error_and_reraises(registry):
    monitor = ModelMonitor("credit", registry=registry)

    @monitor.track
    def predict(features):
        raise ValueError("model not loaded")

    with pytest.raises(ValueError, match="model not loaded"):
        predict({"income": 1.0})
    key = {"model": "credit", "version": ""}
    assert sample(registry, "ml_prediction_requests_total", **key, status="error") == 1
    assert sample(registry, "ml_prediction_requests_total", **key, status="success") == 0
    assert sample(registry, "ml_prediction_latency_seconds_count", **key) == 1


def test_null_nan_and_absent_expected_features_count_as_missing(registry):
    monitor = ModelMonitor("credit", registry=registry, expected_features=["income", "age"])
    monitor.record({"income": None, "debt": math.nan, "city": "Oslo"}, 0)
    monitor.record({"income": 10.0, "age": 31, "debt": 2.0}, 0)

    def missing(feature):
        return sample(registry, "ml_feature_missing_total", model="credit", feature=feature)

    assert missing("income") == 1
    assert missing("debt") == 1
    assert missing("age") == 1
    assert missing("city") is None


def test_only_chosen_features_get_value_histograms(registry):
    buckets = Buckets(feature_values={"income": (10_000.0, 50_000.0, 100_000.0)})
    monitor = ModelMonitor(
        "credit", registry=registry, buckets=buckets, feature_histograms=["income", "age"]
    )
    monitor.record({"income": 42_000.0, "age": 0.5, "debt": 3.0}, 0)
    monitor.record({"income": None, "age": math.nan}, 0)

    income = {"model": "credit", "feature": "income"}
    assert sample(registry, "ml_feature_value_income_bucket", **income, le="10000.0") == 0
    assert sample(registry, "ml_feature_value_income_bucket", **income, le="50000.0") == 1
    assert sample(registry, "ml_feature_value_income_count", **income) == 1
    assert sample(registry, "ml_feature_value_count", model="credit", feature="age") == 1
    assert sample(registry, "ml_feature_value_count", model="credit", feature="debt") is None


def test_context_manager_records_the_output_given_inside_the_block(registry):
    monitor = ModelMonitor("credit", registry=registry)
    with monitor.predict({"income": 1.0}) as scope:
        scope.set("approve", score=0.7, predicted_class="approve")
    assert scope.id
    assert (
        sample(
            registry, "ml_prediction_confidence_count", model="credit", predicted_class="approve"
        )
        == 1
    )


def test_async_decorator_and_async_context_manager_record_like_sync(registry):
    monitor = ModelMonitor("credit", registry=registry)

    @monitor.track
    async def predict(features):
        await asyncio.sleep(0)
        return Prediction("deny", 0.6)

    async def main():
        await predict({"income": 1.0})
        async with monitor.predict({"income": 2.0}) as scope:
            await asyncio.sleep(0)
            scope.set("approve", 0.8)

    asyncio.run(main())
    key = {"model": "credit", "version": ""}
    assert sample(registry, "ml_prediction_requests_total", **key, status="success") == 2
    assert sample(registry, "ml_prediction_latency_seconds_count", **key) == 2


def test_features_are_found_by_name_on_methods_and_keyword_calls(registry):
    monitor = ModelMonitor("credit", registry=registry)

    class Model:
        @monitor.track(features_arg="row")
        def predict(self, row, threshold=0.5):
            return 1

    Model().predict({"income": None})
    Model().predict(row={"income": None})
    assert sample(registry, "ml_feature_missing_total", model="credit", feature="income") == 2


def test_unknown_features_argument_is_a_config_error(registry):
    monitor = ModelMonitor("credit", registry=registry)
    with pytest.raises(ConfigError, match=r"no argument 'feats'.*\['x'\]"):

        @monitor.track(features_arg="feats")
        def predict(x):
            return 1


def test_unbounded_class_labels_fold_into_other_with_one_warning(registry, caplog):
    monitor = ModelMonitor("pricing", registry=registry, max_label_values=3)
    with caplog.at_level(logging.WARNING, logger="mlvigil.telemetry"):
        for i in range(10):
            monitor.record({}, f"user-{i}", score=0.5)

    text = render_metrics(None, registry)[0].decode()
    series = [
        line for line in text.splitlines() if line.startswith("ml_prediction_confidence_count")
    ]
    assert len(series) == 4
    other = {"model": "pricing", "predicted_class": "__other__"}
    assert sample(registry, "ml_prediction_confidence_count", **other) == 7
    folded = {"metric": "ml_prediction_confidence", "label": "predicted_class"}
    assert sample(registry, "mlvigil_label_values_folded_total", **folded) == 7
    warnings = [r for r in caplog.records if "__other__" in r.getMessage()]
    assert len(warnings) == 1


def test_two_models_share_a_registry_without_collisions(registry):
    ModelMonitor("a", registry=registry).record({}, 1.0)
    ModelMonitor("b", registry=registry).record({}, 2.0)
    assert sample(registry, "ml_prediction_value_sum", model="a") == 1.0
    assert sample(registry, "ml_prediction_value_sum", model="b") == 2.0


def test_model_memory_gauge_is_set(registry):
    monitor = ModelMonitor("credit", version="2", registry=registry)
    monitor.set_model_memory(3_000_000)
    assert sample(registry, "ml_model_memory_bytes", model="credit", version="2") == 3_000_000


def test_non_increasing_buckets_are_rejected():
    with pytest.raises(ConfigError, match="increase strictly"):
        Buckets(latency=(0.1, 0.1, 1.0))
    with pytest.raises(ConfigError, match="empty"):
        Buckets(confidence=())


def test_traced_prediction_opens_a_span_and_links_it_as_the_latency_exemplar(registry, spans):
    provider, exporter = spans
    monitor = ModelMonitor(
        "credit", version="7", registry=registry, tracer=provider.get_tracer("t")
    )

    @monitor.track
    def predict(features):
        return {"prediction": "approve", "score": 0.9}

    predict({"income": 1.0})
    (span,) = exporter.get_finished_spans()
    assert span.name == "predict"
    assert span.attributes["ml.model.name"] == "credit"
    assert span.attributes["ml.prediction.value"] == "approve"
    assert span.attributes["ml.prediction.score"] == 0.9

    trace_id = format(span.context.trace_id, "032x")
    openmetrics, content_type = render_metrics("application/openmetrics-text", registry)
    assert content_type.startswith("application/openmetrics-text")
    exemplar_lines = [
        line
        for line in openmetrics.decode().splitlines()
        if line.startswith("ml_prediction_latency_seconds_bucket") and "# {" in line
    ]
    assert exemplar_lines
    assert all(f'trace_id="{trace_id}"' in line for line in exemplar_lines)
    classic, _ = render_metrics("text/plain", registry)
    assert b"trace_id" not in classic


def test_traced_failure_marks_the_span_as_error(registry, spans):
    provider, exporter = spans
    monitor = ModelMonitor("credit", registry=registry, tracer=provider.get_tracer("t"))
    with pytest.raises(RuntimeError), monitor.predict({"x": 1}):
        raise RuntimeError("boom")
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.events[0].name == "exception"
