"""Profiles of whole tables: build once, merge, store, compare.

A :class:`DatasetProfile` summarises every column of a table in a few kilobytes
per column. Profiles of parts of a table (partitions, hourly windows, files)
merge into the profile of the whole, within the sketches' stated errors; a
reference profile is built once and compared with every later window without
reading the reference data again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyarrow as pa

from mlvigil.exceptions import InputError, UnreadableInputError
from mlvigil.io.tables import TableLike, open_table
from mlvigil.profile import codec
from mlvigil.profile.build import profile_column
from mlvigil.profile.column import ColumnProfile, TimeKind, ValueKind
from mlvigil.profile.config import ProfileConfig, threads_for
from mlvigil.profile.errors import ProfileMergeError
from mlvigil.profile.hll import HyperLogLog, hash_scheme

__all__ = ["DatasetProfile", "profile_table"]


def _absent(rows: int, precision: int) -> ColumnProfile:
    # A column one profile lacks: its rows are counted as nulls, as in a union by name.
    return ColumnProfile(
        kind=ValueKind.NULL,
        count=rows,
        nulls=rows,
        distinct_sketch=HyperLogLog(precision),
        integral=True,
        category_counts=(),
    )


@dataclass(frozen=True, slots=True)
class DatasetProfile:
    """Mergeable profile of a table.

    Attributes
    ----------
    row_count
        Rows profiled.
    columns
        Profile per column, in table order.
    config
        Sketch settings (after merges: the least detailed of the inputs).
    timestamp
        Name of the column that gives the profile's :attr:`time_range`.
    hash_scheme
        Fingerprint of the hash function behind the distinct counters.

    Examples
    --------
    >>> import pyarrow as pa
    >>> first = profile_table(pa.table({"x": [1.0, 2.0], "c": ["a", "b"]}))
    >>> second = profile_table(pa.table({"x": [3.0, 4.0, 5.0], "c": ["a", "a", "c"]}))
    >>> both = first.merge(second)
    >>> both.row_count, both.columns["x"].moments.mean, both.columns["c"].counts
    (5, 3.0, {'a': 3, 'b': 1, 'c': 1})
    >>> DatasetProfile.deserialize(both.serialize()) == both
    True
    """

    row_count: int
    columns: Mapping[str, ColumnProfile]
    config: ProfileConfig = field(default_factory=ProfileConfig)
    timestamp: str | None = None
    hash_scheme: str = field(default_factory=hash_scheme)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))
        # Threads are how a profile was built, not part of it.
        object.__setattr__(self, "config", replace(self.config, workers=None))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DatasetProfile):
            return NotImplemented
        return (
            self.row_count == other.row_count
            and dict(self.columns) == dict(other.columns)
            and list(self.columns) == list(other.columns)
            and self.config == other.config
            and self.timestamp == other.timestamp
            and self.hash_scheme == other.hash_scheme
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def time_range(self) -> tuple[datetime, datetime] | None:
        """Earliest and latest value of the :attr:`timestamp` column, if any."""
        if self.timestamp is None:
            return None
        column = self.columns.get(self.timestamp)
        if column is None or column.time is None:
            return None
        return column.time.bounds()

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        """Profile of both profiles' rows together.

        Associative and commutative (up to the sketches' stated errors and column
        order); a column only one side has counts as null on the other side.

        Raises
        ------
        ProfileMergeError
            When a column holds different kinds of values on the two sides, the
            distinct counters differ in precision or hash function, or the
            profiles name different timestamp columns.
        """
        if not isinstance(other, DatasetProfile):
            raise TypeError(f"can only merge with a DatasetProfile, not {type(other).__name__}")
        self._check_compatible(other)
        config = ProfileConfig(
            quantile_k=min(self.config.quantile_k, other.config.quantile_k),
            distinct_precision=self.config.distinct_precision,
            frequent_items_lg_k=min(
                self.config.frequent_items_lg_k, other.config.frequent_items_lg_k
            ),
            max_categories=min(self.config.max_categories, other.config.max_categories),
        )
        precision = config.distinct_precision
        columns: dict[str, ColumnProfile] = {}
        for name in [*self.columns, *(n for n in other.columns if n not in self.columns)]:
            mine = self.columns.get(name) or _absent(self.row_count, precision)
            theirs = other.columns.get(name) or _absent(other.row_count, precision)
            try:
                columns[name] = mine.merge(
                    theirs,
                    max_categories=config.max_categories,
                    frequent_items_lg_k=config.frequent_items_lg_k,
                )
            except ProfileMergeError as error:
                raise ProfileMergeError(f"cannot merge column {name!r}: {error}") from None
        return DatasetProfile(
            row_count=self.row_count + other.row_count,
            columns=columns,
            config=config,
            timestamp=self.timestamp or other.timestamp,
            hash_scheme=self.hash_scheme,
        )

    def _check_compatible(self, other: DatasetProfile) -> None:
        if self.hash_scheme != other.hash_scheme:
            raise ProfileMergeError(
                "the profiles' distinct counters use different hash functions "
                f"({self.hash_scheme} vs {other.hash_scheme}); profile both with the same "
                "DuckDB version"
            )
        if self.config.distinct_precision != other.config.distinct_precision:
            raise ProfileMergeError(
                "the profiles' distinct counters differ in precision "
                f"({self.config.distinct_precision} vs {other.config.distinct_precision})"
            )
        if self.timestamp and other.timestamp and self.timestamp != other.timestamp:
            raise ProfileMergeError(
                f"the profiles use different timestamp columns ({self.timestamp!r} vs "
                f"{other.timestamp!r})"
            )

    def serialize(self) -> bytes:
        """Compact, versioned bytes (see :mod:`mlvigil.profile.codec`)."""
        return codec.encode(
            self.row_count, self.columns, self.config, self.timestamp, self.hash_scheme
        )

    @classmethod
    def deserialize(cls, data: bytes) -> DatasetProfile:
        """Read what :meth:`serialize` wrote.

        Raises
        ------
        ProfileFormatError
            For bytes that are not an intact profile this version can read.
        """
        parts = codec.decode(data)
        return cls(
            row_count=parts.row_count,
            columns=parts.columns,
            config=parts.config,
            timestamp=parts.timestamp,
            hash_scheme=parts.hash_scheme,
        )

    def save(self, path: str | Path) -> None:
        """Write the profile to a file (atomically: a reader never sees half of it)."""
        path = Path(path)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            partial.write_bytes(self.serialize())
            partial.replace(path)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise UnreadableInputError(f"cannot write profile {path}: {error}") from None

    @classmethod
    def load(cls, path: str | Path) -> DatasetProfile:
        """Read a profile written by :meth:`save`.

        Raises
        ------
        UnreadableInputError
            When the file cannot be read.
        ProfileFormatError
            When its content is not a profile.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise UnreadableInputError(f"cannot read profile {path}: {error}") from None
        return cls.deserialize(data)

    def to_dict(self, *, top: int = 10) -> dict[str, Any]:
        """Plain-JSON summary, as printed by ``mlvigil profile show --format json``.

        ``time_range`` is ``[start, end]`` (ISO 8601) or ``None``. Per column: type,
        kind, count, nulls, nan, inf, min, max, mean, std (population), quantiles
        p1–p99, distinct (exact while category counts are kept, else estimated) and
        ``frequent_items``: up to ``top`` ``[value, count, lower, upper]`` lists.
        """
        time_range = self.time_range
        return {
            "rows": self.row_count,
            "timestamp": self.timestamp,
            "time_range": None
            if time_range is None
            else [time_range[0].isoformat(), time_range[1].isoformat()],
            "columns": {name: column.to_dict(top=top) for name, column in self.columns.items()},
        }


def profile_table(
    data: TableLike, *, timestamp: str | None = None, config: ProfileConfig | None = None
) -> DatasetProfile:
    """Profile every column of a table.

    Parameters
    ----------
    data
        A CSV or Parquet path, or a pyarrow / pandas / polars table (anything
        :func:`mlvigil.io.open_table` reads). Parquet columns are read one at a time.
    timestamp
        A timestamp or date column whose range becomes the profile's time range.
    config
        Sketch sizes, the category cap and threads; see :class:`ProfileConfig`.

    Raises
    ------
    InputError
        When the input cannot be read, or ``timestamp`` is missing or not a
        timestamp column.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from datetime import date
    >>> profile = profile_table(
    ...     pa.table({"day": [date(2024, 1, 2), date(2024, 1, 1)], "y": [0.5, None]}),
    ...     timestamp="day",
    ... )
    >>> profile.row_count, profile.columns["y"].nulls, profile.time_range[0].isoformat()
    (2, 1, '2024-01-01T00:00:00')
    """
    config = config or ProfileConfig()
    source = open_table(data)
    names = source.column_names
    if timestamp is not None and timestamp not in names:
        raise InputError(f"timestamp column {timestamp!r} not found; columns: {', '.join(names)}")

    def one(name: str) -> ColumnProfile:
        profile = profile_column(source.column(name), config)
        # The column is gone now; hand its pages back rather than keep them cached.
        pa.default_memory_pool().release_unused()
        return profile

    workers = min(threads_for(config.workers, source.num_rows), max(len(names), 1))
    if workers == 1:
        columns = [one(name) for name in names]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            columns = list(pool.map(one, names))
    profiles = dict(zip(names, columns, strict=True))
    if timestamp is not None:
        column = profiles[timestamp]
        if column.time is None or column.time.kind is not TimeKind.TIMESTAMP:
            raise InputError(
                f"timestamp column {timestamp!r} holds {column.kind.value} values, "
                "not timestamps or dates"
            )
    return DatasetProfile(source.num_rows, profiles, config, timestamp)
