"""Columns of a table as the estimators read them: numbers, classes, encoded features.

Inputs arrive as users send them (pandas float labels ``1.0``/``0.0``, ``category``
columns, pandas 3 strings, numbers sent as text), so each reader says in words why a
column cannot be read instead of letting a pyarrow error through. Nulls are NaN for
numbers and ``None`` for classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.classes import ClassSet
from mlvigil.exceptions import InputError
from mlvigil.io.conform import ConformError, as_category_text
from mlvigil.io.tables import TableLike, TableSource, open_table

__all__ = [
    "ClassCodes",
    "FeatureEncoder",
    "as_table",
    "class_codes",
    "class_values",
    "float_values",
]

FloatArray = npt.NDArray[np.float64]

#: Categories a feature keeps as its own code (HistGradientBoosting's limit is 255 bins,
#: one kept for missing values); rarer ones count as missing.
MAX_CATEGORIES = 254


def as_table(data: TableLike, columns: Sequence[str]) -> pa.Table:
    """``data`` as a pyarrow table of those of ``columns`` it has (a table: all its columns).

    ``data`` is a pyarrow table, an opened :class:`~mlvigil.io.tables.TableSource`, or
    anything :func:`~mlvigil.io.tables.open_table` reads.
    """
    if isinstance(data, pa.Table):
        return data
    opened = all(hasattr(data, a) for a in ("column_names", "num_rows", "column"))
    source: TableSource = data if opened else open_table(data)
    names = [c for c in dict.fromkeys(columns) if c in source.column_names]
    return pa.table({name: source.column(name) for name in names})


def _decoded(values: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(values.type):
        return values.cast(values.type.value_type)
    return values


def _is_number(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_null(kind)
    )


def float_values(table: pa.Table, name: str) -> FloatArray:
    """A column as float64, nulls as NaN; text is parsed as numbers.

    Raises
    ------
    InputError
        When the column holds values that are not numbers.

    Examples
    --------
    >>> float_values(pa.table({"s": ["0.5", None]}), "s").tolist()
    [0.5, nan]
    """
    values = _decoded(table.column(name))
    try:
        if pa.types.is_boolean(values.type):
            values = values.cast(pa.int8())
        numbers = values.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(
            f"column {name!r} holds {values.type} values that are not numbers"
        ) from None
    return np.asarray(pc.fill_null(numbers, np.nan).to_numpy(zero_copy_only=False), np.float64)


def class_values(table: pa.Table, name: str, classes: ClassSet) -> npt.NDArray[np.object_]:
    """A column's values as the classes they stand for (``1.0`` and ``"1"`` alike), nulls ``None``.

    Raises
    ------
    InputError
        When the column holds values that cannot be classes (lists, times...).

    Examples
    --------
    >>> class_values(pa.table({"y": [1.0, 0.0, None]}), "y", ClassSet.of(["0", "1"])).tolist()
    ['1', '0', None]
    """
    try:
        mapped = classes.map_column(table.column(name))
    except ConformError as error:
        raise InputError(f"column {name!r}: {error}") from None
    return np.asarray(mapped.to_pylist(), dtype=object)


@dataclass(frozen=True)
class ClassCodes:
    """A class column as positions in a list of classes, computed in Arrow (no row loop).

    Attributes
    ----------
    codes
        Each row's position in the classes asked for; -1 for nulls and other values.
    valid
        Whether each row has a value.
    unknown
        The distinct values that are no class of the class set, sorted.
    """

    codes: npt.NDArray[np.intp]
    valid: npt.NDArray[np.bool_]
    unknown: list[str]


def class_codes(table: pa.Table, name: str, classes: ClassSet, labels: Sequence[str]) -> ClassCodes:
    """A column's classes as positions in ``labels`` (``1.0`` and ``"1"`` alike).

    Raises
    ------
    InputError
        When the column holds values that cannot be classes (lists, times...).

    Examples
    --------
    >>> found = class_codes(pa.table({"y": [1.0, 0.0, None, 2.0]}), "y",
    ...                     ClassSet.of(["0", "1"]), ["1"])
    >>> found.codes.tolist(), found.valid.tolist(), found.unknown
    ([0, -1, -1, -1], [True, True, False, True], ['2'])
    """
    try:
        mapped = classes.map_column(table.column(name))
    except ConformError as error:
        raise InputError(f"column {name!r}: {error}") from None
    positions = pc.index_in(mapped, value_set=pa.array(list(labels), pa.string()))
    return ClassCodes(
        codes=np.asarray(pc.fill_null(positions, -1).to_numpy(), dtype=np.intp),
        valid=np.asarray(mapped.is_valid().to_numpy(zero_copy_only=False), dtype=bool),
        unknown=classes.unknown(pc.unique(mapped).to_pylist()),
    )


@dataclass(frozen=True)
class FeatureEncoder:
    """Model inputs as a float matrix: numbers as they are, categories as codes learned once.

    Attributes
    ----------
    columns
        The feature columns, in order.
    categories
        Per categorical column, its categories (most frequent first); codes are their
        positions, and a value not among them is missing (NaN).
    """

    columns: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]

    @classmethod
    def fit(cls, table: pa.Table, columns: Sequence[str]) -> FeatureEncoder:
        """Learn which columns are categorical, and their categories, from the reference."""
        categories = {}
        for name in columns:
            values = _decoded(table.column(name))
            if _is_number(values.type) or pa.types.is_temporal(values.type):
                continue
            counts = pc.value_counts(_texts(values, name)).to_pylist()
            ranked = sorted(
                (c for c in counts if c["values"] is not None),
                key=lambda c: (-int(c["counts"]), str(c["values"])),
            )
            categories[name] = tuple(str(c["values"]) for c in ranked[:MAX_CATEGORIES])
        return cls(tuple(columns), categories)

    @property
    def categorical(self) -> list[bool]:
        """Whether each column is categorical (for the model's native categorical support)."""
        return [name in self.categories for name in self.columns]

    def encode(self, table: pa.Table) -> FloatArray:
        """The features of ``table`` as an ``n x columns`` matrix."""
        out = np.empty((table.num_rows, len(self.columns)), dtype=np.float64)
        for position, name in enumerate(self.columns):
            if name in self.categories:
                out[:, position] = self._codes(table, name)
            elif pa.types.is_temporal(_decoded(table.column(name)).type):
                micros = table.column(name).cast(pa.timestamp("us")).cast(pa.int64())
                out[:, position] = pc.fill_null(micros.cast(pa.float64()), np.nan).to_numpy()
            else:
                out[:, position] = float_values(table, name)
        return out

    def _codes(self, table: pa.Table, name: str) -> FloatArray:
        encoded = pc.dictionary_encode(_texts(_decoded(table.column(name)), name)).combine_chunks()
        known = {category: code for code, category in enumerate(self.categories[name])}
        lookup = np.array(
            [known.get(v, np.nan) for v in encoded.dictionary.to_pylist()] + [np.nan],
            dtype=np.float64,
        )
        indices = pc.fill_null(encoded.indices, len(lookup) - 1).to_numpy(zero_copy_only=False)
        return np.asarray(lookup[indices], dtype=np.float64)


def _texts(values: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    try:
        return as_category_text(values)
    except ConformError as error:
        raise InputError(f"feature {name!r}: {error}") from None
