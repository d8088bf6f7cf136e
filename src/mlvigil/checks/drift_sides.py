"""The two sides of a column, prepared for the drift engine from data or from a profile.

The engine (:mod:`mlvigil.checks.drift_engine`) compares columns one way whatever
they come from; a small adapter per kind of input turns one side of one column into
a :class:`Side`:

:class:`DataColumn`, :class:`ReferenceColumn`
    Raw values (an Arrow column): numerical ones sorted into a
    :class:`~mlvigil.stats.samples.SortedSample` of every finite value, categorical
    ones counted. A reference column is read once and keeps its prepared sides, so a
    reference compared with many current tables is sorted or counted only once.
:class:`ProfileColumn`
    A :class:`~mlvigil.profile.ColumnProfile`: its exact category counts, or its KLL
    quantile sketch and exact moments (:class:`~mlvigil.profile.estimates.NumericSide`).

Both count rows, nulls (NaN included once prepared) and infinite values alike, so
the results built from them agree where the sketches are exact.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.drift_report import ColumnStatus
from mlvigil.io.tables import TableSource
from mlvigil.profile.column import ColumnProfile, Label, ValueKind
from mlvigil.profile.estimates import NumericSide
from mlvigil.schema import UNTESTED_TYPES, ColumnType, infer_column_type
from mlvigil.stats.samples import SortedSample, value_counts

__all__ = [
    "ColumnInput",
    "DataColumn",
    "Facts",
    "ProfileColumn",
    "ReferenceColumn",
    "Side",
]


@dataclass(frozen=True, slots=True)
class Side:
    """One side of one column, prepared for the methods.

    Attributes
    ----------
    rows, nulls, infinite
        Rows, null or NaN values, and infinite values (excluded from the tests).
    size
        Values a method can use (finite, non-null).
    counts
        Category counts, for a column compared as categorical.
    sample
        Every finite value, sorted (raw data, numerical).
    sketch
        A quantile sketch and exact moments (a profile, numerical).
    problem
        Status and message when the side could not be prepared.
    """

    rows: int
    nulls: int
    infinite: int = 0
    size: int = 0
    counts: dict[Hashable, int] | None = None
    sample: SortedSample | None = None
    sketch: NumericSide | None = None
    problem: tuple[ColumnStatus, str] | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the engine needs to know of a side before preparing it.

    ``family`` names the kind of values (``number``, ``string``, ``boolean``,
    ``datetime``, ``null``...); sides of different families are compared as text
    when categorical, and are a type mismatch otherwise.
    """

    rows: int
    nulls: int
    family: str


class ColumnInput(Protocol):
    """One side of one column as the engine reads it: facts first, then a prepared side."""

    def facts(self) -> Facts:
        """Rows, nulls and the kind of values."""
        ...

    def inferred_type(self) -> ColumnType:
        """The column type its values suggest."""
        ...

    def prepare(self, column_type: ColumnType, as_text: bool) -> Side:
        """The side counted (categorical types, as text if asked) or sorted/sketched."""
        ...


# ---------------------------------------------------------------- raw data

_READ_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError)


def _family(kind: pa.DataType) -> str:
    if pa.types.is_dictionary(kind):
        return _family(kind.value_type)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_temporal(kind):
        return "datetime"
    if pa.types.is_null(kind):
        return "null"
    return "string"


def _prepare_numerical(values: pa.ChunkedArray) -> Side:
    rows, nulls = len(values), values.null_count
    present = pc.drop_null(values) if nulls else values
    array = present.cast(pa.float64()).to_numpy()
    finite = np.isfinite(array)
    infinite = 0
    if not finite.all():
        nans = int(np.isnan(array).sum())
        nulls += nans
        infinite = int((~finite).sum()) - nans
        array = array[finite]
    ordered = np.sort(array)
    ordered.flags.writeable = False  # a prepared reference shares it between comparisons
    return Side(rows, nulls, infinite, len(ordered), sample=SortedSample(ordered))


def _prepare_categorical(values: pa.ChunkedArray) -> Side:
    rows = len(values)
    present = pc.drop_null(values)
    if pa.types.is_floating(present.type):
        present = present.filter(pc.invert(pc.is_nan(present)))
    if pa.types.is_dictionary(present.type):
        present = present.cast(present.type.value_type)
    counts = value_counts(present)
    return Side(rows, rows - len(present), size=sum(counts.values()), counts=counts)


def _prepare_values(values: pa.ChunkedArray, categorical: bool, as_text: bool) -> Side | str:
    """The prepared side, or why the values cannot be read that way."""
    try:
        if as_text:
            values = values.cast(pa.string())
        return _prepare_categorical(values) if categorical else _prepare_numerical(values)
    except _READ_ERRORS as error:
        return str(error)


def _unreadable(values_rows: int, nulls: int, column_type: ColumnType, reason: str) -> Side:
    message = f"cannot read values as {column_type.value}: {reason}"
    return Side(
        values_rows, nulls, size=values_rows - nulls, problem=(ColumnStatus.TYPE_MISMATCH, message)
    )


class DataColumn:
    """One side of one column from raw values at hand (the current table's)."""

    def __init__(self, values: pa.ChunkedArray) -> None:
        self._values = values

    def facts(self) -> Facts:
        """Rows, nulls and the kind of values, from the Arrow column."""
        return Facts(len(self._values), self._values.null_count, _family(self._values.type))

    def inferred_type(self) -> ColumnType:
        """The type :func:`~mlvigil.schema.infer_column_type` gives the values."""
        return infer_column_type(self._values)

    def prepare(self, column_type: ColumnType, as_text: bool) -> Side:
        """The values counted or sorted; an unreadable column gives a type mismatch."""
        side = _prepare_values(self._values, column_type.is_categorical, as_text)
        if isinstance(side, str):
            return _unreadable(len(self._values), self._values.null_count, column_type, side)
        return side


class ReferenceColumn:
    """One reference column: read on first use, then prepared once per way it is compared.

    Only the prepared sides are kept; the raw values are dropped once a side exists
    (or at once for types that are not tested), and read again only if the column is
    ever prepared another way. Safe to share between threads.
    """

    def __init__(self, name: str, source: TableSource, declared: ColumnType | None) -> None:
        self.name = name
        self._source = source
        self._declared = declared
        self._lock = threading.Lock()
        self._values: pa.ChunkedArray | None = None
        self._facts: Facts | None = None
        self._inferred = ColumnType.UNKNOWN
        # Keyed by (categorical, as_text); a side that cannot be prepared is the reason.
        self._sides: dict[tuple[bool, bool], Side | str] = {}

    def _read(self) -> Facts:
        # Under the lock.
        if self._facts is None:
            values = self._source.column(self.name)
            self._facts = Facts(len(values), values.null_count, _family(values.type))
            self._inferred = infer_column_type(values)
            skipped = (self._declared or self._inferred) in UNTESTED_TYPES
            self._values = None if skipped else values
        return self._facts

    def facts(self) -> Facts:
        """Rows, nulls and the kind of values (reads the column on first use)."""
        with self._lock:
            return self._read()

    def inferred_type(self) -> ColumnType:
        """The type inferred from the values when the column was read."""
        with self._lock:
            self._read()
            return self._inferred

    def prepare(self, column_type: ColumnType, as_text: bool) -> Side:
        """The values counted or sorted, once per way; kept for later comparisons."""
        how = (column_type.is_categorical, as_text)
        with self._lock:
            facts = self._read()
            side = self._sides.get(how)
            if side is None:
                values = self._values
                if values is None:
                    values = self._source.column(self.name)
                self._values = None
                side = _prepare_values(values, *how)
                self._sides[how] = side
        if isinstance(side, str):
            return _unreadable(facts.rows, facts.nulls, column_type, side)
        return side


# ---------------------------------------------------------------- profiles


def _string_label(label: Label) -> str:
    # As Arrow casts values to strings, which is what the data side compares then.
    if isinstance(label, bool):
        return "true" if label else "false"
    return str(label)


class ProfileColumn:
    """One side of one column from its profile: exact category counts, or a sketch."""

    def __init__(self, profile: ColumnProfile) -> None:
        self._profile = profile

    def facts(self) -> Facts:
        """Rows, nulls and the kind of values the profile counted."""
        return Facts(self._profile.count, self._profile.nulls, self._profile.kind.value)

    def inferred_type(self) -> ColumnType:
        """The profile's own column type."""
        return self._profile.type

    def prepare(self, column_type: ColumnType, as_text: bool) -> Side:
        """Exact category counts, or the quantile sketch and moments."""
        if column_type.is_categorical:
            return self._categorical(as_text)
        return self._numerical(column_type)

    def _categorical(self, as_text: bool) -> Side:
        profile = self._profile
        rows, nulls = profile.count, profile.nulls + profile.nan
        counts = profile.counts
        if counts is None:
            if profile.categories_capped:
                reason = (
                    f"about {profile.distinct:,} categories, more than the profile keeps exact "
                    "counts for; profile with a higher ProfileConfig.max_categories to test it"
                )
            else:
                reason = f"the profile holds no category counts for its {profile.kind.value} values"
            size = profile.present - profile.nan
            return Side(rows, nulls, size=size, problem=(ColumnStatus.ERROR, reason))
        labels: dict[Hashable, int] = {
            (_string_label(k) if as_text else k): v for k, v in counts.items()
        }
        return Side(rows, nulls, size=sum(labels.values()), counts=labels)

    def _numerical(self, column_type: ColumnType) -> Side:
        profile = self._profile
        rows, nulls = profile.count, profile.nulls + profile.nan
        if profile.quantiles is None or profile.moments is None:
            if profile.kind is ValueKind.NULL:
                return Side(rows, nulls)
            message = (
                f"cannot read values as {column_type.value}: "
                f"the profile holds {profile.kind.value} values"
            )
            return Side(
                rows, nulls, size=profile.present, problem=(ColumnStatus.TYPE_MISMATCH, message)
            )
        sketch = NumericSide(profile.quantiles, profile.moments)
        return Side(rows, nulls, profile.inf, profile.moments.n, sketch=sketch)
