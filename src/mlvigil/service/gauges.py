"""The latest results of every model as Prometheus gauges, read at scrape time.

One collector turns the most recent window's :class:`CheckResult` rows into gauges, so
Prometheus (and the alert rules built on it) sees exactly what the API reports:

- ``mlvigil_drift_score{model,column,method}``: the drift statistic;
- ``mlvigil_column_drifted{model,column}``: 1 when the column drifted;
- ``mlvigil_drift_share{model}``, ``mlvigil_dataset_drift{model}``;
- ``mlvigil_null_rate{model,column}``;
- ``mlvigil_quality_check_passed{model,check,metric,column}``: 1 passed, 0 failed;
- ``mlvigil_check_error{model,check,metric,column}``: 1 for every result that could not be
  computed (status ``error``; informational ones, such as a window waiting for labels,
  left out);
- ``mlvigil_performance{model,metric}`` (accuracy, f1, mae...), ``mlvigil_label_coverage``;
- ``mlvigil_segment_performance{model,segment,metric}``: the same per segment value;
- ``mlvigil_window_latency_seconds{model,quantile}``: p50, p95, p99 of the records' latency;
- ``mlvigil_window_rows{model}``, ``mlvigil_last_window_end_timestamp_seconds{model}``;
- ``mlvigil_label_lag_seconds{model}``: median time from prediction to label.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mlvigil.service.store import Store


class ResultGauges(Collector):
    """A prometheus-client collector over the store's latest results."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Build the gauges from the latest window of each model."""
        families = {
            "drift_score": GaugeMetricFamily(
                "mlvigil_drift_score",
                "Drift statistic per column, latest window.",
                labels=["model", "column", "method"],
            ),
            "drifted": GaugeMetricFamily(
                "mlvigil_column_drifted",
                "1 when the column drifted in the latest window.",
                labels=["model", "column"],
            ),
            "drift_share": GaugeMetricFamily(
                "mlvigil_drift_share",
                "Share of drifted columns, latest window.",
                labels=["model"],
            ),
            "dataset_drift": GaugeMetricFamily(
                "mlvigil_dataset_drift",
                "1 when the latest window drifted as a dataset.",
                labels=["model"],
            ),
            "null_rate": GaugeMetricFamily(
                "mlvigil_null_rate",
                "Share of null values per column, latest window.",
                labels=["model", "column"],
            ),
            "passed": GaugeMetricFamily(
                "mlvigil_quality_check_passed",
                "1 when the data-quality check passed in the latest window.",
                labels=["model", "check", "metric", "column"],
            ),
            "error": GaugeMetricFamily(
                "mlvigil_check_error",
                "1 when a check could not be computed in the latest window (see its message).",
                labels=["model", "check", "metric", "column"],
            ),
            "performance": GaugeMetricFamily(
                "mlvigil_performance",
                "Model performance on the latest window's labels.",
                labels=["model", "metric"],
            ),
            "coverage": GaugeMetricFamily(
                "mlvigil_label_coverage",
                "Share of the latest window's predictions labelled.",
                labels=["model"],
            ),
            "latency": GaugeMetricFamily(
                "mlvigil_window_latency_seconds",
                "Prediction latency quantiles over the latest window's records.",
                labels=["model", "quantile"],
            ),
            "segment_performance": GaugeMetricFamily(
                "mlvigil_segment_performance",
                "Model performance on one segment of the latest labelled window.",
                labels=["model", "segment", "metric"],
            ),
        }
        for row in self.store.latest_results():
            _add(families, row)
        rows = GaugeMetricFamily(
            "mlvigil_window_rows", "Predictions in the latest evaluated window.", labels=["model"]
        )
        last = GaugeMetricFamily(
            "mlvigil_last_window_end_timestamp_seconds",
            "End of the latest evaluated window (Unix time).",
            labels=["model"],
        )
        lag = GaugeMetricFamily(
            "mlvigil_label_lag_seconds",
            "Median time from a prediction to its label, over recent labels.",
            labels=["model"],
        )
        for model in self.store.models:
            seconds = self.store.label_lag(model)
            if seconds is not None:
                lag.add_metric([model], seconds)
            windows = self.store.windows(model)
            if windows:
                rows.add_metric([model], windows[-1].rows)
                last.add_metric([model], windows[-1].end.timestamp())
        yield from families.values()
        yield rows
        yield last
        yield lag


def _add(families: dict[str, GaugeMetricFamily], row: dict[str, object]) -> None:
    model, check, metric = str(row["model"]), str(row["check"]), str(row["metric"])
    column = "" if row["column"] is None else str(row["column"])
    value = row["value"]
    failed = 1.0 if row["status"] == "failed" else 0.0
    if row.get("segment") is not None:
        if check == "performance" and isinstance(value, float):
            families["segment_performance"].add_metric([model, str(row["segment"]), metric], value)
        return
    if row["status"] == "error" and row["severity"] != "info":
        families["error"].add_metric([model, check, metric, column], 1.0)
    if check == "serving":
        if isinstance(value, float):
            quantile = int(metric.removeprefix("latency_p").removesuffix("_ms")) / 100
            families["latency"].add_metric([model, f"{quantile:g}"], value / 1000)
    elif check == "drift":
        if metric == "drift_share":
            if isinstance(value, float):
                families["drift_share"].add_metric([model], value)
                families["dataset_drift"].add_metric([model], failed)
        elif isinstance(value, float):
            families["drift_score"].add_metric([model, column, metric], value)
            families["drifted"].add_metric([model, column], failed)
    elif check == "performance":
        if not isinstance(value, float):
            return
        if metric == "label_coverage":
            families["coverage"].add_metric([model], value)
        else:
            families["performance"].add_metric([model, metric], value)
    else:
        if metric == "null_rate" and isinstance(value, float):
            families["null_rate"].add_metric([model, column], value)
        if row["status"] != "error":
            families["passed"].add_metric([model, check, metric, column], 1.0 - failed)
