"""Which windows a model has, and which are due: the scheduler's calendar.

Time windows are aligned to the Unix epoch; row-counted windows close when full, or
with the rows they have once none arrived for their idle time (or when asked). A window
is due when it closed and was never evaluated, when logged data changed it since its
last evaluation, or when its labels became final.

The calendar is walked lazily, oldest first, from the model's first row but never from
before ``since`` (the oldest time ingest accepts, :mod:`mlvigil.service.admission`):
the scheduler takes as many due windows as it evaluates in a pass
(:data:`MAX_WINDOWS_PER_PASS`) and goes on from there at the next, so no row, however
old (one stored before its time was bounded), makes it list centuries of windows.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from mlvigil.exceptions import InputError
from mlvigil.service.config import ModelConfig
from mlvigil.service.evaluation import window_bounds
from mlvigil.service.store import Store
from mlvigil.service.windows import DataChange, WindowRecord

__all__ = [
    "MAX_WINDOWS_PER_PASS",
    "MAX_WINDOWS_PER_REQUEST",
    "closed_windows",
    "due_windows",
    "final_at",
    "windows_between",
]

#: Most windows one evaluate request may cover (a backfill goes in several requests).
MAX_WINDOWS_PER_REQUEST = 1_000
#: Most windows of one model the scheduler evaluates in a pass; a catch-up goes on at
#: the next pass, so a pass (which holds evaluation) stays short for every model.
MAX_WINDOWS_PER_PASS = 100


def final_at(config: ModelConfig, window: WindowRecord) -> datetime:
    """When a window's labels are final.

    ``label_delay`` after the later of its end and its first evaluation: a replayed or
    backfilled window is evaluated long after its end, and its labels come later.
    """
    first = window.first_evaluated_at or window.evaluated_at
    return max(window.end, first) + config.label_delay


def closed_windows(
    store: Store,
    config: ModelConfig,
    now: datetime,
    *,
    lateness: timedelta,
    partial: bool = False,
    since: datetime | None = None,
) -> Iterator[tuple[datetime, datetime]]:
    """Every window from the model's first prediction that has closed by ``now``, lazily.

    A row-counted window closes when full, or (``partial``, or after the window's
    idle time without a new row) with the rows it has. Time windows before ``since``
    are not walked.
    """
    span = store.data_range(config.name)
    if span is None:
        return
    first = max(span[0], since) if since is not None else span[0]
    if config.window is not None:
        # Pruned windows are not walked again (only rows of a reference may predate them).
        pruned = store.pruned_until(config.name)
        window_start, _ = window_bounds(max(first, pruned or first), config.window)
        while window_start + config.window + lateness <= now:
            yield window_start, window_start + config.window
            window_start += config.window
        return
    assert config.window_rows is not None
    known = store.windows(config.name)
    yield from ((w.start, w.end) for w in known)
    window_start = known[-1].end if known else first
    if not partial:
        received = store.last_received(config.name)
        partial = received is not None and now - received >= config.window_idle
    while True:
        end = store.row_window_end(config.name, window_start, config.window_rows, partial=partial)
        if end is None:
            return
        yield window_start, end
        window_start = end


def due_windows(
    store: Store,
    config: ModelConfig,
    now: datetime,
    *,
    lateness: timedelta,
    changes: list[DataChange],
    since: datetime | None = None,
) -> Iterator[tuple[datetime, datetime, WindowRecord | None]]:
    """Windows to evaluate now, oldest first, with their last evaluation if any.

    Lazy: the evaluated windows that are due again (changed by data, labels final) are
    merged with the closed windows never evaluated, walked from ``since`` or the first
    row; take as many as a pass evaluates.
    """
    evaluated = {w.start: w for w in store.windows(config.name)}
    # Windows evaluated early (through the API) are due when data changes them too.
    again = (
        (w.start, w.end, w)
        for w in sorted(evaluated.values(), key=lambda w: w.start)
        if any(change.concerns(w) for change in changes)
        or (not w.labels_final and now >= final_at(config, w))
    )
    fresh = (
        (start, end, None)
        for start, end in closed_windows(store, config, now, lateness=lateness, since=since)
        if start not in evaluated
    )
    yield from heapq.merge(again, fresh, key=lambda due: due[0])


def windows_between(
    store: Store, config: ModelConfig, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The windows overlapping ``[start, end)``; a row window still filling closes."""
    if config.window is None:
        far_future = datetime.max.replace(tzinfo=UTC)
        # Asked for explicitly: the last window closes with the rows it has.
        closed = closed_windows(store, config, far_future, lateness=timedelta(0), partial=True)
        for a, b in closed:
            if a < end and b > start:
                yield a, b
        return
    try:
        window_start, _ = window_bounds(start, config.window)
        _, last = window_bounds(end, config.window)
    except OverflowError:
        raise InputError("start and end must be between years 1 and 9999") from None
    if (last - window_start) // config.window > MAX_WINDOWS_PER_REQUEST:
        raise InputError(
            f"{start.isoformat()} to {end.isoformat()} spans more than "
            f"{MAX_WINDOWS_PER_REQUEST} windows of {config.window}; evaluate fewer at a time"
        )
    while window_start < end:
        yield window_start, window_start + config.window
        window_start += config.window
