"""Check results as Prometheus gauges on an injected registry.

=========================================  ===================================
gauge                                       set from
=========================================  ===================================
``mlvigil_feature_null_rate``               completeness ``null_rate``
``mlvigil_data_freshness_hours``            freshness ``freshness_hours``
``mlvigil_duplicate_rate``                  uniqueness ``duplicate_rate``
``mlvigil_quality_check_passed``            every result (1 passed, 0 not)
``mlvigil_feature_drift_score``             drift, per column (the statistic)
``mlvigil_dataset_drift_share``             drift ``drift_share``
=========================================  ===================================

A value that could not be computed is exported as NaN, so a stale number never
stands in for an unknown one. Several results can share the labels of
``mlvigil_quality_check_passed`` (a column's type and range checks are both
``schema``); the gauge is then 1 only when all of them passed.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge

from mlvigil.checks.result import CheckResult

__all__ = ["export_to_prometheus"]


@dataclass(frozen=True, slots=True)
class _Gauges:
    null_rate: Gauge
    freshness_hours: Gauge
    duplicate_rate: Gauge
    check_passed: Gauge
    drift_score: Gauge
    drift_share: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry) -> _Gauges:
        def gauge(name: str, documentation: str, labels: list[str]) -> Gauge:
            return Gauge(name, documentation, ["dataset", *labels], registry=registry)

        return cls(
            null_rate=gauge(
                "mlvigil_feature_null_rate", "Share of null or NaN values.", ["feature"]
            ),
            freshness_hours=gauge(
                "mlvigil_data_freshness_hours", "Age of the newest timestamp, in hours.", []
            ),
            duplicate_rate=gauge(
                "mlvigil_duplicate_rate", "Share of rows repeating a key value.", ["key"]
            ),
            check_passed=gauge(
                "mlvigil_quality_check_passed",
                "1 if every result of the check on the column passed, else 0.",
                ["check", "column"],
            ),
            drift_score=gauge(
                "mlvigil_feature_drift_score",
                "Drift statistic of a feature against the reference.",
                ["feature", "method"],
            ),
            drift_share=gauge(
                "mlvigil_dataset_drift_share", "Share of tested features that drifted.", []
            ),
        )


_registered: weakref.WeakKeyDictionary[CollectorRegistry, _Gauges] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _gauges(registry: CollectorRegistry) -> _Gauges:
    with _lock:
        gauges = _registered.get(registry)
        if gauges is None:
            gauges = _registered[registry] = _Gauges.register(registry)
        return gauges


def _value(result: CheckResult) -> float:
    return math.nan if result.value is None else result.value


def export_to_prometheus(
    results: Iterable[CheckResult], registry: CollectorRegistry, *, dataset: str = "default"
) -> None:
    """Set the mlvigil quality and drift gauges on ``registry`` from ``results``.

    Calling it again with the same registry updates the same gauges (they are
    registered once per registry), so it can run after every evaluation.

    Parameters
    ----------
    results
        Check results, e.g. a :class:`~mlvigil.checks.quality.QualityReport`.
    registry
        Where the gauges live; the application's registry, or a fresh one in tests.
    dataset
        Value of the ``dataset`` label on every series.

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry
    >>> from mlvigil.checks.result import CheckResult, CheckStatus
    >>> registry = CollectorRegistry()
    >>> result = CheckResult("completeness", "null_rate", "age", 0.1, 0.05, CheckStatus.FAILED)
    >>> export_to_prometheus([result], registry, dataset="loans")
    >>> labels = {"dataset": "loans", "feature": "age"}
    >>> registry.get_sample_value("mlvigil_feature_null_rate", labels)
    0.1
    >>> registry.get_sample_value(
    ...     "mlvigil_quality_check_passed",
    ...     {"dataset": "loans", "check": "completeness", "column": "age"})
    0.0
    """
    gauges = _gauges(registry)
    passed: dict[tuple[str, str], bool] = {}
    for result in results:
        column = result.column or ""
        key = (result.check, column)
        passed[key] = passed.get(key, True) and result.passed
        match (result.check, result.metric):
            case ("completeness", "null_rate"):
                gauges.null_rate.labels(dataset, column).set(_value(result))
            case ("freshness", "freshness_hours"):
                gauges.freshness_hours.labels(dataset).set(_value(result))
            case ("uniqueness", "duplicate_rate"):
                gauges.duplicate_rate.labels(dataset, column).set(_value(result))
            case ("drift", "drift_share"):
                gauges.drift_share.labels(dataset).set(_value(result))
            case ("drift", method) if result.column is not None and result.value is not None:
                gauges.drift_score.labels(dataset, column, method).set(result.value)
    for (check, column), ok in passed.items():
        gauges.check_passed.labels(dataset, check, column).set(1.0 if ok else 0.0)
