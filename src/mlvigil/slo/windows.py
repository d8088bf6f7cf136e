"""The multiwindow, multi-burn-rate alert windows, scaled with an SLO's period.

For a 30-day period (Google's SRE workbook, Sloth's defaults): page when the last hour
and the last 5 minutes both burn the budget 14.4 times as fast as the period allows
(2% of the budget in an hour), or the last 6 hours and 30 minutes 6 times (5% in 6
hours); open a ticket at 3 times over a day and 2 hours, or once over 3 days and 6
hours (10% of the budget each). The short window makes an alert stop soon after the
burning does.

Another period scales every window by ``period / 30 days`` (as Pyrra does), rounded
to whole minutes, which keeps each alert's budget share and so its factor: a 7-day
SLO pages on 14.4 times over 14 and 1 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Literal

__all__ = ["BurnWindow", "burn_windows", "error_ratio_windows", "prometheus_duration"]

_BASE_PERIOD = timedelta(days=30)
_MINUTE = timedelta(minutes=1)

#: (severity, long window, short window, factor) for a 30-day period.
_BASE: tuple[tuple[Literal["page", "ticket"], timedelta, timedelta, float], ...] = (
    ("page", timedelta(hours=1), timedelta(minutes=5), 14.4),
    ("page", timedelta(hours=6), timedelta(minutes=30), 6.0),
    ("ticket", timedelta(days=1), timedelta(hours=2), 3.0),
    ("ticket", timedelta(days=3), timedelta(hours=6), 1.0),
)


@dataclass(frozen=True)
class BurnWindow:
    """One condition of a burn-rate alert: both windows burn at least ``factor``."""

    severity: Literal["page", "ticket"]
    long: timedelta
    short: timedelta
    factor: float


def _scaled(window: timedelta, period: timedelta) -> timedelta:
    minutes = round(window * (period / _BASE_PERIOD) / _MINUTE)
    return max(1, minutes) * _MINUTE


@cache
def burn_windows(period: timedelta) -> tuple[BurnWindow, ...]:
    """The four alert conditions of an SLO over ``period``.

    Examples
    --------
    >>> windows = burn_windows(timedelta(days=30))
    >>> [(w.severity, str(w.long), str(w.short), w.factor) for w in windows][:2]
    [('page', '1:00:00', '0:05:00', 14.4), ('page', '6:00:00', '0:30:00', 6.0)]
    >>> str(burn_windows(timedelta(days=7))[0].long)
    '0:14:00'
    """
    return tuple(
        BurnWindow(severity, _scaled(long, period), _scaled(short, period), factor)
        for severity, long, short, factor in _BASE
    )


@cache
def error_ratio_windows(period: timedelta) -> tuple[timedelta, ...]:
    """Every window an error ratio is recorded over: the alerts' windows and the period.

    Examples
    --------
    >>> [prometheus_duration(w) for w in error_ratio_windows(timedelta(days=30))]
    ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']
    """
    windows = {w for b in burn_windows(period) for w in (b.long, b.short)}
    return (*sorted(windows - {period}), period)


@cache
def prometheus_duration(value: timedelta) -> str:
    """A duration as PromQL writes it (``1d6h``, ``5m``), to the second.

    Examples
    --------
    >>> prometheus_duration(timedelta(days=1, hours=6)), prometheus_duration(timedelta(seconds=90))
    ('1d6h', '1m30s')
    """
    seconds = round(value.total_seconds())
    parts = [(seconds // 86_400, "d"), (seconds % 86_400 // 3_600, "h")]
    parts += [(seconds % 3_600 // 60, "m"), (seconds % 60, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
