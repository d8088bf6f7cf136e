"""What the Spark functions return: results by window and segment.

Only the standard library, orjson and the profile package: no PySpark here, so the
types can be imported (and pickled to the tasks) anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any, NamedTuple, Protocol, Self, TypeVar

import orjson

from mlvigil.profile import DatasetProfile

__all__ = [
    "ProfileKey",
    "SparkProfiles",
    "SparkResults",
    "decode_segment",
    "encode_segment",
    "window_start",
]


class _Mergeable(Protocol):
    def merge(self, other: Self, /) -> Self: ...


T = TypeVar("T")
U = TypeVar("U")
M = TypeVar("M", bound=_Mergeable)


class ProfileKey(NamedTuple):
    """Which rows a result covers.

    Attributes
    ----------
    window_start
        Start of the window (aware, UTC); ``None`` without windows, and for rows
        whose timestamp is null.
    segment
        The segment columns' values, in the order the segments were named (``()``
        without segments). Values are Python scalars as JSON carries them: str,
        int, float, bool or ``None``; dates and other types by their ISO or
        ``str`` form.
    """

    window_start: datetime | None
    segment: tuple[Any, ...]


def encode_segment(values: list[Any]) -> str:
    """Segment values as the JSON text that travels in a Spark row.

    Examples
    --------
    >>> decode_segment(encode_segment(["a", 1, None]))
    ('a', 1, None)
    """
    return orjson.dumps(values, default=str).decode()


def decode_segment(text: str) -> tuple[Any, ...]:
    """Inverse of :func:`encode_segment`."""
    return tuple(orjson.loads(text))


def window_start(micros: int | None) -> datetime | None:
    """A window start sent as microseconds since the epoch, as an aware UTC datetime.

    Examples
    --------
    >>> window_start(3_600_000_000).isoformat()
    '1970-01-01T01:00:00+00:00'
    """
    if micros is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def _order(key: ProfileKey) -> tuple[bool, datetime, bytes]:
    # Null windows last; segments by their JSON text, so mixed types still sort.
    start = key.window_start or datetime.min.replace(tzinfo=UTC)
    return (key.window_start is None, start, orjson.dumps(key.segment, default=str))


class SparkResults(Mapping[ProfileKey, T]):
    """Results of a DataFrame, one per (window start, segment values).

    A read-only mapping from :class:`ProfileKey` to a result (a profile, a
    performance state, a drift or quality report), ordered by window start (null
    windows last), then segment. Keys exist only for windows and segments that
    hold rows.

    Attributes
    ----------
    timestamp
        The timestamp column, or ``None``.
    window
        The window length, or ``None`` for one window over everything.
    segments
        Names of the segment columns, in the order of each key's ``segment``.

    Examples
    --------
    >>> results = SparkResults({ProfileKey(None, ("b",)): 2, ProfileKey(None, ("a",)): 1},
    ...                        timestamp=None, window=None, segments=("s",))
    >>> list(results.values()), results.map(lambda n: n * 10)[ProfileKey(None, ("a",))]
    ([1, 2], 10)
    """

    def __init__(
        self,
        results: Mapping[ProfileKey, T],
        *,
        timestamp: str | None,
        window: timedelta | None,
        segments: tuple[str, ...],
    ) -> None:
        self._results = {key: results[key] for key in sorted(results, key=_order)}
        self.timestamp = timestamp
        self.window = window
        self.segments = segments

    def __getitem__(self, key: ProfileKey) -> T:
        return self._results[key]

    def __iter__(self) -> Iterator[ProfileKey]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({len(self)} results, timestamp={self.timestamp!r}, "
            f"window={self.window!r}, segments={self.segments!r})"
        )

    def map(self, function: Callable[[T], U]) -> SparkResults[U]:
        """The same keys, each result passed through ``function``."""
        return SparkResults(
            {key: function(value) for key, value in self._results.items()},
            timestamp=self.timestamp,
            window=self.window,
            segments=self.segments,
        )

    def total(self: SparkResults[M]) -> M | None:
        """Every result merged into one (``None`` when there are none).

        Only for mergeable results: profiles and performance states.
        """
        if not self._results:
            return None
        return reduce(lambda a, b: a.merge(b), self._results.values())


class SparkProfiles(SparkResults[DatasetProfile]):
    """Merged profiles of a DataFrame, one per (window start, segment values).

    What :func:`~mlvigil.spark.profile_dataframe` returns: a
    :class:`SparkResults` of :class:`~mlvigil.profile.DatasetProfile`. An empty
    DataFrame without windows or segments still has its one, empty, profile.
    """
