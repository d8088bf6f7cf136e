"""The profile of one column: counts, moments and sketches, mergeable without the data.

Which parts a column has depends on the kind of values it holds:

==========  ==================================================================
kind        parts besides count, nulls and the distinct counter
==========  ==================================================================
number      NaN and ±inf counts, :class:`Moments`, a KLL :class:`QuantileSketch`;
            integers also exact category counts while under the cap
string      exact category counts while under the cap, then frequent items
boolean     exact counts of ``True`` and ``False``
datetime    earliest and latest value (:class:`TimeExtent`)
==========  ==================================================================

The column type (numerical, categorical, text...) is derived from the merged
state rather than stored, so a merged profile's type is the type of the whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeAlias, TypeVar

import numpy as np
import pyarrow as pa

from mlvigil.profile.errors import ProfileMergeError
from mlvigil.profile.hll import HyperLogLog
from mlvigil.profile.moments import Moments
from mlvigil.profile.sketches import FrequentItems, QuantileSketch
from mlvigil.schema import (
    INFERENCE_SAMPLE_SIZE,
    MAX_INTEGER_CATEGORIES,
    TEXT_DISTINCT_SHARE,
    ColumnType,
)

__all__ = ["QUANTILE_RANKS", "ColumnProfile", "Label", "TimeExtent", "TimeKind", "ValueKind"]

T = TypeVar("T")

#: A category label: string, integer or boolean.
Label: TypeAlias = str | int | bool

#: Quantiles reported by :meth:`ColumnProfile.to_dict`, by name.
QUANTILE_RANKS = {"p1": 0.01, "p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95,
                  "p99": 0.99}  # fmt: skip


class ValueKind(StrEnum):
    """The kind of values a column holds, from its Arrow type."""

    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    #: Arrow's null type: no values at all (merges with any kind).
    NULL = "null"
    #: Binary, nested and other values: only counted.
    OTHER = "other"


class TimeKind(StrEnum):
    """Which temporal values a datetime column holds, stored as microseconds."""

    TIMESTAMP = "timestamp"
    DURATION = "duration"
    TIME = "time"


_ARROW_TIME = {
    TimeKind.DURATION: pa.duration("us"),
    TimeKind.TIME: pa.time64("us"),
}


@dataclass(frozen=True, slots=True)
class TimeExtent:
    """Earliest and latest value of a datetime column, in microseconds.

    Examples
    --------
    >>> extent = TimeExtent(TimeKind.TIMESTAMP, "UTC", 0, 86_400_000_000)
    >>> extent.bounds()[1].isoformat()
    '1970-01-02T00:00:00+00:00'
    """

    kind: TimeKind
    timezone: str | None
    minimum: int | None
    maximum: int | None

    def as_python(self, value: int) -> datetime | timedelta | time:
        """One stored value as a Python object (aware ``datetime`` when zoned)."""
        arrow_type = _ARROW_TIME.get(self.kind) or pa.timestamp("us", self.timezone)
        result: datetime | timedelta | time = pa.scalar(value, arrow_type).as_py()
        return result

    def bounds(self) -> tuple[Any, Any] | None:
        """``(earliest, latest)`` as Python objects, or ``None`` without values."""
        if self.minimum is None or self.maximum is None:
            return None
        return self.as_python(self.minimum), self.as_python(self.maximum)

    def merge(self, other: TimeExtent) -> TimeExtent:
        """Extent of both; differing time zones leave the result without one."""
        if self.kind != other.kind:
            raise ProfileMergeError(f"one profile holds {self.kind} and the other {other.kind}")
        lows = [v for v in (self.minimum, other.minimum) if v is not None]
        highs = [v for v in (self.maximum, other.maximum) if v is not None]
        return TimeExtent(
            self.kind,
            self.timezone if self.timezone == other.timezone else None,
            min(lows, default=None),
            max(highs, default=None),
        )


def _label_key(label: Label) -> tuple[str, str]:
    return (type(label).__name__, str(label))


def sorted_counts(counts: dict[Label, int]) -> tuple[tuple[Label, int], ...]:
    """Counts as a canonical tuple of ``(label, count)`` pairs, in label order."""
    return tuple(sorted(counts.items(), key=lambda pair: _label_key(pair[0])))


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """Profile of one column; build with :func:`mlvigil.profile.profile_table`.

    Attributes
    ----------
    kind
        Kind of values (:class:`ValueKind`).
    count
        Rows, nulls included.
    nulls
        Null values.
    distinct_sketch
        HyperLogLog counter of distinct non-null, non-NaN values.
    nan, inf
        NaN and infinite (either sign) values of a number column.
    integral
        Whether the numbers are integers.
    dictionary
        Whether the column was dictionary-encoded (always categorical).
    moments
        Count, mean, variance, min and max of the finite numbers.
    quantiles
        KLL sketch of the finite numbers.
    category_counts
        Exact ``(label, count)`` pairs while the column has at most
        ``max_categories`` distinct values; ``None`` otherwise or when not kept.
    categories_capped
        Whether exact counts were dropped for exceeding the cap.
    frequent_items
        Heavy hitters of a string column beyond the cap.
    time
        Earliest and latest value of a datetime column.
    """

    kind: ValueKind
    count: int
    nulls: int
    distinct_sketch: HyperLogLog
    nan: int = 0
    inf: int = 0
    integral: bool = False
    dictionary: bool = False
    moments: Moments | None = None
    quantiles: QuantileSketch | None = None
    category_counts: tuple[tuple[Label, int], ...] | None = None
    categories_capped: bool = False
    frequent_items: FrequentItems | None = None
    time: TimeExtent | None = None

    @property
    def present(self) -> int:
        """Non-null values (NaN and infinities included)."""
        return self.count - self.nulls

    @property
    def counts(self) -> dict[Label, int] | None:
        """Exact category counts as a dict, when kept."""
        return dict(self.category_counts) if self.category_counts is not None else None

    @property
    def distinct(self) -> int:
        """Distinct non-null values: exact while category counts are kept, else estimated."""
        if self.category_counts is not None:
            return len(self.category_counts)
        return round(self.distinct_sketch.estimate())

    @property
    def type(self) -> ColumnType:
        """Column type, by the rules of :func:`mlvigil.schema.infer_column_type`.

        Integers are categorical with at most 10 distinct values; strings are
        text when a 10,000-value sample would hold mostly distinct values,
        computed from the category counts (or frequent items and distinct count).
        """
        if self.nulls == self.count:
            return ColumnType.UNKNOWN
        if self.dictionary:
            return ColumnType.CATEGORICAL
        if self.kind is ValueKind.NUMBER:
            few = self.integral and self.category_counts is not None
            if few and len(self.category_counts or ()) <= MAX_INTEGER_CATEGORIES:
                return ColumnType.CATEGORICAL
            return ColumnType.NUMERICAL
        if self.kind is ValueKind.BOOLEAN:
            return ColumnType.BOOLEAN
        if self.kind is ValueKind.DATETIME:
            return ColumnType.DATETIME
        if self.kind is ValueKind.STRING:
            sample = min(self.present, INFERENCE_SAMPLE_SIZE)
            distinct = self._expected_sample_distinct(sample)
            if sample > 20 and distinct > TEXT_DISTINCT_SHARE * sample:
                return ColumnType.TEXT
            return ColumnType.CATEGORICAL
        return ColumnType.TEXT

    def _expected_sample_distinct(self, sample: int) -> float:
        if sample >= self.present:
            return float(self.distinct)
        n = self.present
        if self.category_counts is not None:
            counts = np.array([c for _, c in self.category_counts], dtype=np.float64)
            return float(np.sum(1.0 - (1.0 - counts / n) ** sample))
        # Beyond the cap: heavy hitters at their certain counts, the rest spread evenly.
        tracked = self.frequent_items.lower_bounds() if self.frequent_items else []
        heavy = np.array([c for _, c in tracked if c > 0], dtype=np.float64)
        expected = float(np.sum(1.0 - (1.0 - np.minimum(heavy / n, 1.0)) ** sample))
        rest_values = max(self.distinct_sketch.estimate() - heavy.size, 0.0)
        rest_share = max(n - heavy.sum(), 0.0) / n
        if rest_values >= 1.0:
            expected += rest_values * (1.0 - (1.0 - rest_share / rest_values) ** sample)
        return expected

    def merge(
        self, other: ColumnProfile, *, max_categories: int, frequent_items_lg_k: int
    ) -> ColumnProfile:
        """Profile of both columns' values together.

        Raises
        ------
        ProfileMergeError
            When the columns hold different kinds of values.
        """
        kind = _merged_kind(self.kind, other.kind)
        counts, capped, frequent = _merged_categories(
            self, other, kind, max_categories, frequent_items_lg_k
        )
        return ColumnProfile(
            kind=kind,
            count=self.count + other.count,
            nulls=self.nulls + other.nulls,
            distinct_sketch=self.distinct_sketch.merge(other.distinct_sketch),
            nan=self.nan + other.nan,
            inf=self.inf + other.inf,
            integral=self.integral and other.integral,
            dictionary=self.dictionary or other.dictionary,
            moments=_merge_optional(self.moments, other.moments, Moments.merge),
            quantiles=_merge_optional(self.quantiles, other.quantiles, QuantileSketch.merge),
            category_counts=counts,
            categories_capped=capped,
            frequent_items=frequent,
            time=_merge_optional(self.time, other.time, TimeExtent.merge),
        )

    def top_items(self, limit: int = 10) -> list[tuple[Label, int, int, int]]:
        """Most frequent values: ``(value, count, lower bound, upper bound)``, most first.

        Exact (all three counts equal) while category counts are kept; from the
        frequent-items sketch beyond the cap; empty for columns without either.
        """
        if self.category_counts is not None:
            ordered = sorted(self.category_counts, key=lambda p: (-p[1], _label_key(p[0])))
            return [(v, c, c, c) for v, c in ordered[:limit]]
        if self.frequent_items is not None:
            return list(self.frequent_items.top(limit))
        return []

    def to_dict(self, *, top: int = 10) -> dict[str, Any]:
        """Plain-JSON summary (as printed by ``mlvigil profile show --format json``)."""
        summary: dict[str, Any] = {
            "type": self.type.value,
            "kind": self.kind.value,
            "count": self.count,
            "nulls": self.nulls,
            "nan": self.nan,
            "inf": self.inf,
            "min": None,
            "max": None,
            "mean": None,
            "std": None,
            "quantiles": None,
            "distinct": self.distinct,
            "distinct_exact": self.category_counts is not None,
            "frequent_items": [list(item) for item in self.top_items(top)],
        }
        if self.moments is not None:
            summary |= {
                "min": self.moments.minimum,
                "max": self.moments.maximum,
                "mean": self.moments.mean if self.moments.n else None,
                "std": self.moments.std,
            }
        if self.quantiles is not None and self.quantiles.n:
            values = self.quantiles.quantiles(list(QUANTILE_RANKS.values()))
            summary["quantiles"] = dict(zip(QUANTILE_RANKS, values, strict=True))
        bounds = self.time.bounds() if self.time is not None else None
        if bounds is not None:
            summary["min"], summary["max"] = (_iso(v) for v in bounds)
        return {key: _finite(value) for key, value in summary.items()}


def _merge_optional(a: T | None, b: T | None, merge: Callable[[T, T], T]) -> T | None:
    if a is None:
        return b
    if b is None:
        return a
    return merge(a, b)


def _merged_kind(a: ValueKind, b: ValueKind) -> ValueKind:
    if a is ValueKind.NULL:
        return b
    if b is ValueKind.NULL or a is b:
        return a
    raise ProfileMergeError(f"one profile holds {a} values and the other {b} values")


def _tracked(profile: ColumnProfile) -> bool:
    return profile.category_counts is not None or profile.categories_capped


def _frequent(profile: ColumnProfile, lg_k: int) -> FrequentItems:
    if profile.frequent_items is not None:
        return profile.frequent_items
    pairs = profile.category_counts or ()
    return FrequentItems.of_counts([str(v) for v, _ in pairs], [c for _, c in pairs], lg_k)


def _merged_categories(
    a: ColumnProfile, b: ColumnProfile, kind: ValueKind, cap: int, lg_k: int
) -> tuple[tuple[tuple[Label, int], ...] | None, bool, FrequentItems | None]:
    if not (_tracked(a) and _tracked(b)):
        return None, False, None
    if a.category_counts is not None and b.category_counts is not None:
        merged = dict(a.category_counts)
        for label, count in b.category_counts:
            merged[label] = merged.get(label, 0) + count
        if len(merged) <= cap:
            return sorted_counts(merged), False, None
        if kind is not ValueKind.STRING:
            return None, True, None
        pairs = sorted_counts(merged)
        items = FrequentItems.of_counts([str(v) for v, _ in pairs], [c for _, c in pairs], lg_k)
        return None, True, items
    if kind is not ValueKind.STRING:
        return None, True, None
    return None, True, _frequent(a, lg_k).merge(_frequent(b, lg_k))


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
