"""Instrumentation SDK: Prometheus metrics, OpenTelemetry traces, JSON logs, prediction logging.

A model server needs three things from this package: a :class:`ModelMonitor` around its
predict function, :func:`configure_logging` and :func:`configure_tracing` at start-up,
and a prediction logger (:func:`create_prediction_logger`) that ships every prediction
to the mlvigil service or to local Parquet files. Pipelines use :class:`PipelineMonitor`.
Names are imported on first use, so importing the package costs nothing.

Examples
--------
>>> from prometheus_client import CollectorRegistry
>>> from mlvigil.telemetry import ModelMonitor
>>> monitor = ModelMonitor("churn", registry=CollectorRegistry())
>>> with monitor.predict({"tenure": 3}) as scope:
...     scope.set("stay", score=0.9)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlvigil.telemetry.cardinality import LabelGuard
    from mlvigil.telemetry.exposition import (
        metrics_endpoint,
        multiprocess_enabled,
        render_metrics,
    )
    from mlvigil.telemetry.metrics import Buckets, PipelineMetrics, ServingMetrics
    from mlvigil.telemetry.monitor import ModelMonitor, Prediction, PredictionScope
    from mlvigil.telemetry.pipeline import PipelineMonitor, StageScope
    from mlvigil.telemetry.prediction_log import (
        LabelRecord,
        PredictionLogger,
        PredictionRecord,
        RetryPolicy,
        create_prediction_logger,
        new_prediction_id,
    )
    from mlvigil.telemetry.sinks import (
        HttpSink,
        ParquetSink,
        RejectedBatchError,
        Sink,
        TransientSinkError,
    )

_MODULES = {
    "cardinality": ["LabelGuard"],
    "exposition": ["metrics_endpoint", "multiprocess_enabled", "render_metrics"],
    "metrics": ["Buckets", "PipelineMetrics", "ServingMetrics"],
    "monitor": ["ModelMonitor", "Prediction", "PredictionScope"],
    "pipeline": ["PipelineMonitor", "StageScope"],
    "prediction_log": [
        "LabelRecord",
        "PredictionLogger",
        "PredictionRecord",
        "RetryPolicy",
        "create_prediction_logger",
        "new_prediction_id",
    ],
    "sinks": ["HttpSink", "ParquetSink", "RejectedBatchError", "Sink", "TransientSinkError"],
}
_HOMES = {
    name: f"mlvigil.telemetry.{module}" for module, names in _MODULES.items() for name in names
}

__all__ = [
    "Buckets",
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
    "RejectedBatchError",
    "RetryPolicy",
    "ServingMetrics",
    "Sink",
    "StageScope",
    "TransientSinkError",
    "create_prediction_logger",
    "metrics_endpoint",
    "multiprocess_enabled",
    "new_prediction_id",
    "render_metrics",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mlvigil.telemetry' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
