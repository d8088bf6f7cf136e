"""The report of :func:`~mlvigil.multivariate.multivariate_drift`: results per chunk."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlvigil.checks.chunk_reports import ChunkSequence, chunk_fields
from mlvigil.checks.chunks import Chunk
from mlvigil.checks.result import CheckResult, CheckStatus

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MultivariateChunk", "MultivariateReport"]


@dataclass(frozen=True, slots=True)
class MultivariateChunk:
    """One chunk of the current table and its multivariate drift results.

    Attributes
    ----------
    chunk
        Which rows: key, row count, and the period for period chunks.
    results
        One drift result per method (and per embedding column), as
        :meth:`~mlvigil.multivariate.MultivariateDetector.evaluate` returns them.
    """

    chunk: Chunk
    results: tuple[CheckResult, ...]

    @property
    def drifted(self) -> bool:
        """Whether any method found drift in this chunk."""
        return any(r.status is CheckStatus.FAILED for r in self.results)

    @property
    def drifted_methods(self) -> tuple[tuple[str | None, str], ...]:
        """``(column, metric)`` of each result that found drift (column ``None``: tabular)."""
        return tuple((r.column, r.metric) for r in self.results if r.status is CheckStatus.FAILED)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view: the chunk, its verdict and its results."""
        return {
            **chunk_fields(self.chunk),
            "drifted": self.drifted,
            "results": [r.to_dict() for r in self.results],
        }


@dataclass(frozen=True, slots=True)
class MultivariateReport(ChunkSequence[MultivariateChunk]):
    """Multivariate drift of each chunk of a current table from one reference.

    Attributes
    ----------
    chunks
        One :class:`MultivariateChunk` per chunk, in chunk order.
    columns
        The tabular columns the methods read (usable ones).
    embeddings
        The embedding columns.
    dropped
        ``(column, reason)`` of tabular columns left out (all null, constant).
    reference_rows, current_rows
        Rows of the reference and of the whole current table.
    """

    chunks: tuple[MultivariateChunk, ...]
    columns: tuple[str, ...]
    embeddings: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]
    reference_rows: int
    current_rows: int

    @property
    def drifted_chunks(self) -> tuple[MultivariateChunk, ...]:
        """Chunks in which any method found drift."""
        return tuple(c for c in self.chunks if c.drifted)

    @property
    def results(self) -> tuple[CheckResult, ...]:
        """Every chunk's results, in chunk order."""
        return tuple(r for c in self.chunks for r in c.results)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view: the inputs, the drifted chunks' keys and every chunk."""
        return {
            "number_of_chunks": len(self.chunks),
            "number_of_drifted_chunks": len(self.drifted_chunks),
            "drifted_chunks": [c.chunk.key for c in self.drifted_chunks],
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "columns": list(self.columns),
            "embeddings": list(self.embeddings),
            "dropped": dict(self.dropped),
            "chunks": [c.to_dict() for c in self.chunks],
        }

    def to_dataframe(self) -> pd.DataFrame:
        """One row per chunk and result, as a pandas DataFrame.

        Columns: ``chunk`` (index), ``key``, ``start``, ``end``, ``rows``, then the
        result's ``column``, ``metric``, ``method``, ``value``, ``threshold``,
        ``status``, ``score``, ``p_value`` and ``message``. Needs ``mlvigil[pandas]``.
        """
        return self._frame(_result_cells)


def _result_cells(item: MultivariateChunk) -> Iterator[dict[str, Any]]:
    for result in item.results:
        yield {
            "column": result.column,
            "metric": result.metric,
            "method": result.details.get("method"),
            "value": result.value,
            "threshold": result.threshold,
            "status": result.status.value,
            "score": result.score,
            "p_value": result.details.get("p_value"),
            "message": result.message,
        }
