"""The latest results of every model as Prometheus gauges, read at scrape time.

One collector turns each model's latest :class:`~mlvigil.checks.result.CheckResult`
rows into the gauges of :data:`mlvigil.catalog.RESULT_METRICS` (the same builder the
batch export uses, :func:`mlvigil.checks.export.result_families`), so Prometheus and
the alert rules built on it see exactly what the API reports; performance comes from
the latest window whose labels are final. It adds, per model, the latest window's rows
and end time and the median label lag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mlvigil import catalog
from mlvigil.catalog import Metric
from mlvigil.checks.export import result_families
from mlvigil.service.store import Store
from mlvigil.slo.budget import BudgetStatus


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


class SLOGauges(Collector):
    """The model SLOs' state, computed from the store's results at scrape time.

    ``mlvigil_slo_sli_good`` is what the exported Prometheus rules read for model SLIs
    (its average over a window is the share of it spent good); the budget, burn rates
    and objective are for dashboards of teams without those rules.
    """

    def __init__(self, statuses: Callable[[], Sequence[BudgetStatus]]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Build the SLO gauges from each model SLO's status now."""
        good, remaining = _family(catalog.SLO_SLI_GOOD), _family(catalog.SLO_ERROR_BUDGET_REMAINING)
        burn, objective = _family(catalog.SLO_BURN_RATE), _family(catalog.SLO_OBJECTIVE)
        for status in self._statuses():
            labels = [status.slo.name, status.slo.model]
            objective.add_metric(labels, status.slo.objective)
            if status.good is not None:
                good.add_metric(labels, 1.0 if status.good else 0.0)
            if status.budget_remaining is not None:
                remaining.add_metric(labels, status.budget_remaining)
            for window, rate in status.burn_rates.items():
                if rate is not None:
                    burn.add_metric([*labels, window], rate)
        yield from (good, remaining, burn, objective)
