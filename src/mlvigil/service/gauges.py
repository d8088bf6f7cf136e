"""The latest results of every model as Prometheus gauges, read at scrape time.

The gauges are those of :data:`mlvigil.catalog.RESULT_METRICS` (the mapping of
:func:`mlvigil.checks.export.result_families`, which the batch export uses), so
Prometheus and the alert rules built on it see exactly what the API reports;
performance comes from the latest window whose labels are final. Per model it adds the
latest window's rows and end time and the median label lag.

For thousands of models they are read in one query (:mod:`mlvigil.service.gauge_queries`)
that also writes the exposition text: ``/metrics`` serves it as it comes
(:func:`result_exposition`), with the models of a scrape chosen by name or prefix
(:func:`chosen_models`). :class:`ResultGauges` offers the same series as a
prometheus-client collector for any other registry.

The label lag is a query per model on its own tables (a few milliseconds each), so it
is kept per model (:class:`LabelLags`) and a scrape refreshes the stalest ones within a
time budget: its figure is at most minutes old, and a scrape of 10,000 models does not
wait for 10,000 queries.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mlvigil import catalog
from mlvigil.catalog import Metric
from mlvigil.service.gauge_queries import ORDER, exposition_sql, samples_sql
from mlvigil.service.store import Store
from mlvigil.slo.budget import BudgetStatus
from mlvigil.telemetry.exposition import Rendered

__all__ = [
    "LabelLags",
    "ResultGauges",
    "SLOGauges",
    "chosen_models",
    "label_lags",
    "rendered_elsewhere",
    "result_exposition",
]

#: Set while ``/metrics`` renders the result gauges itself (see :func:`rendered_elsewhere`).
_ELSEWHERE: ContextVar[bool] = ContextVar("mlvigil_result_gauges_elsewhere", default=False)


def _family(metric: Metric) -> GaugeMetricFamily:
    return GaugeMetricFamily(metric.name, metric.help, labels=list(metric.labels))


class LabelLags:
    """Each model's median label lag (:meth:`Store.label_lag`), kept for ``max_age`` seconds.

    Parameters
    ----------
    max_age
        Seconds a model's figure is served before it is read again.
    budget
        Seconds one :meth:`get` may spend reading figures; the stalest (and the never
        read) go first, the rest keep their figure until a later call.
    clock
        Monotonic seconds (settable in tests).
    """

    def __init__(
        self,
        *,
        max_age: float = 60.0,
        budget: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age = max_age
        self.budget = budget
        self._clock = clock
        self._lags: dict[str, tuple[float, float | None]] = {}
        self._refreshing = threading.Lock()

    def get(self, read: Callable[[str], float | None], models: Sequence[str]) -> dict[str, float]:
        """The lag of each of ``models`` that has labels, stale ones read first with ``read``.

        While another thread reads, the figures kept are served as they are.
        """
        if self._refreshing.acquire(blocking=False):
            try:
                self._refresh(read, models)
            finally:
                self._refreshing.release()
        known = [(m, self._lags.get(m, (0.0, None))[1]) for m in models]
        return {m: lag for m, lag in known if lag is not None}

    def _refresh(self, read: Callable[[str], float | None], models: Sequence[str]) -> None:
        started = self._clock()
        never = -float("inf")
        stale = sorted(
            (read_at, m)
            for m in models
            if (read_at := self._lags.get(m, (never, None))[0]) <= started - self.max_age
        )
        for _, model in stale:
            if self._clock() - started >= self.budget:
                return
            self._lags[model] = (self._clock(), read(model))


_shared: weakref.WeakKeyDictionary[Store, LabelLags] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def label_lags(store: Store) -> LabelLags:
    """The :class:`LabelLags` of ``store``, one per store (every scrape shares its figures)."""
    with _shared_lock:
        lags = _shared.get(store)
        if lags is None:
            lags = _shared[store] = LabelLags()  # holding no reference to the store
        return lags


def chosen_models(
    models: Iterable[str], names: Sequence[str] = (), prefixes: Sequence[str] = ()
) -> list[str]:
    """The configured ``models`` a scrape asks for: by exact name or by name prefix.

    With neither ``names`` nor ``prefixes``, every model; a name that is not a
    configured model chooses nothing (a scrape never fails for it).

    Examples
    --------
    >>> chosen_models(["fraud-eu", "fraud-us", "churn"], prefixes=["fraud-"])
    ['fraud-eu', 'fraud-us']
    >>> chosen_models(["fraud-eu", "churn"], names=["churn", "gone"])
    ['churn']
    """
    if not names and not prefixes:
        return list(models)
    wanted, starts = set(names), tuple(prefixes)
    return [m for m in models if m in wanted or (starts and m.startswith(starts))]


def _parameters(store: Store, models: Sequence[str]) -> list[object]:
    lags = label_lags(store).get(store.label_lag, models)
    return [list(models), list(lags), list(lags.values())]


def result_exposition(store: Store, models: Sequence[str]) -> list[Rendered]:
    """The result, window and label-lag gauges of ``models``, as exposition text.

    One family per gauge, in the catalog's order, every family present (with no sample
    when none of ``models`` has one), as prometheus-client would write it.
    """
    table = store.read_table(exposition_sql(), _parameters(store, models))
    texts: dict[int, memoryview] = {}
    for g, text in zip(table.column("g").to_pylist(), table.column("text"), strict=True):
        buffer = text.as_buffer()  # the text where Arrow holds it, not copied
        if buffer is not None:
            texts[g] = memoryview(buffer)
    return [
        Rendered(metric.name, metric.help, "gauge", texts.get(index, b""))
        for index, metric in enumerate(ORDER)
    ]


@contextmanager
def rendered_elsewhere() -> Iterator[None]:
    """Have :class:`ResultGauges` yield nothing meanwhile (``/metrics`` renders them)."""
    token = _ELSEWHERE.set(True)
    try:
        yield
    finally:
        _ELSEWHERE.reset(token)


class ResultGauges(Collector):
    """A prometheus-client collector over the store's latest results.

    The same series as :func:`result_exposition`, from the same query, as families
    (slower: a Python object per sample). Inside :func:`rendered_elsewhere` it yields
    nothing, as the caller renders them itself.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Build the gauges from the latest window of each model."""
        if _ELSEWHERE.get():
            return
        yield from self.families(list(self.store.models))

    def families(self, models: Sequence[str]) -> list[GaugeMetricFamily]:
        """The gauges of ``models``, one family per gauge in the catalog's order."""
        families = [_family(metric) for metric in ORDER]
        rows = self.store.read(samples_sql(), _parameters(self.store, models)).fetchall()
        for g, model, *extra, value in rows:
            family, metric = families[g], ORDER[g]
            family.add_metric([model, *extra[: len(metric.labels) - 1]], value)
        return families


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
