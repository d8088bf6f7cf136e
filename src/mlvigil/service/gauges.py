"""The latest results of every model as Prometheus gauges, read at scrape time.

One collector turns each model's latest :class:`~mlvigil.checks.result.CheckResult`
rows into the gauges of :data:`mlvigil.catalog.RESULT_METRICS` (the same builder the
batch export uses, :func:`mlvigil.checks.export.result_families`), so Prometheus and
the alert rules built on it see exactly what the API reports; performance comes from
the latest window whose labels are final. It adds, per model, the latest window's rows
and end time and the median label lag.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mlvigil import catalog
from mlvigil.catalog import Metric
from mlvigil.checks.export import result_families
from mlvigil.service.store import Store


def _family(metric: Metric) -> GaugeMetricFamily:
    return GaugeMetricFamily(metric.name, metric.help, labels=list(metric.labels))


class ResultGauges(Collector):
    """A prometheus-client collector over the store's latest results."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Build the gauges from the latest window of each model."""
        yield from result_families(self.store.latest_results())
        rows, last = _family(catalog.WINDOW_ROWS), _family(catalog.LAST_WINDOW_END)
        lag = _family(catalog.LABEL_LAG_SECONDS)
        for model in self.store.models:
            seconds = self.store.label_lag(model)
            if seconds is not None:
                lag.add_metric([model], seconds)
            windows = self.store.windows(model)
            if windows:
                rows.add_metric([model], windows[-1].rows)
                last.add_metric([model], windows[-1].end.timestamp())
        yield rows
        yield last
        yield lag
