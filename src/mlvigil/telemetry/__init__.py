"""Instrumentation SDK: Prometheus metrics, OpenTelemetry traces, JSON logs, prediction logging.

A model server needs three things from this package: a :class:`ModelMonitor` around its
predict function, :func:`configure_logging` and :func:`configure_tracing` at start-up,
and a prediction logger (:func:`create_prediction_logger`) that ships every prediction
to the mlvigil service or to local Parquet files. Pipelines use :class:`PipelineMonitor`.
Host and GPU metrics are one call away: ``configure_metrics(host=True)`` at start-up or
``monitor.collect_host_metrics()``. Names are imported on first use, so importing the
package costs nothing.

Examples
--------
>>> from prometheus_client import CollectorRegistry
>>> from mlvigil.telemetry import ModelMonitor
>>> monitor = ModelMonitor("churn", registry=CollectorRegistry())
>>> with monitor.predict({"tenure": 3}) as scope:
...     scope.set("stay", score=0.9)
"""

from __future__ import annotations

import typing

from mlvigil._lazy import lazy_exports as _lazy_exports

if typing.TYPE_CHECKING:
    from mlvigil.telemetry.cardinality import LabelGuard
    from mlvigil.telemetry.correlation import (
        REQUEST_ID_HEADER,
        CorrelationIdMiddleware,
        bind_request_id,
        current_request_id,
        request_context,
    )
    from mlvigil.telemetry.exposition import (
        metrics_endpoint,
        multiprocess_enabled,
        render_metrics,
    )
    from mlvigil.telemetry.gpu import GpuCollector
    from mlvigil.telemetry.host import HostCollector, HostMetrics, register_host_metrics
    from mlvigil.telemetry.logs import add_trace_context, configure_logging, get_logger
    from mlvigil.telemetry.metrics import (
        Buckets,
        PipelineMetrics,
        ServingMetrics,
        configure_metrics,
    )
    from mlvigil.telemetry.monitor import ModelMonitor, Prediction, PredictionScope
    from mlvigil.telemetry.pipeline import PipelineMonitor, StageScope
    from mlvigil.telemetry.prediction_log import (
        PredictionLogger,
        RetryPolicy,
        create_prediction_logger,
    )
    from mlvigil.telemetry.records import (
        LabelRecord,
        PredictionRecord,
        RejectedBatchError,
        Sink,
        TransientSinkError,
        new_prediction_id,
    )
    from mlvigil.telemetry.redaction import Redactor, redact_text
    from mlvigil.telemetry.sinks import HttpSink, ParquetSink
    from mlvigil.telemetry.tracing import (
        configure_tracing,
        current_trace_ids,
        get_tracer,
        inference,
        inject_trace_headers,
        instrument_fastapi,
        instrument_httpx_client,
        postprocessing,
        preprocessing,
        span,
        trace_exemplar,
    )

_MODULES = {
    "cardinality": ["LabelGuard"],
    "correlation": [
        "REQUEST_ID_HEADER",
        "CorrelationIdMiddleware",
        "bind_request_id",
        "current_request_id",
        "request_context",
    ],
    "exposition": ["metrics_endpoint", "multiprocess_enabled", "render_metrics"],
    "gpu": ["GpuCollector"],
    "host": ["HostCollector", "HostMetrics", "register_host_metrics"],
    "logs": ["add_trace_context", "configure_logging", "get_logger"],
    "metrics": ["Buckets", "PipelineMetrics", "ServingMetrics", "configure_metrics"],
    "monitor": ["ModelMonitor", "Prediction", "PredictionScope"],
    "pipeline": ["PipelineMonitor", "StageScope"],
    "prediction_log": ["PredictionLogger", "RetryPolicy", "create_prediction_logger"],
    "records": [
        "LabelRecord",
        "PredictionRecord",
        "RejectedBatchError",
        "Sink",
        "TransientSinkError",
        "new_prediction_id",
    ],
    "redaction": ["Redactor", "redact_text"],
    "sinks": ["HttpSink", "ParquetSink"],
    "tracing": [
        "configure_tracing",
        "current_trace_ids",
        "get_tracer",
        "inference",
        "inject_trace_headers",
        "instrument_fastapi",
        "instrument_httpx_client",
        "postprocessing",
        "preprocessing",
        "span",
        "trace_exemplar",
    ],
}
_HOMES = {
    name: f"mlvigil.telemetry.{module}" for module, names in _MODULES.items() for name in names
}

__all__ = [
    "Buckets",
    "CorrelationIdMiddleware",
    "GpuCollector",
    "HostCollector",
    "HostMetrics",
    "HttpSink",
    "LabelGuard",
    "LabelRecord",
    "ModelMonitor",
    "ParquetSink",
    "PipelineMetrics",
    "PipelineMonitor",
    "Prediction",
    "PredictionLogger",
    "PredictionRecord",
    "PredictionScope",
    "REQUEST_ID_HEADER",
    "Redactor",
    "RejectedBatchError",
    "RetryPolicy",
    "ServingMetrics",
    "Sink",
    "StageScope",
    "TransientSinkError",
    "add_trace_context",
    "bind_request_id",
    "configure_logging",
    "configure_metrics",
    "configure_tracing",
    "create_prediction_logger",
    "current_request_id",
    "current_trace_ids",
    "get_logger",
    "get_tracer",
    "inference",
    "inject_trace_headers",
    "instrument_fastapi",
    "instrument_httpx_client",
    "metrics_endpoint",
    "multiprocess_enabled",
    "new_prediction_id",
    "postprocessing",
    "preprocessing",
    "redact_text",
    "register_host_metrics",
    "render_metrics",
    "request_context",
    "span",
    "trace_exemplar",
]


__getattr__, __dir__ = _lazy_exports(__name__, _HOMES, __all__)
