"""The standard ML metric set, created once per Prometheus registry.

Names follow the Prometheus conventions (base units, ``_total`` counters, ``_seconds``,
``_bytes``) and match what the tutorials our users come from already chart and alert
on (``ml_prediction_requests_total``, ``ml_prediction_latency_seconds`` ...).

Serving metrics (labels)

- ``ml_prediction_requests_total`` (model, version, status): predictions by outcome.
- ``ml_prediction_latency_seconds`` (model, version): histogram; carries the trace id
  as an exemplar when tracing is on and OpenMetrics is negotiated.
- ``ml_prediction_confidence`` (model, predicted_class): histogram of scores.
- ``ml_prediction_value`` (model): summary of numeric predictions.
- ``ml_feature_missing_total`` (model, feature): null, NaN or absent feature values.
- ``ml_feature_value`` (model, feature): histogram, only for features you choose.
- ``ml_model_memory_bytes`` (model, version): gauge you set.

Pipeline metrics (labels)

- ``ml_pipeline_records_processed_total`` (pipeline, stage, status).
- ``ml_pipeline_runs_total`` (pipeline, status) and ``ml_pipeline_active_runs`` (pipeline).
- ``ml_pipeline_run_duration_seconds`` (pipeline) and
  ``ml_pipeline_stage_duration_seconds`` (pipeline, stage): histograms.
- ``ml_data_last_updated_timestamp_seconds`` (dataset): when the data last changed;
  freshness is ``time() - ml_data_last_updated_timestamp_seconds`` in PromQL, which,
  unlike an "age" gauge, stays right between updates.
- ``ml_feature_null_ratio`` (dataset, feature).

In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set) gauges aggregate across worker
processes: memory and active runs are summed over live workers, timestamps and null
ratios take the most recent value.

Host and GPU metrics (``mlvigil_host_*``, ``mlvigil_gpu_*``; see
:mod:`mlvigil.telemetry.host` and :mod:`mlvigil.telemetry.gpu`) are opt-in, with
:func:`configure_metrics` at start-up or :meth:`ModelMonitor.collect_host_metrics
<mlvigil.telemetry.monitor.ModelMonitor.collect_host_metrics>`.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary

from mlvigil.exceptions import ConfigError
from mlvigil.telemetry._registry import shared_collector

if TYPE_CHECKING:
    from mlvigil.telemetry.host import HostMetrics

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
FEATURE_VALUE_BUCKETS = (-10.0, -1.0, -0.1, 0.0, 0.1, 0.5, 1.0, 5.0, 10.0, 100.0, 1000.0)
STAGE_DURATION_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
RUN_DURATION_BUCKETS = (1.0, 10.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0)


def _checked(name: str, bounds: tuple[float, ...]) -> tuple[float, ...]:
    if not bounds:
        raise ConfigError(f"{name} buckets are empty; give at least one upper bound")
    if any(later <= earlier for earlier, later in itertools.pairwise(bounds)):
        raise ConfigError(f"{name} buckets must increase strictly, got {list(bounds)}")
    return tuple(float(b) for b in bounds)


@dataclass(frozen=True)
class Buckets:
    """Histogram bucket upper bounds (``+Inf`` is added by Prometheus).

    Parameters
    ----------
    latency
        Prediction latency in seconds: 1 ms to 10 s by default.
    confidence
        Prediction scores in [0, 1], finer near 1 where confident models live.
    feature_value
        Default bounds for feature-value histograms.
    feature_values
        Bounds for particular features, by name; others use ``feature_value``.
    stage_duration, run_duration
        Pipeline stage and run durations in seconds.

    Examples
    --------
    >>> Buckets(latency=(0.005, 0.05, 0.5)).latency
    (0.005, 0.05, 0.5)
    """

    latency: tuple[float, ...] = LATENCY_BUCKETS
    confidence: tuple[float, ...] = CONFIDENCE_BUCKETS
    feature_value: tuple[float, ...] = FEATURE_VALUE_BUCKETS
    feature_values: dict[str, tuple[float, ...]] = field(default_factory=dict)
    stage_duration: tuple[float, ...] = STAGE_DURATION_BUCKETS
    run_duration: tuple[float, ...] = RUN_DURATION_BUCKETS

    def __post_init__(self) -> None:
        for name in ("latency", "confidence", "feature_value", "stage_duration", "run_duration"):
            object.__setattr__(self, name, _checked(name, getattr(self, name)))
        checked = {
            feature: _checked(f"feature_values[{feature!r}]", bounds)
            for feature, bounds in self.feature_values.items()
        }
        object.__setattr__(self, "feature_values", checked)

    def for_feature(self, feature: str) -> tuple[float, ...]:
        """Bucket bounds for one feature's value histogram."""
        return self.feature_values.get(feature, self.feature_value)


@dataclass(frozen=True)
class ServingMetrics:
    """The model-serving collectors on one registry; see the module docstring."""

    requests: Counter
    latency: Histogram
    confidence: Histogram
    prediction_value: Summary
    feature_missing: Counter
    model_memory: Gauge

    @classmethod
    def on(cls, registry: CollectorRegistry | None, buckets: Buckets) -> ServingMetrics:
        """Create the collectors on ``registry``, or return the ones already there.

        Bucket layouts apply when the collectors are first created on a registry.
        """
        return cls(
            requests=shared_collector(
                Counter,
                "ml_prediction_requests",
                "Prediction requests by model, version and outcome.",
                ("model", "version", "status"),
                registry=registry,
            ),
            latency=shared_collector(
                Histogram,
                "ml_prediction_latency_seconds",
                "Time to serve one prediction.",
                ("model", "version"),
                registry=registry,
                buckets=buckets.latency,
            ),
            confidence=shared_collector(
                Histogram,
                "ml_prediction_confidence",
                "Prediction score (confidence) by predicted class.",
                ("model", "predicted_class"),
                registry=registry,
                buckets=buckets.confidence,
            ),
            prediction_value=shared_collector(
                Summary,
                "ml_prediction_value",
                "Numeric prediction values.",
                ("model",),
                registry=registry,
            ),
            feature_missing=shared_collector(
                Counter,
                "ml_feature_missing",
                "Feature values that were null, NaN or absent.",
                ("model", "feature"),
                registry=registry,
            ),
            model_memory=shared_collector(
                Gauge,
                "ml_model_memory_bytes",
                "Memory held by the loaded model.",
                ("model", "version"),
                registry=registry,
                multiprocess_mode="livesum",
            ),
        )

    @staticmethod
    def feature_histogram(
        registry: CollectorRegistry | None, feature: str, buckets: Buckets
    ) -> Histogram:
        """The ``ml_feature_value`` histogram for ``feature``.

        Each feature with its own bucket layout gets its own collector name, because
        one Prometheus metric family has one bucket layout.
        """
        custom = feature in buckets.feature_values
        name = f"ml_feature_value_{_metric_safe(feature)}" if custom else "ml_feature_value"
        return shared_collector(
            Histogram,
            name,
            "Feature values of the features chosen for histograms.",
            ("model", "feature"),
            registry=registry,
            buckets=buckets.for_feature(feature),
        )


@dataclass(frozen=True)
class PipelineMetrics:
    """The data-pipeline collectors on one registry; see the module docstring."""

    records: Counter
    runs: Counter
    active_runs: Gauge
    run_duration: Histogram
    stage_duration: Histogram
    last_updated: Gauge
    null_ratio: Gauge

    @classmethod
    def on(cls, registry: CollectorRegistry | None, buckets: Buckets) -> PipelineMetrics:
        """Create the collectors on ``registry``, or return the ones already there."""
        return cls(
            records=shared_collector(
                Counter,
                "ml_pipeline_records_processed",
                "Records processed by pipeline, stage and outcome.",
                ("pipeline", "stage", "status"),
                registry=registry,
            ),
            runs=shared_collector(
                Counter,
                "ml_pipeline_runs",
                "Pipeline runs by outcome.",
                ("pipeline", "status"),
                registry=registry,
            ),
            active_runs=shared_collector(
                Gauge,
                "ml_pipeline_active_runs",
                "Pipeline runs in progress.",
                ("pipeline",),
                registry=registry,
                multiprocess_mode="livesum",
            ),
            run_duration=shared_collector(
                Histogram,
                "ml_pipeline_run_duration_seconds",
                "Wall time of whole pipeline runs.",
                ("pipeline",),
                registry=registry,
                buckets=buckets.run_duration,
            ),
            stage_duration=shared_collector(
                Histogram,
                "ml_pipeline_stage_duration_seconds",
                "Wall time of pipeline stages.",
                ("pipeline", "stage"),
                registry=registry,
                buckets=buckets.stage_duration,
            ),
            last_updated=shared_collector(
                Gauge,
                "ml_data_last_updated_timestamp_seconds",
                "When the dataset last received new data (Unix time).",
                ("dataset",),
                registry=registry,
                multiprocess_mode="mostrecent",
            ),
            null_ratio=shared_collector(
                Gauge,
                "ml_feature_null_ratio",
                "Share of null or NaN values of a feature in the latest data.",
                ("dataset", "feature"),
                registry=registry,
                multiprocess_mode="mostrecent",
            ),
        )


def configure_metrics(
    registry: CollectorRegistry | None = None,
    *,
    host: bool = False,
    gpu: bool = True,
    path: str | os.PathLike[str] | None = None,
    nvml: Any = None,
) -> HostMetrics | None:
    """Set up the process's metrics at start-up: today, whether to export host metrics.

    Calling it again, or after :meth:`ModelMonitor.collect_host_metrics
    <mlvigil.telemetry.monitor.ModelMonitor.collect_host_metrics>` on the same
    registry, registers nothing twice.

    Parameters
    ----------
    registry
        The registry ``/metrics`` serves; the global one when omitted.
    host
        Export the host's CPU, memory, disk, filesystem and network metrics
        (``mlvigil_host_*``), read at each scrape. ``False`` registers nothing, so a
        start-up script can pass a setting through (``host=settings.host_metrics``).
    gpu
        With ``host``, also export GPU metrics through NVML (``mlvigil_gpu_*``). Without
        a GPU, a driver or ``pip install 'mlvigil[gpu]'``, only
        ``mlvigil_gpu_available 0`` and its reason are exported.
    path
        A path on the filesystem whose usage to export; the working directory when
        omitted.
    nvml
        An NVML module to use instead of ``pynvml`` (tests pass a fake).

    Returns
    -------
    The host (and GPU) collectors now on ``registry``, or ``None`` without ``host``.

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry
    >>> registry = CollectorRegistry()
    >>> metrics = configure_metrics(registry, host=True, gpu=False)
    >>> registry.get_sample_value("mlvigil_host_memory_total_bytes") > 0
    True
    >>> configure_metrics(registry, host=True, gpu=False) is metrics
    True
    """
    if not host:
        return None
    # Imported here: psutil (and NVML) load only for servers that ask for host metrics.
    from mlvigil.telemetry.host import register_host_metrics

    return register_host_metrics(registry, gpu=gpu, path=path, nvml=nvml)


def _metric_safe(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in text)
