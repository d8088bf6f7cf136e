"""Tables as numbers for multivariate methods: one encoder fitted on the reference.

:class:`TabularEncoder` learns from the reference, once, how to turn any table with the
same columns into a float64 matrix:

- numbers: missing (null, NaN, infinite) values take the reference mean;
- categories, booleans and text: missing values take the reference's most frequent
  value, and each value becomes its share in the reference (frequency encoding; a
  value the reference never had becomes 0, so new categories stand out);
- datetimes: seconds since the Unix epoch, missing ones the reference mean;

then every column is standardised with the reference mean and standard deviation. A
column that is constant on the reference (or all null) carries no information and is
left out, with the reason in :attr:`TabularEncoder.dropped`.

:class:`EmbeddingEncoder` reads one embedding column (an Arrow list or fixed-size list
of numbers of one length) as a matrix of its own, rows with a missing vector or value
left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.exceptions import InputError
from mlvigil.io.conform import ConformError, as_category_text, conform_column
from mlvigil.schema import ColumnType, infer_column_type, is_vector_type

__all__ = ["EmbeddingEncoder", "TabularEncoder"]

_MICROS = 1e6


def _chunked(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


def _conformed(name: str, values: pa.ChunkedArray, kind: ColumnType) -> pa.ChunkedArray:
    try:
        if kind is ColumnType.BOOLEAN:
            return as_category_text(conform_column(values, ColumnType.BOOLEAN))
        return conform_column(values, kind)
    except ConformError as error:
        raise InputError(f"column {name!r} ({kind.value}): {error}") from None


def _numbers(name: str, values: pa.ChunkedArray, kind: ColumnType) -> np.ndarray:
    """Numbers (datetimes as epoch seconds) with NaN for every missing or infinite value."""
    column = _conformed(name, values, kind)
    if kind is ColumnType.DATETIME:
        column = column.cast(pa.int64())
    numbers = np.array(column.to_numpy(), dtype=np.float64)  # a copy; nulls become NaN
    if kind is ColumnType.DATETIME:
        numbers = numbers / _MICROS
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers


@dataclass(frozen=True)
class _Numeric:
    name: str
    kind: ColumnType
    fill: float

    def encode(self, values: pa.ChunkedArray) -> np.ndarray:
        numbers = _numbers(self.name, values, self.kind)
        numbers[np.isnan(numbers)] = self.fill
        return numbers


@dataclass(frozen=True)
class _Frequency:
    name: str
    kind: ColumnType
    categories: pa.Array
    shares: np.ndarray
    fill: float

    def encode(self, values: pa.ChunkedArray) -> np.ndarray:
        column = _conformed(self.name, values, self.kind)
        found = pc.index_in(column, value_set=self.categories)
        positions = np.asarray(found.fill_null(-1).to_numpy(), dtype=np.int64)
        codes = np.where(positions >= 0, self.shares[np.maximum(positions, 0)], 0.0)
        missing = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        codes[missing] = self.fill
        return codes


_Column = _Numeric | _Frequency


def _fit_column(name: str, values: pa.ChunkedArray, kind: ColumnType) -> _Column | str:
    """The column's encoding, or why it cannot have one."""
    if kind is ColumnType.UNKNOWN:
        return "all null"
    if kind in (ColumnType.NUMERICAL, ColumnType.DATETIME):
        numbers = _numbers(name, values, kind)
        if np.isnan(numbers).all():
            return "all null"
        return _Numeric(name, kind, float(np.nanmean(numbers)))
    column = _conformed(name, values, kind)
    counts = pc.value_counts(pc.drop_null(column))
    if len(counts) == 0:
        return "all null"
    categories = counts.field("values")
    tallies = np.asarray(counts.field("counts").to_numpy(), dtype=np.float64)
    shares = tallies / tallies.sum()
    return _Frequency(name, kind, categories, shares, float(shares[int(np.argmax(tallies))]))


@dataclass(frozen=True)
class TabularEncoder:
    """How to encode tabular columns as one standardised float64 matrix.

    Make one with :meth:`fit`; :meth:`transform` applies it to any table with the columns.

    Attributes
    ----------
    columns
        The encoded columns, one matrix column each, in order.
    dropped
        ``(column, reason)`` of the columns left out (all null, constant).
    mean, std
        The reference mean and standard deviation of each encoded column.

    Examples
    --------
    >>> reference = pa.table({"x": [1.0, 2.0, None, 3.0], "c": ["a", "a", "b", None],
    ...                       "k": [1.0, 1.0, 1.0, 1.0]})
    >>> encoder = TabularEncoder.fit(reference, ["x", "c", "k"])
    >>> encoder.columns, encoder.dropped
    (('x', 'c'), (('k', 'constant'),))
    >>> encoder.transform(pa.table({"x": [2.0], "c": ["z"], "k": [1.0]})).round(3).tolist()
    [[0.0, -4.041]]
    """

    encoders: tuple[_Column, ...]
    mean: np.ndarray
    std: np.ndarray
    dropped: tuple[tuple[str, str], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The encoded columns, in matrix order."""
        return tuple(e.name for e in self.encoders)

    @classmethod
    def fit(
        cls,
        reference: pa.Table,
        columns: Sequence[str],
        schema: Mapping[str, ColumnType] | None = None,
    ) -> TabularEncoder:
        """Learn the encoding of ``columns`` from the reference rows.

        Parameters
        ----------
        reference
            The reference rows.
        columns
            Tabular columns to encode (not embeddings).
        schema
            Column types; a column without one gets an inferred type.

        Raises
        ------
        InputError
            When a column is missing or its values cannot take its declared type.
        """
        kinds = dict(schema or {})
        fitted: list[_Column] = []
        dropped: list[tuple[str, str]] = []
        for name in columns:
            if name not in reference.column_names:
                raise InputError(f"column {name!r} not found in the reference")
            values = _chunked(reference.column(name))
            kind = kinds.get(name) or infer_column_type(values)
            found = _fit_column(name, values, kind)
            if isinstance(found, str):
                dropped.append((name, found))
            else:
                fitted.append(found)
        matrix = _stack([e.encode(_chunked(reference.column(e.name))) for e in fitted],
                        reference.num_rows)  # fmt: skip
        mean = matrix.mean(axis=0) if reference.num_rows else np.zeros(len(fitted))
        std = matrix.std(axis=0) if reference.num_rows else np.zeros(len(fitted))
        # Scale-relative test: rounding noise on a constant column is not information.
        varies = std > 1e-12 * np.maximum(1.0, np.abs(mean))
        dropped += [
            (e.name, "constant") for e, keep in zip(fitted, varies, strict=True) if not keep
        ]
        kept = tuple(e for e, keep in zip(fitted, varies, strict=True) if keep)
        order = {name: i for i, name in enumerate(columns)}
        dropped.sort(key=lambda item: order[item[0]])  # in table order
        return cls(kept, mean[varies], std[varies], tuple(dropped))

    def transform(self, table: pa.Table) -> np.ndarray:
        """The standardised matrix of ``table``'s rows (rows × :attr:`columns`).

        Raises
        ------
        InputError
            When a column is missing or its values cannot take its type.
        """
        missing = [e.name for e in self.encoders if e.name not in table.column_names]
        if missing:
            raise InputError(f"columns not found: {', '.join(map(repr, missing))}")
        matrix = _stack(
            [e.encode(_chunked(table.column(e.name))) for e in self.encoders], table.num_rows
        )
        standardised: np.ndarray = (matrix - self.mean) / self.std
        return standardised


def _stack(columns: Sequence[np.ndarray], rows: int) -> np.ndarray:
    if not columns:
        return np.empty((rows, 0), dtype=np.float64)
    return np.column_stack(columns).astype(np.float64, copy=False)


@dataclass(frozen=True)
class EmbeddingEncoder:
    """How to read one embedding column: its name and vector length.

    Examples
    --------
    >>> values = pa.array([[0.0, 1.0], None, [2.0, 3.0]], pa.list_(pa.float32()))
    >>> encoder = EmbeddingEncoder.fit("vec", values)
    >>> matrix, kept = encoder.transform(values)
    >>> encoder.dim, matrix.tolist(), kept.tolist()
    (2, [[0.0, 1.0], [2.0, 3.0]], [True, False, True])
    """

    name: str
    dim: int

    @classmethod
    def fit(cls, name: str, values: pa.Array | pa.ChunkedArray) -> EmbeddingEncoder:
        """The vector length of the column's reference values.

        Raises
        ------
        InputError
            When the column is not a list of numbers, has vectors of different lengths,
            or no complete vector.
        """
        column = _chunked(values)
        if not is_vector_type(column.type):
            raise InputError(
                f"column {name!r} holds {column.type}, not embeddings (lists of numbers)"
            )
        lengths = pc.drop_null(pc.list_value_length(column))
        if len(lengths) == 0:
            raise InputError(f"embedding column {name!r} has no vector in the reference")
        low, high = pc.min_max(lengths).values()
        if low.as_py() != high.as_py() or not high.as_py():
            raise InputError(
                f"embedding column {name!r} has vectors of {low.as_py()} to {high.as_py()} "
                "values; every vector must have the same length (at least 1)"
            )
        return cls(name, int(high.as_py()))

    def transform(self, values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        """The vectors as a float64 matrix, and which rows they are (a boolean mask).

        Rows with a missing vector, a missing or non-finite value are left out.

        Raises
        ------
        InputError
            When a vector has another length than the reference's.
        """
        column = _chunked(values).combine_chunks()
        if not is_vector_type(column.type):
            raise InputError(f"column {self.name!r} holds {column.type}, not embeddings")
        lengths = np.asarray(pc.list_value_length(column).fill_null(0).to_numpy(), dtype=np.int64)
        present = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if np.any(lengths[present] != self.dim):
            raise InputError(
                f"embedding column {self.name!r} has vectors of another length than the "
                f"reference's {self.dim}"
            )
        everyone = bool(present.all())  # the usual case: no copy of the vectors to drop rows
        rows = column if everyone else column.filter(pa.array(present))
        flat = pc.list_flatten(rows).cast(pa.float64())
        matrix = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float64)
        matrix = matrix.reshape(len(rows), self.dim)
        complete = np.isfinite(matrix).all(axis=1)
        kept = present.copy()
        kept[present] = complete
        return (matrix if everyone and complete.all() else matrix[complete]), kept
