"""Per-prediction overhead of the instrumentation SDK, in microseconds.

Each variant times one call per prediction with ``perf_counter_ns`` (the timer's own
cost, measured on an empty call, is subtracted) for a 20-feature record:

- ``mlvigil``: ``ModelMonitor.record`` — request counter, latency histogram,
  confidence histogram, prediction summary, missing-feature scan, and the record
  enqueued on a real ``PredictionLogger`` whose flusher writes Parquet in the
  background;
- ``mlvigil_tracked``: the ``@monitor.track`` decorator around a no-op predict
  function (timing, output parsing and the above), minus the bare function call;
- ``mlvigil_traced``: the same decorator with a ``predict`` span on a real SDK tracer
  provider (batch processor, exporter discarding the spans);
- ``per_feature_pattern``: the seeds' instrumented endpoint — one labelled
  ``Histogram.observe`` per feature plus labelled request, confidence, value and
  latency metrics, without any prediction logging.

Prints one JSON object: p50 and p99 per variant (median over ``--runs`` runs), the
ratio of the per-feature pattern's p50 to mlvigil's, and the process's peak RSS (the
prediction logger's queue holds up to ``4 x --calls`` records).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry, Counter, Histogram, Summary

from mlvigil.telemetry.monitor import ModelMonitor
from mlvigil.telemetry.prediction_log import PredictionLogger

FEATURES = {f"feature_{i}": float(i) * 0.37 for i in range(20)}


class _Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def percentiles(call: Callable[[], object], calls: int, timer_cost_ns: float) -> dict[str, float]:
    durations = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        start = clock()
        call()
        durations.append(clock() - start)
    durations.sort()
    return {
        "p50_us": round((durations[len(durations) // 2] - timer_cost_ns) / 1000, 3),
        "p99_us": round((durations[int(len(durations) * 0.99)] - timer_cost_ns) / 1000, 3),
    }


def timer_cost(calls: int) -> float:
    clock = time.perf_counter_ns
    durations = []

    def nothing() -> None:
        pass

    for _ in range(calls):
        start = clock()
        nothing()
        durations.append(clock() - start)
    return statistics.median(durations)


def seeds_pattern(registry: CollectorRegistry) -> Callable[[], object]:
    requests = Counter(
        "ml_prediction_requests", "", ["model_name", "model_version", "status"], registry=registry
    )
    latency = Histogram("ml_prediction_latency_seconds", "", ["model_name"], registry=registry)
    confidence = Histogram(
        "ml_prediction_confidence", "", ["model_name", "predicted_class"], registry=registry
    )
    value = Summary("ml_prediction_value", "", ["model_name"], registry=registry)
    feature_value = Histogram("ml_feature_value", "", ["feature_name"], registry=registry)

    def instrumented() -> None:
        start = time.perf_counter()
        for name, feature in FEATURES.items():
            feature_value.labels(feature_name=name).observe(feature)
        requests.labels(model_name="m", model_version="1", status="success").inc()
        confidence.labels(model_name="m", predicted_class="1").observe(0.9)
        value.labels(model_name="m").observe(1)
        latency.labels(model_name="m").observe(time.perf_counter() - start)

    return instrumented


def measure(calls: int, directory: Path) -> dict[str, dict[str, float]]:
    cost = timer_cost(calls)
    results: dict[str, dict[str, float]] = {}
    logger = PredictionLogger.to_parquet(directory, capacity=4 * calls, batch_size=10_000)
    try:
        monitor = ModelMonitor(
            "m", version="1", registry=CollectorRegistry(), prediction_logger=logger
        )
        results["mlvigil"] = percentiles(
            lambda: monitor.record(FEATURES, 1, score=0.9, latency_s=0.002), calls, cost
        )

        def bare(features: dict[str, float]) -> dict[str, float]:
            return {"prediction": 1, "score": 0.9}

        tracked = monitor.track(bare)
        bare_cost = percentiles(lambda: bare(FEATURES), calls, cost)["p50_us"] * 1000
        results["mlvigil_tracked"] = percentiles(lambda: tracked(FEATURES), calls, cost + bare_cost)

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(_Discard(), max_queue_size=4 * calls))
        traced_monitor = ModelMonitor(
            "m",
            version="1",
            registry=CollectorRegistry(),
            prediction_logger=logger,
            tracer=provider.get_tracer("bench"),
        )
        traced = traced_monitor.track(bare)
        results["mlvigil_traced"] = percentiles(lambda: traced(FEATURES), calls, cost + bare_cost)
        provider.shutdown()
    finally:
        logger.close()
    results["per_feature_pattern"] = percentiles(seeds_pattern(CollectorRegistry()), calls, cost)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000, help="predictions per run")
    parser.add_argument("--runs", type=int, default=5, help="runs; figures are medians")
    args = parser.parse_args(argv)

    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", file=sys.stderr)
        with tempfile.TemporaryDirectory() as directory:
            runs.append(measure(args.calls, Path(directory)))
    summary = {
        variant: {
            stat: statistics.median_low(r[variant][stat] for r in runs)
            for stat in ("p50_us", "p99_us")
        }
        for variant in runs[0]
    }
    print(
        json.dumps(
            {
                "calls_per_run": args.calls,
                "runs": args.runs,
                "features": len(FEATURES),
                "median": summary,
                "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "per_feature_pattern_vs_mlvigil_p50": round(
                    summary["per_feature_pattern"]["p50_us"] / summary["mlvigil"]["p50_us"], 1
                ),
                "all_runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
