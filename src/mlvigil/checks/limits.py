"""Limits learned from a reference: how far a statistic strays when nothing changed.

A statistic computed on reference chunks of a window's size (a drift distance, an
accuracy) varies from chunk to chunk by sampling alone. :class:`LearnedLimits` keeps
that spread and sets the limits at ``mean ± 3 std`` (clipped to the statistic's range),
the rule NannyML uses by default; values outside mean a change larger than sampling
explains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MIN_CHUNKS", "SIGMAS", "WARN_CHUNKS", "LearnedLimits"]

#: Standard deviations between the mean and each limit.
SIGMAS = 3.0
#: Fewer reference chunks than this cannot give a spread.
MIN_CHUNKS = 2
#: Below this many chunks the spread is a rough estimate (a note says so).
WARN_CHUNKS = 6


@dataclass(frozen=True, slots=True)
class LearnedLimits:
    """The spread of one statistic over reference chunks, and the limits it sets.

    Attributes
    ----------
    mean, std
        Mean and standard deviation (``ddof=1``) over the chunks.
    lower, upper
        ``mean ∓ 3 std``, clipped to ``[low, high]`` of the statistic's range.
    chunks
        Reference chunks the spread comes from.
    chunk_rows
        Rows per chunk (the window size the limits are meant for).
    """

    mean: float
    std: float
    lower: float
    upper: float
    chunks: int
    chunk_rows: int

    @classmethod
    def of(
        cls,
        values: Sequence[float],
        *,
        chunk_rows: int,
        low: float = -math.inf,
        high: float = math.inf,
    ) -> LearnedLimits | None:
        """Limits from per-chunk values (NaN values left out); ``None`` below 2 chunks.

        Examples
        --------
        >>> limits = LearnedLimits.of([0.80, 0.82, 0.84, 0.82], chunk_rows=500, high=1.0)
        >>> round(limits.mean, 3), round(limits.lower, 3), round(limits.upper, 3)
        (0.82, 0.771, 0.869)
        """
        finite = np.asarray([v for v in values if v is not None and math.isfinite(v)])
        if finite.size < MIN_CHUNKS:
            return None
        mean = float(finite.mean())
        std = float(finite.std(ddof=1))
        return cls(
            mean=mean,
            std=std,
            lower=max(low, mean - SIGMAS * std),
            upper=min(high, mean + SIGMAS * std),
            chunks=int(finite.size),
            chunk_rows=chunk_rows,
        )

    @property
    def note(self) -> str | None:
        """A caveat when too few chunks back the limits."""
        if self.chunks < WARN_CHUNKS:
            return (
                f"limits learned from only {self.chunks} reference chunks of "
                f"{self.chunk_rows} rows; a larger reference gives firmer limits"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view, for result details."""
        return {
            "mean": self.mean,
            "std": self.std,
            "lower": self.lower,
            "upper": self.upper,
            "chunks": self.chunks,
            "chunk_rows": self.chunk_rows,
        }
