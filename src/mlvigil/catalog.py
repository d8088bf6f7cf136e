"""Every Prometheus metric mlvigil's results are exported as: one catalog.

The service's ``/metrics`` (:mod:`mlvigil.service.gauges`), the batch export
(:func:`mlvigil.export_to_prometheus`), the Prometheus rules (``mlvigil rules
export``) and the Grafana dashboard (``mlvigil grafana export``) all take names and
labels from here, so a rule or a panel can never query a series nothing exports.

Results of a window become these gauges (``model`` is the model's name, or the
dataset's for the batch export):

=============================================  ==================================
series                                          from
=============================================  ==================================
``mlvigil_drift_score{model,column,method}``    a column's drift statistic
``mlvigil_column_drifted{model,column}``        1 when the column drifted
``mlvigil_drift_share{model}``                  share of drifted columns
``mlvigil_dataset_drift{model}``                1 when the dataset drifted
``mlvigil_null_rate{model,column}``             completeness
``mlvigil_duplicate_rate{model,column}``        uniqueness
``mlvigil_data_freshness_hours{model}``         freshness
``mlvigil_quality_check_passed{...}``           1 when every data-quality result with
                                                those labels passed, 0 otherwise
``mlvigil_check_error{...}``                    1 for a result that could not be computed
``mlvigil_performance{model,metric}``           accuracy, f1, mae...
``mlvigil_label_coverage{model}``               share of predictions labelled
``mlvigil_segment_performance{...}``            performance of one segment value
``mlvigil_window_latency_seconds{...}``         records' latency quantiles
=============================================  ==================================

The service adds ``mlvigil_window_rows``, ``mlvigil_last_window_end_timestamp_seconds``,
``mlvigil_label_lag_seconds`` and the counters ``mlvigil_rows_ingested_total``,
``mlvigil_labels_unknown_ids_total`` and ``mlvigil_rows_rejected_total``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BUSINESS_METRIC",
    "CANARY_VERDICT",
    "CHECK_ERROR",
    "COLUMN_DRIFTED",
    "DATASET_DRIFT",
    "DATA_FRESHNESS_HOURS",
    "DRIFT_SCORE",
    "DRIFT_SHARE",
    "DUPLICATE_RATE",
    "ESTIMATED_PERFORMANCE",
    "LABELS_UNKNOWN_IDS",
    "LABEL_COVERAGE",
    "MULTIVARIATE_DRIFT",
    "LABEL_LAG_SECONDS",
    "LAST_WINDOW_END",
    "METRICS",
    "NULL_RATE",
    "PERFORMANCE",
    "QUALITY_CHECK_PASSED",
    "RESULT_METRICS",
    "ROWS_INGESTED",
    "ROWS_REJECTED",
    "SEGMENT_BUSINESS_METRIC",
    "SEGMENT_DATASET_DRIFT",
    "SEGMENT_PERFORMANCE",
    "SLO_BURN_RATE",
    "SLO_ERROR_BUDGET_REMAINING",
    "SLO_METRICS",
    "SLO_OBJECTIVE",
    "SLO_SLI_GOOD",
    "VERSION_DIFFERENCE",
    "VERSION_METRICS",
    "WINDOW_LATENCY_SECONDS",
    "WINDOW_ROWS",
    "Metric",
]


@dataclass(frozen=True, slots=True)
class Metric:
    """One exported metric: its name, type, labels and help text.

    Examples
    --------
    >>> DRIFT_SHARE.name, DRIFT_SHARE.labels
    ('mlvigil_drift_share', ('model',))
    >>> ROWS_INGESTED.series
    'mlvigil_rows_ingested_total'
    """

    name: str
    kind: Literal["gauge", "counter"]
    labels: tuple[str, ...]
    help: str

    @property
    def series(self) -> str:
        """The name the series has in an exposition (counters end in ``_total``)."""
        return f"{self.name}_total" if self.kind == "counter" else self.name

    def __str__(self) -> str:
        return self.series


def _gauge(name: str, labels: tuple[str, ...], text: str) -> Metric:
    return Metric(name, "gauge", labels, text)


DRIFT_SCORE = _gauge(
    "mlvigil_drift_score",
    ("model", "column", "method"),
    "Drift statistic per column, latest window.",
)
COLUMN_DRIFTED = _gauge(
    "mlvigil_column_drifted", ("model", "column"), "1 when the column drifted in the latest window."
)
DRIFT_SHARE = _gauge("mlvigil_drift_share", ("model",), "Share of drifted columns, latest window.")
DATASET_DRIFT = _gauge(
    "mlvigil_dataset_drift", ("model",), "1 when the latest window drifted as a dataset."
)
NULL_RATE = _gauge(
    "mlvigil_null_rate", ("model", "column"), "Share of null values per column, latest window."
)
DUPLICATE_RATE = _gauge(
    "mlvigil_duplicate_rate", ("model", "column"), "Share of rows repeating a key, latest window."
)
DATA_FRESHNESS_HOURS = _gauge(
    "mlvigil_data_freshness_hours", ("model",), "Age of the newest timestamp, in hours."
)
QUALITY_CHECK_PASSED = _gauge(
    "mlvigil_quality_check_passed",
    ("model", "check", "metric", "column"),
    "1 when every data-quality result with these labels passed in the latest window, else 0.",
)
CHECK_ERROR = _gauge(
    "mlvigil_check_error",
    ("model", "check", "metric", "column"),
    "1 when a check could not be computed in the latest window (see its message).",
)
PERFORMANCE = _gauge(
    "mlvigil_performance", ("model", "metric"), "Model performance on the latest window's labels."
)
LABEL_COVERAGE = _gauge(
    "mlvigil_label_coverage", ("model",), "Share of the latest window's predictions labelled."
)
SEGMENT_PERFORMANCE = _gauge(
    "mlvigil_segment_performance",
    ("model", "segment", "metric"),
    "Model performance on one segment of the latest labelled window.",
)
ESTIMATED_PERFORMANCE = _gauge(
    "mlvigil_estimated_performance",
    ("model", "metric"),
    "Model performance estimated without labels on the latest window.",
)
MULTIVARIATE_DRIFT = _gauge(
    "mlvigil_multivariate_drift",
    ("model", "method"),
    "Multivariate drift value (PCA reconstruction error, domain classifier ROC AUC), "
    "latest window.",
)
SEGMENT_DATASET_DRIFT = _gauge(
    "mlvigil_segment_dataset_drift",
    ("model", "segment"),
    "1 when one segment of the latest window drifted as a dataset.",
)
BUSINESS_METRIC = _gauge(
    "mlvigil_business_metric",
    ("model", "metric"),
    "A business outcome over the latest window: its rate or mean, and its sum.",
)
SEGMENT_BUSINESS_METRIC = _gauge(
    "mlvigil_segment_business_metric",
    ("model", "segment", "metric"),
    "A business outcome over one segment (or model version) of the latest window.",
)
VERSION_DIFFERENCE = _gauge(
    "mlvigil_version_difference",
    ("model", "segment", "metric"),
    "A version (segment model_version=...) minus the baseline version, latest window.",
)
CANARY_VERDICT = _gauge(
    "mlvigil_canary_verdict",
    ("model", "segment"),
    "A canary version's verdict in the latest window: 1 pass, 0 inconclusive, -1 fail.",
)
WINDOW_LATENCY_SECONDS = _gauge(
    "mlvigil_window_latency_seconds",
    ("model", "quantile"),
    "Prediction latency quantiles over the latest window's records.",
)
WINDOW_ROWS = _gauge(
    "mlvigil_window_rows", ("model",), "Predictions in the latest evaluated window."
)
LAST_WINDOW_END = _gauge(
    "mlvigil_last_window_end_timestamp_seconds",
    ("model",),
    "End of the latest evaluated window (Unix time).",
)
LABEL_LAG_SECONDS = _gauge(
    "mlvigil_label_lag_seconds",
    ("model",),
    "Median time from a prediction to its label, over recent labels.",
)
ROWS_INGESTED = Metric(
    "mlvigil_rows_ingested",
    "counter",
    ("model", "kind"),
    "Rows committed to the store, by model and kind (predictions, labels).",
)
LABELS_UNKNOWN_IDS = Metric(
    "mlvigil_labels_unknown_ids",
    "counter",
    ("model",),
    "Labels whose prediction id was not (yet) in the store.",
)
ROWS_REJECTED = Metric(
    "mlvigil_rows_rejected",
    "counter",
    ("model", "reason"),
    "Rows of refused batches, by model and reason (invalid, not_finite, too_long, too_old, "
    "in_future; batch: a good row refused with its batch).",
)

SLO_SLI_GOOD = _gauge(
    "mlvigil_slo_sli_good",
    ("slo", "model"),
    "1 while the newest window with a verdict meets the SLO's SLI, 0 while not (model SLIs).",
)
SLO_ERROR_BUDGET_REMAINING = _gauge(
    "mlvigil_slo_error_budget_remaining",
    ("slo", "model"),
    "Share of the SLO's error budget left over its period (negative when overspent).",
)
SLO_BURN_RATE = _gauge(
    "mlvigil_slo_burn_rate",
    ("slo", "model", "window"),
    "How many times faster than the period allows the SLO's error budget burns, per window.",
)
SLO_OBJECTIVE = _gauge(
    "mlvigil_slo_objective", ("slo", "model"), "The SLO's objective, as a ratio (0.999)."
)
#: The SLO gauges the service exports (model SLIs, evaluated from stored results).
SLO_METRICS: tuple[Metric, ...] = (
    SLO_SLI_GOOD,
    SLO_ERROR_BUDGET_REMAINING,
    SLO_BURN_RATE,
    SLO_OBJECTIVE,
)

#: The gauges of model versions and business outcomes (exported once a model declares
#: outcomes or a window holds two versions).
VERSION_METRICS: tuple[Metric, ...] = (
    BUSINESS_METRIC,
    SEGMENT_BUSINESS_METRIC,
    VERSION_DIFFERENCE,
    CANARY_VERDICT,
)

#: The gauges built from check results, by the service and by the batch export alike.
RESULT_METRICS: tuple[Metric, ...] = (
    DRIFT_SCORE,
    COLUMN_DRIFTED,
    DRIFT_SHARE,
    DATASET_DRIFT,
    NULL_RATE,
    DUPLICATE_RATE,
    DATA_FRESHNESS_HOURS,
    QUALITY_CHECK_PASSED,
    CHECK_ERROR,
    PERFORMANCE,
    LABEL_COVERAGE,
    SEGMENT_PERFORMANCE,
    ESTIMATED_PERFORMANCE,
    MULTIVARIATE_DRIFT,
    SEGMENT_DATASET_DRIFT,
    WINDOW_LATENCY_SECONDS,
    BUSINESS_METRIC,
    SEGMENT_BUSINESS_METRIC,
    VERSION_DIFFERENCE,
    CANARY_VERDICT,
)

#: Every metric the service exports about models.
METRICS: tuple[Metric, ...] = (
    *RESULT_METRICS,
    WINDOW_ROWS,
    LAST_WINDOW_END,
    LABEL_LAG_SECONDS,
    ROWS_INGESTED,
    LABELS_UNKNOWN_IDS,
    ROWS_REJECTED,
)
