"""Options of a profile: sketch sizes and the exact-category cap."""

from __future__ import annotations

import os
from dataclasses import dataclass

from mlvigil.exceptions import ConfigError

__all__ = ["PARALLEL_MIN_ROWS", "ProfileConfig", "threads_for"]

#: Below this many rows, columns are profiled or compared in one thread: on 20 columns
#: of 1,000 rows threads made the work slower (drift: 38 ms against 36 ms); they help
#: from about 50,000 rows (28 ms against 41 ms).
PARALLEL_MIN_ROWS = 50_000


def threads_for(workers: int | None, rows: int | None) -> int:
    """Threads for per-column work: ``workers`` if set, else one per CPU unless small.

    Examples
    --------
    >>> threads_for(3, 10), threads_for(None, 1_000)
    (3, 1)
    """
    if workers is not None:
        return workers
    if rows is not None and rows < PARALLEL_MIN_ROWS:
        return 1
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class ProfileConfig:
    """How detailed a profile is; every field has a sensible default.

    Parameters
    ----------
    quantile_k
        ``k`` of the KLL quantile sketches. Rank error (99% confidence) falls
        roughly as ``1/k``: about 0.7% single-sided and 0.9% for bin masses at
        the default 400, 1.3% and 1.7% at 200. Size grows linearly in ``k``
        (about 9.6 KB per numerical column of a million rows at 400).
    distinct_precision
        ``p`` of the HyperLogLog distinct counters: ``2**p`` one-byte
        registers, relative standard error ``1.04 / sqrt(2**p)`` (1.6% at 12).
    frequent_items_lg_k
        Base-2 log of the frequent-items sketch's map size, used for string
        columns with more than ``max_categories`` values. Its estimates are
        within ``3.5 / 2**lg_k`` of the column's row count (0.34% at 10).
    max_categories
        Exact counts per category are kept while a column has at most this many
        distinct values; beyond, string columns keep frequent items only.
    workers
        Threads profiling columns in parallel; default: one per CPU for tables of
        at least :data:`PARALLEL_MIN_ROWS` rows, else one.

    Examples
    --------
    >>> ProfileConfig(max_categories=50).quantile_k
    400
    >>> ProfileConfig(distinct_precision=30)
    Traceback (most recent call last):
    ...
    mlvigil.exceptions.ConfigError: distinct_precision must be between 4 and 18, got 30
    """

    quantile_k: int = 400
    distinct_precision: int = 12
    frequent_items_lg_k: int = 10
    max_categories: int = 1000
    workers: int | None = None

    def __post_init__(self) -> None:
        _between("quantile_k", self.quantile_k, 8, 65_535)
        _between("distinct_precision", self.distinct_precision, 4, 18)
        _between("frequent_items_lg_k", self.frequent_items_lg_k, 3, 21)
        _between("max_categories", self.max_categories, 2, 10_000_000)
        if self.workers is not None:
            _between("workers", self.workers, 1, 1024)


def _between(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
