"""Count, mean, variance, min and max of finite values, mergeable exactly.

Two summaries combine with Chan, Golub and LeVeque's parallel update, so the
mean and variance of a merged profile agree with those of the whole data to
rounding error, however the data were split.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Moments"]

_PACKED = struct.Struct("<qdddd")


@dataclass(frozen=True, slots=True)
class Moments:
    """Summary statistics of the finite values of a numerical column.

    Attributes
    ----------
    n
        Number of finite values.
    mean
        Their mean (0 when ``n`` is 0).
    m2
        Sum of squared deviations from the mean.
    minimum, maximum
        Smallest and largest value, ``None`` when ``n`` is 0.

    Examples
    --------
    >>> a = Moments.of(np.array([1.0, 2.0]))
    >>> b = Moments.of(np.array([3.0, 4.0, 5.0]))
    >>> merged = a.merge(b)
    >>> merged.n, merged.mean, merged.variance, merged.maximum
    (5, 3.0, 2.0, 5.0)
    """

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float | None = None
    maximum: float | None = None

    @classmethod
    def of(cls, values: npt.NDArray[np.float64]) -> Moments:
        """Summarise an array of finite values."""
        if values.size == 0:
            return cls()
        mean = float(np.mean(values))
        deviations = values - mean
        return cls(
            n=int(values.size),
            mean=mean,
            m2=float(deviations @ deviations),
            minimum=float(np.min(values)),
            maximum=float(np.max(values)),
        )

    @property
    def variance(self) -> float | None:
        """Population variance (``ddof=0``, as ``numpy.var``), ``None`` without values."""
        return self.m2 / self.n if self.n else None

    @property
    def std(self) -> float | None:
        """Population standard deviation, ``None`` without values."""
        variance = self.variance
        return math.sqrt(variance) if variance is not None else None

    def merge(self, other: Moments) -> Moments:
        """Combine with the summary of other values (Chan et al.'s update)."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        # Weighted mean rather than mean + delta * share: exact when both means agree.
        mean = (self.n * self.mean + other.n * other.mean) / n
        if not math.isfinite(mean):
            mean = self.mean + delta * (other.n / n)
        m2 = self.m2 + other.m2 + delta * delta * (self.n * other.n / n)
        lows = [v for v in (self.minimum, other.minimum) if v is not None]
        highs = [v for v in (self.maximum, other.maximum) if v is not None]
        return Moments(n, mean, m2, min(lows), max(highs))

    def to_bytes(self) -> bytes:
        """Pack losslessly (40 bytes)."""
        nan = float("nan")
        low = nan if self.minimum is None else self.minimum
        high = nan if self.maximum is None else self.maximum
        return _PACKED.pack(self.n, self.mean, self.m2, low, high)

    @classmethod
    def from_bytes(cls, data: bytes) -> Moments:
        """Unpack what :meth:`to_bytes` wrote."""
        n, mean, m2, low, high = _PACKED.unpack(data)
        if n == 0:
            return cls()
        return cls(n, mean, m2, low, high)
