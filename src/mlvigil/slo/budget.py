"""Error ratios, burn rates and error budget of a model SLI, from its windows' verdicts.

A model SLI is time-based: each window's verdict (good or bad) holds from the window's
end until the next verdict's, as the service's ``mlvigil_slo_sli_good`` gauge does
between scrapes, so the service and Prometheus agree on what a span was. The error
ratio over a span is the share of it spent bad, counting only time some verdict
covered (before the first verdict nothing is known, so nothing is counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

import numpy as np

from mlvigil.slo.spec import SLO
from mlvigil.slo.windows import burn_windows, error_ratio_windows, prometheus_duration

__all__ = ["BudgetStatus", "Timeline", "budget_status"]

#: Points of the burn-down series over one period.
BURN_DOWN_POINTS = 60


@dataclass(frozen=True)
class Timeline:
    """When each verdict started to hold (ascending, epoch seconds), and whether it is good."""

    starts: np.ndarray
    good: np.ndarray

    def updated(self, redone: np.ndarray | None, fresh: Timeline, since: float) -> Timeline:
        """The timeline with the verdicts of re-evaluated windows replaced by ``fresh``.

        ``redone``: when the verdicts of windows evaluated again held from (dropped,
        whether or not ``fresh`` has a new one); verdicts from before ``since`` go,
        except the one holding at ``since``.
        """
        keep = np.ones(len(self.starts), dtype=bool)
        if redone is not None and len(redone):
            keep &= ~np.isin(self.starts, redone)
        starts = np.concatenate((self.starts[keep], fresh.starts))
        good = np.concatenate((self.good[keep], fresh.good))
        order = np.argsort(starts, kind="stable")
        starts, good = starts[order], good[order]
        first = max(0, int(np.searchsorted(starts, since, side="right")) - 1)
        return Timeline(starts[first:], good[first:])

    @cached_property
    def _bad_before(self) -> np.ndarray:
        """Time spent bad from the first verdict to the start of each."""
        lengths = np.diff(self.starts)
        bad = np.where(~self.good[:-1], lengths, 0.0)
        return np.concatenate(([0.0], np.cumsum(bad)))

    def _bad_until(self, moments: np.ndarray) -> np.ndarray:
        """Time spent bad from the first verdict up to each of ``moments``."""
        starts, bad, before = self.starts, ~self.good, self._bad_before
        at = np.clip(np.searchsorted(starts, moments, side="right") - 1, 0, None)
        into = np.clip(moments - starts[at], 0, None)
        return np.where(moments <= starts[0], 0.0, before[at] + np.where(bad[at], into, 0.0))

    def error_ratios(self, since: np.ndarray, until: np.ndarray) -> np.ndarray:
        """Share of each ``[since, until)`` spent bad, of the part any verdict covered.

        NaN where no verdict covered any of it.

        Examples
        --------
        >>> line = Timeline(np.array([0.0, 10.0]), np.array([True, False]))
        >>> line.error_ratios(np.array([0.0, 15.0, -5.0]), np.array([20.0, 20.0, 0.0]))
        array([0.5, 0. , nan])
        """
        since, until = np.asarray(since, dtype=np.float64), np.asarray(until, dtype=np.float64)
        if not len(self.starts):
            return np.full(np.broadcast(since, until).shape, np.nan)
        since = np.maximum(since, self.starts[0])
        covered = np.clip(until - since, 0, None)
        ends, starts = np.split(self._bad_until(np.concatenate((until, since))), [len(until)])
        bad = ends - starts
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(covered > 0, bad / covered, np.nan)

    def error_ratio(self, since: float, until: float) -> float | None:
        """Share of ``[since, until)`` spent bad (None when no verdict covered it)."""
        ratio = float(self.error_ratios(np.array([since]), np.array([until]))[0])
        return None if np.isnan(ratio) else ratio

    @property
    def latest(self) -> bool | None:
        """The verdict holding now, if any."""
        return bool(self.good[-1]) if len(self.good) else None


@dataclass(frozen=True)
class BudgetStatus:
    """Where one SLO stands at ``now``.

    Attributes
    ----------
    error_ratios, burn_rates
        Per window (``5m`` ... the period, as PromQL writes them): the share of the
        window spent bad, and that share ÷ the error budget (None without any verdict).
    budget_remaining
        ``1 - period burn rate``: 1 untouched, 0 spent, negative when overspent.
    page, ticket
        Whether a page or ticket condition holds: both windows of one pair burn at or
        above the pair's factor.
    """

    slo: SLO
    good: bool | None
    error_ratios: dict[str, float | None]
    burn_rates: dict[str, float | None]
    budget_remaining: float | None
    page: bool
    ticket: bool
    page_burn: float | None
    ticket_burn: float | None
    timeline: Timeline
    now: datetime

    def burn_down(self, points: int = BURN_DOWN_POINTS) -> list[tuple[datetime, float | None]]:
        """The budget left over the period up to each of ``points`` times, for a chart.

        The times are evenly spaced across the last period; computed on demand.
        """
        period = self.slo.period.total_seconds()
        until = self.now.timestamp()
        ends = until - period + period / points * np.arange(1, points + 1)
        spent = self.timeline.error_ratios(ends - period, ends) / self.slo.error_budget
        return [
            (datetime.fromtimestamp(t, UTC), None if np.isnan(b) else 1.0 - float(b))
            for t, b in zip(ends, spent, strict=True)
        ]


def budget_status(slo: SLO, timeline: Timeline, now: datetime) -> BudgetStatus:
    """The SLO's error ratios, burn rates, budget and alert conditions at ``now``.

    Every ratio (each window, each alert pair) is computed in one vectorised pass over
    the timeline.
    """
    budget, until = slo.error_budget, now.timestamp()
    windows = error_ratio_windows(slo.period)
    pairs = burn_windows(slo.period)
    spans = np.array(
        [w.total_seconds() for w in windows]
        + [w.total_seconds() for p in pairs for w in (p.long, p.short)]
    )
    burns = timeline.error_ratios(until - spans, np.full(len(spans), until)) / budget
    named, paired = burns[: len(windows)], burns[len(windows) :]
    holding = {"page": False, "ticket": False}
    strongest: dict[str, float | None] = {"page": None, "ticket": None}
    for pair, (long, short) in zip(pairs, paired.reshape(-1, 2), strict=True):
        if np.isnan(long) or np.isnan(short):
            continue
        burning = float(min(long, short))
        best = strongest[pair.severity]
        strongest[pair.severity] = burning if best is None else max(best, burning)
        if long > pair.factor and short > pair.factor:  # as the Prometheus rules compare
            holding[pair.severity] = True
    rates = {prometheus_duration(w): _number(r) for w, r in zip(windows, named, strict=True)}
    ratios = {w: None if r is None else r * budget for w, r in rates.items()}
    spent = rates[prometheus_duration(slo.period)]
    return BudgetStatus(
        slo=slo,
        good=timeline.latest,
        error_ratios=ratios,
        burn_rates=rates,
        budget_remaining=None if spent is None else 1.0 - spent,
        page=holding["page"],
        ticket=holding["ticket"],
        page_burn=strongest["page"],
        ticket_burn=strongest["ticket"],
        timeline=timeline,
        now=now,
    )


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
