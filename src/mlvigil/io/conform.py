"""Columns as the schema declares them: numbers, category text, booleans, UTC times.

Data arrives in many shapes for one meaning: a class ``1`` comes as the integer ``1``
from a JSON client, ``1.0`` from a pandas float column, ``"1"`` from a CSV and ``True``
from a boolean label. Each declared type has one stored form, and every path into
mlvigil (JSON and columnar ingest, reference files) goes through this module, so the
same value is stored and compared the same way whichever path it took:

- ``numerical``: float64; NaN is a missing value (as pandas means it), stored as null;
- ``categorical`` and ``text``: text, with numbers written canonically (``1``, ``1.0``
  and ``1.00`` are all ``"1"``; ``0.5`` is ``"0.5"``), booleans as ``"true"`` /
  ``"false"`` and strings unchanged;
- ``boolean``: true/false, also read from ``0``/``1`` and the strings ``"true"``,
  ``"false"``, ``"0"``, ``"1"`` (any case);
- ``embedding``: lists of float32, every vector of a column of one length (read from
  any list or fixed-size list of numbers);
- ``datetime``: UTC timestamps, also read from ISO 8601 text (naive times are UTC), and
  from integer or float epochs only with their unit (``s``, ``ms``, ``us``, ``ns``):
  a bare number could be any of them, so without a unit it is refused.

A value that cannot take its column's type raises :class:`ConformError` with a message
naming the value, for the caller to put in context (a row, a column, a file).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.exceptions import InputError
from mlvigil.schema import ColumnType, is_vector_type

__all__ = [
    "STORED_TYPES",
    "TIME_UNITS",
    "ConformError",
    "TimeUnit",
    "as_boolean",
    "as_category_text",
    "category_text",
    "conform_column",
    "first_unequal_vector",
]

#: The Arrow type each declared column type is stored as.
STORED_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.NUMERICAL: pa.float64(),
    ColumnType.CATEGORICAL: pa.string(),
    ColumnType.TEXT: pa.string(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.DATETIME: pa.timestamp("us", tz="UTC"),
    ColumnType.EMBEDDING: pa.list_(pa.float32()),
}

#: Integral floats below this magnitude are written as integers (``1.0`` -> ``"1"``);
#: beyond it a float no longer holds every integer exactly.
_EXACT_INTEGERS = 2.0**53

TimeUnit = Literal["s", "ms", "us", "ns"]
#: Microseconds per unit of an epoch number (the stored times are in microseconds).
TIME_UNITS: dict[TimeUnit, float] = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}
#: What to do with an epoch number that has no unit (the message names the options).
NO_UNIT = (
    "send ISO 8601 text (e.g. 2026-11-24T12:00:00Z) or an Arrow timestamp type, or set "
    "schema.timestamp_unit (s, ms, us or ns) in mlvigil.yaml to send epoch numbers"
)

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


class ConformError(InputError):
    """A value or column that cannot take its declared type; the message says why.

    An :class:`~mlvigil.exceptions.InputError`, hence also a ``ValueError``.
    """


def category_text(value: Any) -> str | None:
    """The canonical text of one category value.

    Examples
    --------
    >>> [category_text(v) for v in (1, 1.0, "1", True, 0.5, None, float("nan"), "yes")]
    ['1', '1', '1', 'true', '0.5', None, None, 'yes']
    """
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        if number.is_integer() and abs(number) < _EXACT_INTEGERS:
            return str(int(number))
        return repr(number)
    raise ConformError(f"expected a category (text, a number or true/false), got {_show(value)}")


def as_boolean(value: Any) -> bool | None:
    """One value as true or false.

    Examples
    --------
    >>> [as_boolean(v) for v in (True, 1, 0.0, "TRUE", "0", None)]
    [True, True, False, True, False, None]
    """
    if value is None or type(value) is bool:
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
    raise ConformError(f"expected true or false (or 1 or 0), got {_show(value)}")


def _show(value: Any) -> str:
    """A short view of a value for a message; containers by size, never whole."""
    if isinstance(value, dict):
        return f"an object of {len(value)} keys"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    text = repr(value[:40] if isinstance(value, str | bytes) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def _chunked(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


def _is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _decoded(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dictionary (pandas ``category``) and view columns as plain values."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_string_view(values.type) or pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    return values


def as_category_text(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as canonical category text (see :func:`category_text`).

    Only the distinct values are converted, so a million rows of a few classes cost a
    few conversions.

    Examples
    --------
    >>> as_category_text(pa.array([1.0, 0.0, None, 1.0])).to_pylist()
    ['1', '0', None, '1']
    """
    column = _decoded(_chunked(values))
    if _is_text(column.type):
        return column
    if pa.types.is_null(column.type):
        return column.cast(pa.string())
    if not (
        pa.types.is_integer(column.type)
        or pa.types.is_floating(column.type)
        or pa.types.is_boolean(column.type)
        or pa.types.is_decimal(column.type)
    ):
        raise ConformError(f"cannot read {column.type} values as categories")
    encoded = pc.dictionary_encode(column).combine_chunks()
    texts = pa.array([category_text(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return pa.chunked_array([texts.take(encoded.indices)])


def _as_numbers(column: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        numbers = column.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    else:
        nan = pc.is_nan(numbers)
        if not pc.any(nan).as_py():
            return numbers
        return pc.if_else(nan, pa.scalar(None, pa.float64()), numbers)
    if _is_text(column.type):
        bad = _first_unparsable(column)
        raise ConformError(f"cannot read {bad!r} as a number")
    raise ConformError(f"cannot read {column.type} values as numbers")


def _first_unparsable(column: pa.ChunkedArray) -> str:
    for text in pc.unique(column).to_pylist():
        if text is None:
            continue
        try:
            float(text)
        except ValueError:
            return str(text)[:40]
    return "?"


def _as_booleans(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_boolean(column.type):
        return column
    if pa.types.is_null(column.type):
        return column.cast(pa.bool_())
    encoded = pc.dictionary_encode(column).combine_chunks()
    try:
        flags = pa.array([as_boolean(v) for v in encoded.dictionary.to_pylist()], pa.bool_())
    except ConformError:
        raise ConformError(f"cannot read {column.type} values as true/false") from None
    return pa.chunked_array([flags.take(encoded.indices)])


def _as_times(column: pa.ChunkedArray, unit: TimeUnit | None) -> pa.ChunkedArray:
    target = STORED_TYPES[ColumnType.DATETIME]
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        if unit is None:
            raise ConformError(f"{kind} values are epoch numbers of no stated unit; {NO_UNIT}")
        return _from_epoch(column, unit)
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            return pc.assume_timezone(column.cast(pa.timestamp("us")), "UTC").cast(target)
        return column.cast(target)
    if pa.types.is_date(kind):
        return column.cast(pa.timestamp("us")).cast(target)
    if pa.types.is_null(kind):
        return column.cast(target)
    if _is_text(kind):
        try:
            return column.cast(target)  # ISO 8601, with or without an offset
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return pa.chunked_array([pa.array(_parse_times(column), target)])
    raise ConformError(f"cannot read {kind} values as times; send ISO 8601 text or timestamps")


#: Epoch microseconds within the stored range (years 1 to 9999, with room to spare).
_MAX_MICROS = 2**62


def _from_epoch(column: pa.ChunkedArray, unit: TimeUnit) -> pa.ChunkedArray:
    """Epoch numbers in ``unit`` as UTC timestamps, refusing what no timestamp can hold."""
    target = STORED_TYPES[ColumnType.DATETIME]
    factor = TIME_UNITS[unit]
    if pa.types.is_integer(column.type):
        try:  # exact integer arithmetic, overflow checked
            whole = column.cast(pa.int64())
            micros = (
                pc.divide(whole, 1000) if unit == "ns" else pc.multiply_checked(whole, int(factor))
            )
        except pa.ArrowInvalid:
            raise ConformError(f"an epoch number in {unit} is beyond any time") from None
        if (pc.max(pc.abs_checked(micros)).as_py() or 0) <= _MAX_MICROS:
            return micros.cast(target)
        raise ConformError(f"an epoch number in {unit} is beyond any time")
    micros = pc.multiply(column.cast(pa.float64()), factor)
    finite = pc.is_finite(micros)
    if not pc.all(finite).as_py() or (pc.max(pc.abs(micros)).as_py() or 0) > _MAX_MICROS:
        raise ConformError(f"an epoch number in {unit} is not finite or beyond any time")
    return pc.round(micros).cast(pa.int64()).cast(target)


def _parse_times(column: pa.ChunkedArray) -> list[datetime | None]:
    parsed: list[datetime | None] = []
    for text in column.to_pylist():
        if text is None:
            parsed.append(None)
            continue
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ConformError(
                f"cannot read {text[:40]!r} as a time; write ISO 8601 such as 2026-11-24T12:00:00Z"
            ) from None
        parsed.append(moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment)
    return parsed


def first_unequal_vector(values: pa.Array | pa.ChunkedArray) -> tuple[int, int, int] | None:
    """The first vector whose length differs from the first vector's, if any.

    Returns ``(row, its length, the first vector's length)``; missing vectors are not
    compared.

    Examples
    --------
    >>> first_unequal_vector(pa.array([[1.0, 2.0], None, [3.0], [4.0, 5.0]]))
    (2, 1, 2)
    """
    lengths = pc.list_value_length(_chunked(values)).to_numpy(zero_copy_only=False)
    present = np.flatnonzero(~np.isnan(lengths.astype(np.float64)))
    if len(present) == 0:
        return None
    first = lengths[present[0]]
    unequal = present[lengths[present] != first]
    if len(unequal) == 0:
        return None
    row = int(unequal[0])
    return row, int(lengths[row]), int(first)


def _as_vectors(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_null(column.type):
        return column.cast(STORED_TYPES[ColumnType.EMBEDDING])
    if not is_vector_type(column.type):
        raise ConformError(f"expected lists of numbers (an embedding), got {column.type} values")
    unequal = first_unequal_vector(column)
    if unequal is not None:
        row, length, first = unequal
        raise ConformError(
            f"row {row} holds a vector of {length} values and the first vector {first}; "
            "every vector of an embedding column has the same length"
        )
    return column.cast(STORED_TYPES[ColumnType.EMBEDDING])


def conform_column(
    values: pa.Array | pa.ChunkedArray, kind: ColumnType, *, unit: TimeUnit | None = None
) -> pa.ChunkedArray:
    """A column in the stored form of its declared type (see the module docstring).

    ``unit`` is that of epoch numbers in a ``datetime`` column; without one they are
    refused.

    Raises
    ------
    ConformError
        When a value cannot take that type.

    Examples
    --------
    >>> conform_column(pa.array(["1.5", "2"]), ColumnType.NUMERICAL).to_pylist()
    [1.5, 2.0]
    >>> conform_column(pa.array([1, 0]), ColumnType.BOOLEAN).to_pylist()
    [True, False]
    >>> conform_column(pa.array(["2026-11-24T12:00:00Z"]), ColumnType.DATETIME).type
    TimestampType(timestamp[us, tz=UTC])
    >>> conform_column(pa.array([1.5, float("nan")]), ColumnType.NUMERICAL).to_pylist()
    [1.5, None]
    >>> conform_column(pa.array([1_764_000_000]), ColumnType.DATETIME, unit="s")[0]
    <pyarrow.TimestampScalar: '2025-11-24T16:00:00.000000+0000'>
    """
    column = _decoded(_chunked(values))
    if kind is ColumnType.NUMERICAL:
        return _as_numbers(column)
    if kind in (ColumnType.CATEGORICAL, ColumnType.TEXT):
        return as_category_text(column)
    if kind is ColumnType.BOOLEAN:
        return _as_booleans(column)
    if kind is ColumnType.DATETIME:
        return _as_times(column, unit)
    if kind is ColumnType.EMBEDDING:
        return _as_vectors(column)
    raise ConformError(f"no stored form for columns of type {kind.value}")
