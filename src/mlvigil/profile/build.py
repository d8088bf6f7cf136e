"""Profiling one Arrow column: every update is vectorised, none loops over values.

Numbers are converted to float64 once; that one array feeds the moments, the
KLL sketch and the distinct counter. Strings, booleans and few-valued integers
are counted with Arrow's ``value_counts``, and only the distinct values (not
every row) go on to the distinct counter and, past the cap, the frequent-items
sketch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.profile.column import (
    ColumnProfile,
    Label,
    TimeExtent,
    TimeKind,
    ValueKind,
    sorted_counts,
)
from mlvigil.profile.config import ProfileConfig
from mlvigil.profile.hll import HyperLogLog
from mlvigil.profile.moments import Moments
from mlvigil.profile.sketches import FrequentItems, QuantileSketch

__all__ = ["kind_of", "profile_column"]

FloatArray = npt.NDArray[np.float64]

#: Values of a numerical column processed at a time (2 MB of float64).
_SLICE = 1 << 18

#: Skip exact counting of integers when the distinct counter already says the
#: cap is exceeded: 6 standard errors of margin at the default precision.
_CAP_MARGIN = 1.1


def kind_of(arrow_type: pa.DataType) -> ValueKind:
    """The :class:`ValueKind` of an Arrow type (dictionaries by their values).

    Examples
    --------
    >>> kind_of(pa.int8()), kind_of(pa.large_string()), kind_of(pa.date32())
    (<ValueKind.NUMBER: 'number'>, <ValueKind.STRING: 'string'>, <ValueKind.DATETIME: 'datetime'>)
    """
    if pa.types.is_dictionary(arrow_type):
        return kind_of(arrow_type.value_type)
    if (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
    ):
        return ValueKind.NUMBER
    if pa.types.is_boolean(arrow_type):
        return ValueKind.BOOLEAN
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return ValueKind.STRING
    if pa.types.is_string_view(arrow_type):
        return ValueKind.STRING
    temporal = (pa.types.is_timestamp, pa.types.is_date, pa.types.is_duration, pa.types.is_time)
    if any(check(arrow_type) for check in temporal):
        return ValueKind.DATETIME
    if pa.types.is_null(arrow_type):
        return ValueKind.NULL
    return ValueKind.OTHER


def _value_counts(values: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    counted = pc.value_counts(values)
    return counted.field("values"), counted.field("counts")


def _categories(
    distinct: pa.Array, counts: pa.Array, config: ProfileConfig, kind: ValueKind
) -> tuple[dict[Label, int] | None, FrequentItems | None]:
    """Exact counts under the cap; past it, frequent items for strings only."""
    labels, numbers = distinct.to_pylist(), counts.to_pylist()
    if len(labels) <= config.max_categories:
        return dict(zip(labels, numbers, strict=True)), None
    if kind is not ValueKind.STRING:
        return None, None
    return None, FrequentItems.of_counts(labels, numbers, config.frequent_items_lg_k)


class _NumberTally:
    """NaN and infinity counts and moments, gathered while slices stream to the KLL sketch."""

    def __init__(self) -> None:
        self.nan = 0
        self.inf = 0
        self.moments = Moments()

    def finite_slices(self, array: FloatArray) -> Iterator[FloatArray]:
        # Slices keep every temporary copy a few MB, however long the column.
        for start in range(0, array.size, _SLICE):
            part = array[start : start + _SLICE]
            finite = np.isfinite(part)
            if not finite.all():
                nan = int(np.count_nonzero(np.isnan(part)))
                self.nan += nan
                self.inf += int(part.size - np.count_nonzero(finite)) - nan
                part = part[finite]
            self.moments = self.moments.merge(Moments.of(part))
            yield part


def _profile_numbers(
    present: pa.ChunkedArray, base: ColumnProfile, config: ProfileConfig, counted: bool
) -> ColumnProfile:
    array = present.cast(pa.float64(), safe=False).to_numpy()
    # Integers are hashed as their float64 value, so 1 and 1.0 are one distinct value.
    distinct = HyperLogLog.of_floats(array, config.distinct_precision)
    tally = _NumberTally()
    # Past quantile_k values the sketch sorts one copy of the finite values, once:
    # a deterministic sketch, the same bytes for the same column in any process.
    quantiles = QuantileSketch.of(tally.finite_slices(array), config.quantile_k)
    counts: dict[Label, int] | None = None
    capped = False
    if counted:
        capped = distinct.estimate() > _CAP_MARGIN * config.max_categories
        if not capped:
            counts, _ = _categories(*_value_counts(present), config, ValueKind.NUMBER)
            capped = counts is None
    return ColumnProfile(
        kind=ValueKind.NUMBER,
        count=base.count,
        nulls=base.nulls,
        distinct_sketch=distinct,
        nan=tally.nan,
        inf=tally.inf,
        integral=pa.types.is_integer(present.type),
        dictionary=base.dictionary,
        moments=tally.moments,
        quantiles=quantiles,
        category_counts=None if counts is None else sorted_counts(counts),
        categories_capped=capped,
    )


def _profile_categories(
    present: pa.ChunkedArray, base: ColumnProfile, config: ProfileConfig
) -> ColumnProfile:
    distinct, counts = _value_counts(present)
    exact, frequent = _categories(distinct, counts, config, base.kind)
    return ColumnProfile(
        kind=base.kind,
        count=base.count,
        nulls=base.nulls,
        distinct_sketch=HyperLogLog.of(distinct, config.distinct_precision),
        dictionary=base.dictionary,
        category_counts=None if exact is None else sorted_counts(exact),
        categories_capped=exact is None,
        frequent_items=frequent,
    )


def _as_microseconds(values: pa.ChunkedArray) -> tuple[pa.ChunkedArray, TimeKind, str | None]:
    kind = values.type
    if pa.types.is_timestamp(kind):
        target, time_kind, zone = pa.timestamp("us", kind.tz), TimeKind.TIMESTAMP, kind.tz
    elif pa.types.is_date(kind):
        target, time_kind, zone = pa.timestamp("us"), TimeKind.TIMESTAMP, None
    elif pa.types.is_duration(kind):
        target, time_kind, zone = pa.duration("us"), TimeKind.DURATION, None
    else:
        target, time_kind, zone = pa.time64("us"), TimeKind.TIME, None
    # Sub-microsecond precision is truncated: profiles store microseconds.
    return values.cast(target, safe=False).cast(pa.int64()), time_kind, zone


def _profile_times(
    present: pa.ChunkedArray, base: ColumnProfile, config: ProfileConfig
) -> ColumnProfile:
    micros, time_kind, zone = _as_microseconds(present)
    bounds = pc.min_max(micros)
    return ColumnProfile(
        kind=ValueKind.DATETIME,
        count=base.count,
        nulls=base.nulls,
        distinct_sketch=HyperLogLog.of(micros, config.distinct_precision),
        time=TimeExtent(time_kind, zone, bounds["min"].as_py(), bounds["max"].as_py()),
    )


def profile_column(values: pa.ChunkedArray, config: ProfileConfig) -> ColumnProfile:
    """Profile one column.

    Examples
    --------
    >>> profile = profile_column(pa.chunked_array([["a", "b", "a", None]]), ProfileConfig())
    >>> profile.count, profile.nulls, profile.counts
    (4, 1, {'a': 2, 'b': 1})
    """
    dictionary = pa.types.is_dictionary(values.type)
    if dictionary:
        values = values.cast(values.type.value_type)
    if pa.types.is_string_view(values.type):
        values = values.cast(pa.large_string())
    kind = kind_of(values.type)
    base = ColumnProfile(
        kind=kind,
        count=len(values),
        nulls=values.null_count,
        distinct_sketch=HyperLogLog(config.distinct_precision),
        dictionary=dictionary,
    )
    present = pc.drop_null(values) if values.null_count else values
    if kind is ValueKind.NUMBER:
        # Exact counts for integers only: float labels gain nothing over the KLL sketch.
        counted = pa.types.is_integer(values.type)
        return _profile_numbers(present, base, config, counted=counted)
    if kind in (ValueKind.STRING, ValueKind.BOOLEAN):
        return _profile_categories(present, base, config)
    if kind is ValueKind.DATETIME:
        return _profile_times(present, base, config)
    if kind is ValueKind.NULL:
        # No values: neutral for every part, so it merges with a column of any kind.
        return ColumnProfile(
            kind=kind,
            count=base.count,
            nulls=base.count,
            distinct_sketch=base.distinct_sketch,
            integral=True,
            category_counts=(),
        )
    return base
