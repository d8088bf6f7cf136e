"""What the reports of a table cut into chunks share: one item per chunk, JSON, DataFrames.

:class:`~mlvigil.checks.chunked.ChunkedDriftReport`,
:class:`~mlvigil.estimation.EstimationReport` and
:class:`~mlvigil.multivariate.MultivariateReport` each hold one item per chunk in
``chunks``. :class:`ChunkSequence` makes such a report the sequence of its items and
gives it ``to_json``; :func:`chunk_fields` and :func:`chunk_columns` are a chunk's part
of an item's JSON view and of its DataFrame rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import orjson

from mlvigil.checks.chunks import Chunk

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ChunkItem", "ChunkSequence", "chunk_columns", "chunk_fields"]


class ChunkItem(Protocol):
    """One chunk's result in a report: it names its chunk."""

    @property
    def chunk(self) -> Chunk:
        """The rows the result is about."""
        ...


ItemT = TypeVar("ItemT", bound=ChunkItem)


def chunk_fields(chunk: Chunk) -> dict[str, Any]:
    """A chunk's plain-JSON fields: index, key, rows, and start and end (``None`` if unset).

    Unlike :meth:`Chunk.to_dict <mlvigil.checks.chunks.Chunk.to_dict>`, ``start`` and
    ``end`` are always present, so every chunk of a report has the same keys.

    Examples
    --------
    >>> chunk_fields(Chunk(0, "rows 0-4", 5, offset=0))
    {'index': 0, 'key': 'rows 0-4', 'rows': 5, 'start': None, 'end': None}
    """
    return {
        "index": chunk.index,
        "key": chunk.key,
        "rows": chunk.rows,
        "start": chunk.start.isoformat() if chunk.start is not None else None,
        "end": chunk.end.isoformat() if chunk.end is not None else None,
    }


def chunk_columns(chunk: Chunk) -> dict[str, Any]:
    """The leading DataFrame columns of a chunk's rows: chunk (index), key, start, end, rows.

    ``start`` and ``end`` stay datetimes (``None`` for size chunks).

    Examples
    --------
    >>> chunk_columns(Chunk(1, "rows 5-9", 5, offset=5))
    {'chunk': 1, 'key': 'rows 5-9', 'start': None, 'end': None, 'rows': 5}
    """
    return {
        "chunk": chunk.index,
        "key": chunk.key,
        "start": chunk.start,
        "end": chunk.end,
        "rows": chunk.rows,
    }


class ChunkSequence(Generic[ItemT]):
    """Mixin for a frozen report dataclass whose ``chunks`` field holds one item per chunk.

    Iteration, ``len`` and indexing go through ``chunks``; :meth:`to_json` serializes
    the report's ``to_dict``. The mixin has empty slots, so a ``slots=True`` dataclass
    keeps having no instance ``__dict__``; the dataclass itself declares ``chunks``.
    """

    __slots__ = ()

    chunks: tuple[ItemT, ...]

    def __iter__(self) -> Iterator[ItemT]:
        return iter(self.chunks)

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, index: int) -> ItemT:
        return self.chunks[index]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view; each report defines its own."""
        raise NotImplementedError

    def to_json(self, *, indent: bool = False) -> str:
        """JSON text of :meth:`to_dict`; non-finite numbers become ``null``."""
        # orjson writes NaN and infinities as null, where json.dumps writes invalid JSON.
        option = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(self.to_dict(), option=option).decode()

    def _frame(self, cells: Callable[[ItemT], Iterable[Mapping[str, Any]]]) -> pd.DataFrame:
        """One row per cell of each item, led by :func:`chunk_columns` of its chunk."""
        try:
            import pandas as pd
        except ImportError:
            # pandas is an extra: say which method needs it and how to get it.
            raise ImportError(
                f"{type(self).__name__}.to_dataframe needs pandas: pip install 'mlvigil[pandas]'"
            ) from None
        return pd.DataFrame(
            [{**chunk_columns(item.chunk), **cell} for item in self.chunks for cell in cells(item)]
        )
