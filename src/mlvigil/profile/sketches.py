"""Immutable wrappers around the DataSketches quantile and frequent-items sketches.

The wrappers never mutate a sketch once built: :meth:`merge` builds a new one.
That keeps profiles safe to share between threads and to merge in any order.

Quantile sketches are deterministic: the same values give the same sketch,
byte for byte, in any process. DataSketches' KLL sketch draws its compaction
bits from an unseedable clock-seeded engine, so past ``k`` values the sketch
state is built by :mod:`mlvigil.profile.kll` and handed to DataSketches in its
serialized format; every query still runs in DataSketches.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Sequence
from typing import Any

import datasketches as ds
import numpy as np
import numpy.typing as npt

from mlvigil.profile import kll
from mlvigil.profile.errors import ProfileFormatError

__all__ = ["FrequentItems", "QuantileSketch"]

FloatArray = npt.NDArray[np.float64]

#: Width of the runs sorted before an exact-mode update (see :func:`_presorted`).
_RUN = 256


def _presorted(values: FloatArray) -> FloatArray:
    """A copy of the values with every run of 256 sorted.

    Exact sketches (at most ``k`` values) are still fed to DataSketches, in
    this order, so they stay byte for byte what earlier versions wrote. The
    copy is also the writeable array the binding requires (Arrow's zero-copy
    views are read-only).
    """
    prepared = np.array(values, dtype=np.float64, order="C")
    whole = prepared.size - prepared.size % _RUN
    prepared[:whole].reshape(-1, _RUN).sort(axis=1)
    return prepared


def _sorted_without_nan(parts: Sequence[FloatArray]) -> FloatArray:
    """All values in one new array, sorted; NaN dropped (DataSketches ignores it)."""
    values = np.concatenate(parts) if len(parts) > 1 else np.array(parts[0], dtype=np.float64)
    values.sort()  # numpy's sort releases the GIL
    if values.size and np.isnan(values[-1]):  # NaN sorts last
        values = values[: int(np.argmax(np.isnan(values)))]
    return values


class QuantileSketch:
    """A KLL quantile sketch of finite floats (``datasketches.kll_doubles_sketch``).

    Deterministic: :meth:`of` and :meth:`merge` give the same bytes for the
    same input (see :mod:`mlvigil.profile.kll` for the construction and its
    error bound, always within :attr:`rank_error`).

    Examples
    --------
    >>> sketch = QuantileSketch.of([np.arange(1000.0)], k=200)
    >>> sketch.n, sketch.is_exact
    (1000, False)
    >>> abs(sketch.quantiles([0.5])[0] - 500) <= 1000 * sketch.rank_error
    True
    >>> sketch == QuantileSketch.of([np.arange(1000.0)], k=200)
    True
    """

    __slots__ = ("_sketch", "_state", "_view")

    def __init__(self, sketch: Any) -> None:
        self._sketch = sketch
        self._view: tuple[FloatArray, FloatArray] | None = None
        self._state: kll.KllState | None = None

    @classmethod
    def of(cls, parts: Iterable[FloatArray], k: int) -> QuantileSketch:
        """Sketch finite float64 values, given as one or more arrays.

        Up to ``k`` values, DataSketches' own exact sketch (no compaction, no
        randomness). Past ``k``, the values are sorted once and the sketch is
        built deterministically (:func:`mlvigil.profile.kll.build`): each
        retained item stands for a block of consecutive ranks, so every CDF
        value is within ``1/(k+1)`` of the data's, inside :attr:`rank_error`.
        """
        present = [part for part in parts if part.size]
        if sum(part.size for part in present) <= k:
            sketch = ds.kll_doubles_sketch(k)
            for part in present:
                sketch.update(_presorted(part))
                time.sleep(0)  # the update holds the GIL: let waiting threads in between
            return cls(sketch)
        return cls._of_state(kll.build(_sorted_without_nan(present), k))

    @classmethod
    def _of_state(cls, state: kll.KllState) -> QuantileSketch:
        sketch = cls(ds.kll_doubles_sketch.deserialize(kll.encode(state)))
        sketch._state = state
        return sketch

    def _kll_state(self) -> kll.KllState:
        if self._state is None:
            self._state = kll.parse(self.to_bytes())
        return self._state

    @property
    def n(self) -> int:
        """Number of values sketched."""
        return int(self._sketch.n)

    @property
    def k(self) -> int:
        """The sketch's ``k`` (after merges: the smallest ``k`` merged)."""
        return int(self._sketch.k)

    @property
    def is_exact(self) -> bool:
        """Whether the sketch still holds every value (no compaction yet)."""
        return not self._sketch.is_estimation_mode()

    @property
    def rank_error(self) -> float:
        """Bound on the error of any CDF value or bin mass (double-sided, 99% confidence).

        DataSketches' ``normalized_rank_error(True)``, the bound its ``get_cdf`` and
        ``get_pmf`` guarantee; 0 while the sketch is exact. A sketch built by
        :meth:`of` (not merged) is closer, with certainty: within ``1/(k+1)``
        at any point and ``2/(k+1)`` for any bin, both below this bound.
        """
        return 0.0 if self.is_exact else float(self._sketch.normalized_rank_error(True))

    def sorted_view(self) -> tuple[FloatArray, FloatArray]:
        """Retained items, sorted, and the sketch's CDF just after each (inclusive).

        The sketch's distribution is the step function through these points;
        it is exactly what ``get_cdf(..., inclusive=True)`` evaluates. Weights
        come from each item's level (DataSketches' own item iterator gives
        weight 1 throughout when level 0 is empty, as its merges can leave it).
        """
        if self._view is None:
            levels = self._kll_state().levels
            items = np.concatenate(levels)
            weights = np.concatenate(
                [
                    np.full(level.size, 1 << height, dtype=np.int64)
                    for height, level in enumerate(levels)
                ]
            )
            order = np.argsort(items, kind="stable")
            cumulative = np.cumsum(weights[order]) / max(self.n, 1)
            self._view = (items[order], cumulative)
        return self._view

    def cdf(self, points: npt.ArrayLike) -> FloatArray:
        """Share of values at or below each point, according to the sketch."""
        items, cumulative = self.sorted_view()
        positions = np.searchsorted(items, np.asarray(points, dtype=np.float64), side="right")
        padded = np.concatenate([[0.0], cumulative])
        result: FloatArray = padded[positions]
        return result

    def quantiles(self, ranks: Sequence[float]) -> list[float]:
        """Values at the given normalised ranks; empty list for an empty sketch."""
        if self.n == 0:
            return []
        return [float(v) for v in self._sketch.get_quantiles(list(ranks))]

    def values(self) -> FloatArray:
        """Every sketched value, sorted; only while :attr:`is_exact`."""
        if not self.is_exact:
            raise ValueError("the sketch has compacted its values; only estimates remain")
        items, _ = self.sorted_view()
        return items

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """Sketch of both sketches' values (``k`` is the smaller of the two).

        Deterministic, and the same in either order (:func:`mlvigil.profile.kll.merge`).
        Two exact sketches are rebuilt from their values, with :meth:`of`'s
        certain bound. Otherwise it is KLL's merge with its random bits hashed
        from the two sketches instead of drawn from a clock: :attr:`rank_error`
        is DataSketches' bound for that process (from the smallest ``k``
        merged), an empirical 99% bound as for DataSketches' own merge, and
        the tests measure merged errors against it.
        """
        return QuantileSketch._of_state(kll.merge(self._kll_state(), other._kll_state()))

    def to_bytes(self) -> bytes:
        """DataSketches' own serialization."""
        return bytes(self._sketch.serialize())

    @classmethod
    def from_bytes(cls, data: bytes) -> QuantileSketch:
        """Read what :meth:`to_bytes` wrote."""
        try:
            sketch = cls(ds.kll_doubles_sketch.deserialize(data))
            # Also checks what the C++ reader does not: weights, sorted levels.
            sketch._state = kll.parse(data)
        except Exception as error:  # the C++ reader raises several types on bad bytes
            raise ProfileFormatError(f"corrupt quantile sketch: {error}") from None
        return sketch

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantileSketch):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"QuantileSketch(n={self.n}, k={self.k}, retained={self._sketch.num_retained})"


#: DataSketches' frequent-items layout: an empty sketch is its 8-byte preamble; a
#: non-empty one has 4 preamble longs, the last two its total weight and offset.
_EMPTY_BYTES = 8
_WEIGHT_AT = 16
_WEIGHT_AND_OFFSET = struct.Struct("<qq")
_ITEMS_WEIGHT_AND_OFFSET = struct.Struct("<iiqq")


class FrequentItems:
    """Heavy hitters of a string column (``datasketches.frequent_strings_sketch``).

    Fed once per distinct value with its count as weight. Every estimate is
    within :attr:`maximum_error` of the true count.

    Examples
    --------
    >>> items = FrequentItems.of_counts(["a", "b"], [90, 10], lg_k=4)
    >>> items.merge(FrequentItems.of_counts(["b"], [5], lg_k=4)).top(1)
    [('a', 90, 90, 90)]
    """

    __slots__ = ("_sketch",)

    def __init__(self, sketch: Any) -> None:
        self._sketch = sketch

    @classmethod
    def of_counts(cls, values: Sequence[str], counts: Sequence[int], lg_k: int) -> FrequentItems:
        """Build from distinct values and their counts."""
        sketch = ds.frequent_strings_sketch(lg_k)
        update = sketch.update
        for value, count in zip(values, counts, strict=True):
            update(value, count)
        return cls(sketch)

    @property
    def total_weight(self) -> int:
        """Number of values counted."""
        return int(self._sketch.total_weight)

    @property
    def maximum_error(self) -> int:
        """Largest possible error of any estimate (upper minus lower bound)."""
        # The sketch's offset: every item's bounds, tracked or not, are this far apart.
        return int(self._sketch.get_upper_bound("") - self._sketch.get_lower_bound(""))

    def lower_bounds(self) -> list[tuple[str, int]]:
        """Every item the sketch still tracks, with a count it certainly reached."""
        rows = self._sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
        return [(str(v), int(lower)) for v, _, lower, _ in rows]

    @property
    def epsilon(self) -> float:
        """Error of any estimate as a share of :attr:`total_weight`, at most."""
        return float(self._sketch.epsilon)

    def top(self, limit: int) -> list[tuple[str, int, int, int]]:
        """The most frequent items: ``(value, estimate, lower bound, upper bound)``.

        Only items certainly above the sketch's error level are listed (no false
        positives), most frequent first.
        """
        rows = self._sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_POSITIVES)
        ordered = sorted(rows, key=lambda row: (-row[1], row[0]))
        return [(str(v), int(e), int(lo), int(hi)) for v, e, lo, hi in ordered[:limit]]

    def merge(self, other: FrequentItems) -> FrequentItems:
        """Frequent items of both inputs."""
        # The smaller map (larger epsilon) receives, whichever side it is on.
        target, source = (self, other) if self.epsilon >= other.epsilon else (other, self)
        if source._sketch.num_active_items == 0:
            # DataSketches skips a source without items, and would drop its weight.
            return target._plus(source.total_weight, source.maximum_error)
        merged = ds.frequent_strings_sketch.deserialize(target.to_bytes())
        merged.merge(source._sketch)
        return FrequentItems(merged)

    def _plus(self, weight: int, error: int) -> FrequentItems:
        """A copy with ``weight`` more values counted and an offset ``error`` higher."""
        data = bytearray(self.to_bytes())
        if len(data) == _EMPTY_BYTES:
            data = bytearray(self._weighted_without_items())
        total, offset = _WEIGHT_AND_OFFSET.unpack_from(data, _WEIGHT_AT)
        _WEIGHT_AND_OFFSET.pack_into(data, _WEIGHT_AT, total + weight, offset + error)
        return FrequentItems(ds.frequent_strings_sketch.deserialize(bytes(data)))

    def to_bytes(self) -> bytes:
        """DataSketches' own serialization (a sketch whose items were all purged included)."""
        data = bytes(self._sketch.serialize())
        if len(data) == _EMPTY_BYTES and self.total_weight:
            # DataSketches writes such a sketch as empty, dropping its weight and offset.
            return self._weighted_without_items()
        return data

    def _weighted_without_items(self) -> bytes:
        """The non-empty layout with no items: DataSketches' reader accepts it as is."""
        empty = bytes(self._sketch.serialize())
        lg_max_map_size, lg_cur_map_size = empty[3], empty[4]
        preamble = bytes([4, 1, 10, lg_max_map_size, lg_cur_map_size, 0, 0, 0])
        return preamble + _ITEMS_WEIGHT_AND_OFFSET.pack(0, 0, self.total_weight, self.maximum_error)

    @classmethod
    def from_bytes(cls, data: bytes) -> FrequentItems:
        """Read what :meth:`to_bytes` wrote."""
        try:
            return cls(ds.frequent_strings_sketch.deserialize(data))
        except Exception as error:  # the C++ reader raises several types on bad bytes
            raise ProfileFormatError(f"corrupt frequent-items sketch: {error}") from None

    def _state(self) -> tuple[int, list[tuple[str, int, int, int]]]:
        rows = self._sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
        return self.total_weight, sorted(
            (str(v), int(e), int(lo), int(hi)) for v, e, lo, hi in rows
        )

    def __eq__(self, other: object) -> bool:
        # By content: the serialized hash map's order changes when it is rebuilt.
        if not isinstance(other, FrequentItems):
            return NotImplemented
        return self._state() == other._state()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FrequentItems(total_weight={self.total_weight})"
