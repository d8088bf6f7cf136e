"""Check results as Prometheus gauges: one builder for the service and the batch path.

:func:`result_families` turns results into the gauge families of
:data:`mlvigil.catalog.RESULT_METRICS`; the service's ``/metrics`` builds its gauges
with it from each model's latest results, and :func:`export_to_prometheus` puts the
same series on a registry of your own for results computed in a batch job, so the
rules from ``mlvigil rules export`` and the Grafana dashboard match either.

A result that could not be computed has no value (it shows in ``mlvigil_check_error``
instead), so a stale number never stands in for an unknown one. Several data-quality
results can share the labels of ``mlvigil_quality_check_passed`` (a column's type and
range checks are both ``schema``); the gauge is then 1 only when all of them passed.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mlvigil import catalog
from mlvigil.catalog import Metric
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity

__all__ = ["export_to_prometheus", "result_families"]

Samples = dict[Metric, dict[tuple[str, ...], float]]

#: Gauges set from one metric of one check (the check's headline value).
_VALUE_GAUGES = {
    (CheckKind.COMPLETENESS, "null_rate"): catalog.NULL_RATE,
    (CheckKind.UNIQUENESS, "duplicate_rate"): catalog.DUPLICATE_RATE,
}


def _add(samples: Samples, result: CheckResult, model: str) -> None:
    check, metric, column = result.check, result.metric, result.column or ""
    value = result.value if isinstance(result.value, int | float) else None
    failed = 1.0 if result.status is CheckStatus.FAILED else 0.0

    def put(gauge: Metric, labels: tuple[str, ...], number: float) -> None:
        samples.setdefault(gauge, {})[labels] = number

    if result.segment is not None:
        segment = result.segment
        if value is None:
            return
        if check is CheckKind.PERFORMANCE:
            put(catalog.SEGMENT_PERFORMANCE, (model, segment, metric), value)
        elif check is CheckKind.DRIFT and metric == "drift_share":
            put(catalog.SEGMENT_DATASET_DRIFT, (model, segment), failed)
        elif check is CheckKind.BUSINESS:
            put(catalog.SEGMENT_BUSINESS_METRIC, (model, segment, metric), value)
        elif check is CheckKind.COMPARISON:
            put(catalog.VERSION_DIFFERENCE, (model, segment, metric), value)
        elif check is CheckKind.CANARY:
            put(catalog.CANARY_VERDICT, (model, segment), value)
        return
    if result.status is CheckStatus.ERROR and result.severity is not Severity.INFO:
        put(catalog.CHECK_ERROR, (model, check.value, metric, column), 1.0)
    if value is None:
        return
    if check is CheckKind.SERVING:
        quantile = int(metric.removeprefix("latency_p").removesuffix("_ms")) / 100
        put(catalog.WINDOW_LATENCY_SECONDS, (model, f"{quantile:g}"), value / 1000)
    elif check is CheckKind.DRIFT:
        if metric == "drift_share":
            put(catalog.DRIFT_SHARE, (model,), value)
            put(catalog.DATASET_DRIFT, (model,), failed)
        elif result.column is not None:
            put(catalog.DRIFT_SCORE, (model, column, metric), value)
            put(catalog.COLUMN_DRIFTED, (model, column), failed)
        else:
            put(catalog.MULTIVARIATE_DRIFT, (model, metric), value)
    elif check is CheckKind.ESTIMATION:
        put(catalog.ESTIMATED_PERFORMANCE, (model, metric), value)
    elif check is CheckKind.BUSINESS:
        put(catalog.BUSINESS_METRIC, (model, metric), value)
    elif check is CheckKind.PERFORMANCE:
        if metric == "label_coverage":
            put(catalog.LABEL_COVERAGE, (model,), value)
        else:
            put(catalog.PERFORMANCE, (model, metric), value)
    elif check.is_quality:
        gauge = _VALUE_GAUGES.get((check, metric))
        if gauge is not None:
            put(gauge, (model, column), value)
        if check is CheckKind.FRESHNESS and metric == "freshness_hours":
            put(catalog.DATA_FRESHNESS_HOURS, (model,), value)


def _quality_passed(samples: Samples, result: CheckResult, model: str) -> None:
    if not result.check.is_quality or result.segment is not None:
        return
    if result.status is CheckStatus.ERROR:
        return  # not computed: mlvigil_check_error says so
    labels = (model, result.check.value, result.metric, result.column or "")
    passed = samples.setdefault(catalog.QUALITY_CHECK_PASSED, {})
    passed[labels] = min(passed.get(labels, 1.0), 1.0 if result.passed else 0.0)


def result_families(
    results: Iterable[CheckResult], *, model: str | None = None
) -> list[GaugeMetricFamily]:
    """The gauges of :data:`mlvigil.catalog.RESULT_METRICS` for some results.

    Parameters
    ----------
    results
        Results, each labelled with its own ``model`` (the service's), or with
        ``model`` when given (the batch export's).
    model
        The ``model`` label of every series, overriding the results' own.

    Examples
    --------
    >>> from mlvigil.checks.result import CheckResult, CheckStatus
    >>> result = CheckResult("completeness", "null_rate", "age", 0.1, 0.05, CheckStatus.FAILED)
    >>> families = {f.name: f for f in result_families([result], model="loans")}
    >>> [(s.labels, s.value) for s in families["mlvigil_null_rate"].samples]
    [({'model': 'loans', 'column': 'age'}, 0.1)]
    """
    samples: Samples = {}
    for result in results:
        name = model if model is not None else result.model or ""
        _add(samples, result, name)
        _quality_passed(samples, result, name)
    families = []
    for gauge in catalog.RESULT_METRICS:
        family = GaugeMetricFamily(gauge.name, gauge.help, labels=list(gauge.labels))
        for labels, value in samples.get(gauge, {}).items():
            family.add_metric(list(labels), value)
        families.append(family)
    return families


class _Exported(Collector):
    """The latest results exported per model of one registry."""

    def __init__(self) -> None:
        self._results: dict[str, list[CheckResult]] = {}
        self._lock = threading.Lock()

    def set(self, model: str, results: Iterable[CheckResult]) -> None:
        with self._lock:
            self._results[model] = list(results)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            by_model = dict(self._results)
        merged: dict[str, GaugeMetricFamily] = {}
        for model, results in by_model.items():
            for family in result_families(results, model=model):
                kept = merged.setdefault(family.name, family)
                if kept is not family:
                    kept.samples.extend(family.samples)
        yield from merged.values()


_registered: weakref.WeakKeyDictionary[CollectorRegistry, _Exported] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def export_to_prometheus(
    results: Iterable[CheckResult], registry: CollectorRegistry, *, model: str = "default"
) -> None:
    """Expose ``results`` on ``registry`` as the gauges the service exports.

    Calling it again for the same ``model`` replaces that model's results (the
    collector is registered once per registry), so it can run after every batch.

    Parameters
    ----------
    results
        Check results, e.g. a :class:`~mlvigil.checks.quality.QualityReport`.
    registry
        Where the gauges live; the application's registry, or a fresh one in tests.
    model
        Value of the ``model`` label on every series (the model or dataset checked).

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry
    >>> from mlvigil.checks.result import CheckResult, CheckStatus
    >>> registry = CollectorRegistry()
    >>> result = CheckResult("completeness", "null_rate", "age", 0.1, 0.05, CheckStatus.FAILED)
    >>> export_to_prometheus([result], registry, model="loans")
    >>> registry.get_sample_value("mlvigil_null_rate", {"model": "loans", "column": "age"})
    0.1
    >>> registry.get_sample_value("mlvigil_quality_check_passed", {"model": "loans",
    ...     "check": "completeness", "metric": "null_rate", "column": "age"})
    0.0
    """
    with _lock:
        exported = _registered.get(registry)
        if exported is None:
            exported = _registered[registry] = _Exported()
            registry.register(exported)
    exported.set(model, results)
