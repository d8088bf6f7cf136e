"""Model SLOs evaluated from the stored results: verdicts, budgets and alert results.

Each SLI kind reads its windows' verdicts in one query for every model that has such
an SLO (a few queries per pass, whatever the number of models):

- ``drift``: the window's dataset result (``drift_share``) passed;
- ``performance``: the metric's realized result once the window has one, else its
  estimate; good when it meets the SLO's threshold, or, without one, when the check
  passed;
- ``quality``: every data-quality result of the window passed; ``freshness``: its
  freshness results passed;
- ``label_coverage``: a window whose labels are final had at least ``min_coverage``
  of its predictions labelled.

Results that could not be computed (``error``) are no verdict: the previous one keeps
holding, and the ``check_error`` rule pages on them. Serving SLIs (availability,
latency) are counted by the SDK's metrics in the model servers, so only the Prometheus
rules (``mlvigil slo export``) evaluate them.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from mlvigil.checks.metrics import LOWER_IS_BETTER
from mlvigil.checks.result import QUALITY_CHECKS, CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.service.store import Store
from mlvigil.slo.budget import BudgetStatus, Timeline, budget_status
from mlvigil.slo.spec import SLO, SLIKind
from mlvigil.slo.windows import burn_windows, prometheus_duration

__all__ = ["SLOBook", "slo_results"]

_WHOLE_WINDOW = """segment IS NULL AND status IN ('passed', 'failed')
    AND window_end > ? AND evaluated_at >= ? AND list_contains(?, model)"""
_QUALITY_KINDS = ", ".join(f"'{kind.value}'" for kind in sorted(QUALITY_CHECKS))

# Each query: one verdict per model and window, as (model, epoch seconds, good), sorted.
_DRIFT = f"""
    SELECT model, epoch(window_end) AS t, status = 'passed' AS good FROM results
    WHERE "check" = 'drift' AND metric = 'drift_share' AND "column" IS NULL AND {_WHOLE_WINDOW}
    ORDER BY model, t
"""
_QUALITY = f"""
    SELECT model, epoch(window_end) AS t, bool_and(status = 'passed') AS good FROM results
    WHERE "check" IN ({_QUALITY_KINDS}) AND {_WHOLE_WINDOW}
    GROUP BY model, window_end ORDER BY model, t
"""
_FRESHNESS = f"""
    SELECT model, epoch(window_end) AS t, bool_and(status = 'passed') AS good FROM results
    WHERE "check" = 'freshness' AND {_WHOLE_WINDOW}
    GROUP BY model, window_end ORDER BY model, t
"""
# The realized result where a window has one, else the estimate: the row whose
# "check" = 'performance' is true wins arg_max. Grouped per (model, metric, threshold
# direction) by the caller.
_PERFORMANCE = f"""
    SELECT model || '/' || metric AS model, epoch(window_end) AS t,
           arg_max(status = 'passed', "check" = 'performance') AS good,
           arg_max(value, "check" = 'performance') AS value
    FROM results
    WHERE "check" IN ('performance', 'estimation') AND "column" IS NULL
      AND list_contains(?, metric) AND {_WHOLE_WINDOW}
    GROUP BY model, metric, window_end ORDER BY model, t
"""
_COVERAGE = """
    SELECT model, epoch(window_end) AS t, labelled / rows AS share FROM windows
    WHERE labels_final AND rows > 0 AND window_end > ? AND evaluated_at >= ?
      AND list_contains(?, model)
    ORDER BY model, t
"""
# Windows evaluated since a moment: their old verdicts are replaced (or dropped, when
# the new evaluation gives none).
_EVALUATED = """
    SELECT model, epoch(window_end) AS t FROM windows
    WHERE window_end > ? AND evaluated_at >= ? AND list_contains(?, model)
    ORDER BY model, t
"""
_NEWEST = "SELECT max(evaluated_at) FROM windows"
#: Re-read windows evaluated this long before the newest seen, so a clock that steps
#: back, or a window saved late by a long evaluation, is not missed.
_OVERLAP = timedelta(minutes=10)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_Columns = dict[str, np.ndarray]


def _per_model(store: Store, sql: str, params: Sequence[object]) -> dict[str, _Columns]:
    """The query's columns (sorted by model, then time), split per model."""
    columns = store.read(sql, list(params)).fetchnumpy()
    models = np.asarray(columns.pop("model"), dtype=object)
    if not len(models):
        return {}
    arrays = {name: np.asarray(values) for name, values in columns.items()}
    cuts = np.flatnonzero(models[1:] != models[:-1]) + 1
    starts, ends = np.concatenate(([0], cuts)), np.concatenate((cuts, [len(models)]))
    return {
        str(models[a]): {name: values[a:b] for name, values in arrays.items()}
        for a, b in zip(starts, ends, strict=True)
    }


def _timeline(columns: _Columns | None, good: np.ndarray | None = None) -> Timeline:
    if columns is None:
        return Timeline(np.empty(0), np.empty(0, dtype=bool))
    verdicts = columns["good"] if good is None else good
    return Timeline(columns["t"].astype(np.float64), verdicts.astype(bool))


def _performance_good(slo: SLO, columns: _Columns) -> np.ndarray:
    """The windows meeting the SLO's threshold, or, without one, whose check passed."""
    threshold, passed = slo.sli.threshold, columns["good"].astype(bool)
    if threshold is None:
        return passed
    values = np.asarray(columns["value"], dtype=np.float64)
    meets = values <= threshold if slo.sli.metric in LOWER_IS_BETTER else values >= threshold
    return np.where(np.isnan(values), passed, meets)


def _verdicts(
    store: Store, slos: Sequence[SLO], since: datetime, evaluated: datetime
) -> dict[str, Timeline]:
    """Each SLO's verdicts of the windows ending after ``since``, evaluated since ``evaluated``.

    A few queries for all models together.
    """
    kinds: dict[SLIKind, list[SLO]] = defaultdict(list)
    for slo in slos:
        kinds[slo.sli.kind].append(slo)
    timelines: dict[str, Timeline] = {}

    def models(kind: SLIKind) -> list[str]:
        return sorted({slo.model for slo in kinds[kind]})

    for kind, sql in (
        (SLIKind.DRIFT, _DRIFT),
        (SLIKind.QUALITY, _QUALITY),
        (SLIKind.FRESHNESS, _FRESHNESS),
    ):
        if kinds[kind]:
            found = _per_model(store, sql, [since, evaluated, models(kind)])
            for slo in kinds[kind]:
                timelines[slo.name] = _timeline(found.get(slo.model))
    if kinds[SLIKind.LABEL_COVERAGE]:
        found = _per_model(store, _COVERAGE, [since, evaluated, models(SLIKind.LABEL_COVERAGE)])
        for slo in kinds[SLIKind.LABEL_COVERAGE]:
            own = found.get(slo.model)
            share = None if own is None else own["share"] >= (slo.sli.min_coverage or 0.0)
            timelines[slo.name] = _timeline(own, share)
    if kinds[SLIKind.PERFORMANCE]:
        metrics = sorted({slo.sli.metric or "" for slo in kinds[SLIKind.PERFORMANCE]})
        found = _per_model(
            store, _PERFORMANCE, [metrics, since, evaluated, models(SLIKind.PERFORMANCE)]
        )
        for slo in kinds[SLIKind.PERFORMANCE]:
            own = found.get(f"{slo.model}/{slo.sli.metric}")
            good = None if own is None else _performance_good(slo, own)
            timelines[slo.name] = _timeline(own, good)
    return timelines


class SLOBook:
    """The model SLOs' verdicts, kept between passes and read again only where new.

    Each refresh reads the windows evaluated since the previous one (a little before,
    see :data:`_OVERLAP`), drops their old verdicts and adds their new ones, and trims
    what fell out of the look-back; the first reads everything. Safe to share between
    threads.
    """

    def __init__(self, slos: Iterable[SLO]) -> None:
        self.slos = [slo for slo in slos if not slo.sli.kind.is_serving]
        self._lines: dict[str, Timeline] = {}
        self._seen: datetime | None = None
        self._lock = threading.Lock()

    def statuses(self, store: Store, now: datetime) -> list[BudgetStatus]:
        """Where each model SLO stands at ``now`` (serving SLOs are left out)."""
        if not self.slos:
            return []
        with self._lock:
            lines = self._refresh(store, now)
        return [budget_status(slo, lines[slo.name], now) for slo in self.slos]

    def _refresh(self, store: Store, now: datetime) -> dict[str, Timeline]:
        # Twice the longest period back: the verdict holding when a period starts
        # began before it.
        since = now - 2 * max(slo.period for slo in self.slos)
        newest = store.read(_NEWEST).fetchone()
        seen = self._seen
        evaluated = _EPOCH if seen is None else seen - _OVERLAP
        fresh = _verdicts(store, self.slos, since, evaluated)
        if seen is None:
            self._lines = fresh
        else:
            models = sorted({slo.model for slo in self.slos})
            redone = _per_model(store, _EVALUATED, [since, evaluated, models])
            lines = {}
            for slo in self.slos:
                line, again = self._lines[slo.name], redone.get(slo.model, {}).get("t")
                if again is not None or len(fresh[slo.name].starts):
                    line = line.updated(again, fresh[slo.name], since.timestamp())
                lines[slo.name] = line  # unchanged: keeps what it computed once
            self._lines = lines
        if newest and newest[0] is not None:
            self._seen = newest[0] if seen is None else max(seen, newest[0])
        return self._lines


def slo_results(statuses: Iterable[BudgetStatus], now: datetime) -> list[CheckResult]:
    """The results the built-in ``slo_page`` and ``slo_ticket`` rules watch.

    One per SLO and severity: ``burn_rate_page`` / ``burn_rate_ticket``, failed while a
    condition of that severity holds; the value is the fastest burn among its window
    pairs (the smaller of each pair's two burn rates), the threshold the first
    factor; the SLO's name is the result's column.
    """
    results = []
    for status in statuses:
        slo = status.slo
        factors: dict[str, float] = {}
        for pair in burn_windows(slo.period):
            factors.setdefault(pair.severity, pair.factor)
        for severity, holds, burn in (
            ("page", status.page, status.page_burn),
            ("ticket", status.ticket, status.ticket_burn),
        ):
            alert = slo.page if severity == "page" else slo.ticket
            if not alert.enabled:
                continue
            remaining = status.budget_remaining
            left = "unknown" if remaining is None else f"{remaining:.0%}"
            results.append(
                CheckResult(
                    check=CheckKind.SLO,
                    metric=f"burn_rate_{severity}",
                    column=slo.name,
                    value=burn,
                    threshold=factors[severity],
                    status=CheckStatus.FAILED if holds else CheckStatus.PASSED,
                    severity=Severity.CRITICAL if severity == "page" else Severity.WARNING,
                    message=(
                        f"{slo.sli.describe()}: objective {slo.objective:.4%} over "
                        f"{prometheus_duration(slo.period)}, error budget left {left}"
                    ),
                    timestamp=now,
                    model=slo.model,
                    window_start=now,
                    window_end=now,
                )
            )
    return results
