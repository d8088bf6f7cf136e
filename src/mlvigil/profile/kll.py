"""Deterministic KLL sketch states, written in DataSketches' own serialized format.

DataSketches' KLL sketch (``kll_doubles_sketch``) draws one random bit per
compaction from a per-thread C++ engine seeded from the clock, which Python
cannot seed: sketching the same values twice gives different sketches. This
module builds the sketch's state itself, deterministically, and hands it over
as bytes (``kll_doubles_sketch.deserialize``), so every query and
serialization still runs in DataSketches.

A KLL state is a stack of levels: level ``h`` holds sorted items of weight
``2**h``, and the weights sum to ``n``. The format (``kll_sketch_impl.hpp``,
datasketches-cpp 5.x; little-endian):

=======  ======  ===========================================================
offset   size    field
=======  ======  ===========================================================
0        1       preamble ints: 2 (empty or one item) or 5
1        1       serial version: 1, or 2 for one item
2        1       family: 15
3        1       flags: 1 empty, 2 level zero sorted, 4 one item
4        2       ``k``
6        1       ``m``: 8, the smallest level capacity
7        1       unused
8        8       ``n``                    (these five only when ``n >= 2``)
16       2       ``min_k``: the smallest ``k`` merged; sets the error bound
18       1       number of levels ``L``
19       1       unused
20       4 L     start of each level in a buffer of ``capacity(k, L)`` items
..       8, 8    min, max
..       8 each  retained items, level 0 first
=======  ======  ===========================================================

The end of the top level is the buffer's capacity, not written. With one item
the layout is the 8-byte header then the item. The reader checks the
preamble, version, family and ``m``, and that the sizes add up. Later updates
and merges also need the retained items to fit the capacity and levels
``1..L-1`` to be sorted; every state built here is sorted on every level.

Building (:func:`build`), from all values sorted: the smallest ``L`` whose top
level (weight ``w = 2**(L-1)``) needs at most ``k`` items, its capacity. The
top level keeps one item per block of ``w`` consecutive ranks (the block's
lower middle); the remaining highest ranks form one block per binary digit of
their count, of size ``2**h`` on level ``h``. When ``n`` is even the last value
is a block of its own, so level 0 is never empty (DataSketches' item iterator
reads every weight as 1 when it is). Each item stands for its block, so the
sketch's CDF is off by at most half a block, where a block straddles the
point: ``|F̂(x) - F(x)| <= (w/2) / n <= 1/(k+1)`` for every ``x``
(:func:`build_error`), and twice that for the mass of an interval. Both are
below DataSketches' bounds for that ``k`` (``2.296 / k**0.9723`` for a rank,
``2.446 / k**0.9433`` for a mass), and hold always, not with 99% confidence.

Merging (:func:`merge`) is KLL's: both sketches' levels are merged level by
level, then while the items exceed the capacity the lowest level at or over
its own capacity is compacted (an odd item stays, two on level 0; of the
sorted pairs, one item of each moves up at twice the weight, the first or the
second as one random bit says). The bits come from BLAKE2b of the merged
state rather than from a clock, so a merge is a function of its inputs, in
either order. Each compaction changes any rank by at most its weight, up or
down with even odds whatever the data, as KLL's analysis requires; hashed
bits are as good as random for any data not crafted against this hash. The
merged error is the inputs' (for built sketches, at most ``1/(k+1)``) plus
these compactions'; DataSketches' bound ``normalized_rank_error(min_k)`` is
what KLL's process keeps within at 99% confidence, measured, not proven, and
it is kept as the merged sketch's bound. ``tests/profile/
test_deterministic_sketches.py`` measures merged errors against it over
chains and trees of merges, ties and sorted inputs. Two exact sketches merge
by :func:`build` on all their values, with no random bit at all.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "KllState",
    "build",
    "build_error",
    "encode",
    "level_capacity",
    "merge",
    "parse",
    "total_capacity",
]

FloatArray = npt.NDArray[np.float64]

#: DataSketches' ``m``: no level's capacity is below this.
M = 8
_FAMILY = 15
_PREAMBLE_SHORT, _PREAMBLE_FULL = 2, 5
_SERIAL_FULL, _SERIAL_SINGLE = 1, 2
_FLAG_EMPTY, _FLAG_SORTED, _FLAG_SINGLE = 1, 2, 4
_HEADER = struct.Struct("<BBBBHBB")
_COUNTS = struct.Struct("<QHBB")
_FULL_START = _HEADER.size + _COUNTS.size
_ITEM = np.dtype("<f8")
_LEVEL = np.dtype("<u4")
_NO_ITEMS: FloatArray = np.empty(0, dtype=np.float64)


def _shrink(k: int, depth: int) -> int:
    """``k (2/3)**depth``, rounded half up, in DataSketches' integer arithmetic."""
    if depth > 30:  # two steps, as the format defines it for deep levels
        half = depth // 2
        return _shrink(_shrink(k, half), depth - half)
    scaled: int = ((2 * k) << depth) // 3**depth
    return (scaled + 1) >> 1


def level_capacity(k: int, num_levels: int, height: int) -> int:
    """Nominal capacity of level ``height`` in a sketch of ``num_levels`` levels.

    ``k`` for the top level, two thirds of the level above for each level
    below it (rounded), never less than ``m = 8``.

    Examples
    --------
    >>> [level_capacity(200, 4, h) for h in range(4)]
    [59, 89, 133, 200]
    """
    if not 0 <= height < num_levels:
        raise ValueError(f"level {height} is not in a sketch of {num_levels} levels")
    return max(M, _shrink(k, num_levels - height - 1))


def total_capacity(k: int, num_levels: int) -> int:
    """Items a sketch of ``num_levels`` levels holds: its levels' capacities summed.

    Examples
    --------
    >>> total_capacity(200, 1), total_capacity(200, 4)
    (200, 481)
    """
    return sum(level_capacity(k, num_levels, h) for h in range(num_levels))


@dataclass(frozen=True, slots=True, eq=False)
class KllState:
    """The content of a KLL sketch: level ``h`` holds items of weight ``2**h``.

    Parameters
    ----------
    k
        The sketch's ``k``.
    min_k
        The smallest ``k`` of the estimating sketches merged into it (``k`` if
        none); DataSketches derives the error bound from it.
    n
        Number of values sketched: the sum of the retained items' weights.
    levels
        Items per level, each sorted; ``levels[0]`` has weight 1.
    minimum, maximum
        Exact smallest and largest value (``nan`` while ``n`` is 0).
    """

    k: int
    min_k: int
    n: int
    levels: tuple[FloatArray, ...]
    minimum: float
    maximum: float

    @property
    def num_levels(self) -> int:
        """Number of levels (1 while the sketch is exact)."""
        return len(self.levels)

    @property
    def retained(self) -> int:
        """Number of items kept."""
        return sum(level.size for level in self.levels)

    def weight(self) -> int:
        """Sum of the retained items' weights; equals :attr:`n` in a valid state."""
        return sum(level.size << h for h, level in enumerate(self.levels))

    def level(self, height: int) -> FloatArray:
        """Items of weight ``2**height`` (empty above the top level)."""
        return self.levels[height] if height < self.num_levels else _NO_ITEMS


def _empty(k: int) -> KllState:
    return KllState(k, k, 0, (_NO_ITEMS,), float("nan"), float("nan"))


def build(values: FloatArray, k: int) -> KllState:
    """Deterministic sketch of finite values, given sorted ascending.

    Exact (one level, every value) while ``n <= k``; otherwise the block
    construction of the module notes, whose CDF error is :func:`build_error`.

    Examples
    --------
    >>> state = build(np.arange(1000.0), k=200)
    >>> state.num_levels, state.retained, state.weight()
    (4, 128, 1000)
    >>> state.levels[3][:3]
    array([ 3., 11., 19.])
    """
    n = int(values.size)
    if n == 0:
        return _empty(k)
    minimum, maximum = float(values[0]), float(values[-1])
    if n <= k:
        return KllState(k, k, n, (values.copy(),), minimum, maximum)
    top = max(1, (n // (k + 1)).bit_length())  # the smallest with n >> top <= k
    width = 1 << top
    # An even n leaves its last value a block of its own, so level 0 is never empty.
    body = n - 1 + n % 2
    blocks = body >> top
    starts = np.arange(blocks, dtype=np.int64) * width
    top_items: FloatArray = values[starts + (width // 2 - 1)]
    lower: list[list[int]] = [[] for _ in range(top)]
    start = blocks * width
    for height in reversed(range(top)):  # the remainder's binary digits, largest block first
        if (body >> height) & 1:
            size = 1 << height
            lower[height].append(start + (size - 1) // 2)
            start += size
    if body < n:
        lower[0].append(n - 1)
    levels = tuple(values[np.array(ranks, dtype=np.int64)] for ranks in lower)
    return KllState(k, k, n, (*levels, top_items), minimum, maximum)


def build_error(n: int, k: int) -> float:
    """Largest CDF error of :func:`build` for ``n`` values, as a share of ``n``.

    Half the top level's weight over ``n``: at most ``1/(k+1)``; 0 while exact.

    Examples
    --------
    >>> build_error(1000, 200), build_error(200, 200)
    (0.004, 0.0)
    """
    if n <= k:
        return 0.0
    top = max(1, (n // (k + 1)).bit_length())
    return (1 << (top - 1)) / n


def parse(data: bytes) -> KllState:
    """Read a ``kll_doubles_sketch`` serialization (DataSketches' or :func:`encode`'s).

    Raises
    ------
    ValueError
        If the bytes are not a KLL doubles sketch of this format.
    """
    if len(data) < _HEADER.size:
        raise ValueError("too short for a KLL sketch")
    preamble, version, family, flags, k, m, _ = _HEADER.unpack_from(data, 0)
    if family != _FAMILY or m != M or version not in (_SERIAL_FULL, _SERIAL_SINGLE):
        raise ValueError("not a KLL sketch of a known version")
    if flags & _FLAG_EMPTY:
        return _empty(k)
    if flags & _FLAG_SINGLE:
        if len(data) != _HEADER.size + _ITEM.itemsize or preamble != _PREAMBLE_SHORT:
            raise ValueError("malformed one-item KLL sketch")
        item = np.frombuffer(data, dtype=_ITEM, offset=_HEADER.size).astype(np.float64)
        return KllState(k, k, 1, (item,), float(item[0]), float(item[0]))
    if preamble != _PREAMBLE_FULL or len(data) < _FULL_START:
        raise ValueError("malformed KLL sketch preamble")
    n, min_k, num_levels, _ = _COUNTS.unpack_from(data, _HEADER.size)
    capacity = total_capacity(k, num_levels) if num_levels else 0
    if not num_levels or len(data) < _FULL_START + num_levels * _LEVEL.itemsize:
        raise ValueError("malformed KLL sketch levels")
    starts = [int(s) for s in np.frombuffer(data, _LEVEL, num_levels, _FULL_START)]
    bounds = [*starts, capacity]
    if any(low > high for low, high in itertools.pairwise(bounds)):
        raise ValueError("malformed KLL sketch levels")
    offset = _FULL_START + num_levels * _LEVEL.itemsize
    retained = capacity - starts[0]
    if len(data) != offset + (retained + 2) * _ITEM.itemsize:
        raise ValueError("KLL sketch size does not match its levels")
    floats = np.frombuffer(data, _ITEM, retained + 2, offset).astype(np.float64)
    items = floats[2:]
    levels = [items[low - starts[0] : high - starts[0]] for low, high in itertools.pairwise(bounds)]
    if not all(bool(np.all(level[1:] >= level[:-1])) for level in levels[1:]):
        raise ValueError("KLL sketch levels above level 0 must be sorted")
    if not flags & _FLAG_SORTED:
        levels[0] = np.sort(levels[0])
    state = KllState(k, min_k, n, tuple(levels), float(floats[0]), float(floats[1]))
    if state.weight() != n:
        raise ValueError("KLL sketch weights do not add up to n")
    return state


def encode(state: KllState) -> bytes:
    """Serialize a state as ``kll_doubles_sketch.serialize`` would (levels sorted).

    Raises
    ------
    ValueError
        If the items do not fit the capacity or the weights do not add up to ``n``.
    """
    if state.n == 0:
        return _HEADER.pack(_PREAMBLE_SHORT, _SERIAL_FULL, _FAMILY, _FLAG_EMPTY, state.k, M, 0)
    if state.weight() != state.n:
        raise ValueError("the retained weights do not add up to n")
    if state.n == 1:
        header = _HEADER.pack(_PREAMBLE_SHORT, _SERIAL_SINGLE, _FAMILY, _FLAG_SINGLE, state.k, M, 0)
        return header + state.levels[0].astype(_ITEM).tobytes()
    capacity = total_capacity(state.k, state.num_levels)
    if state.retained > capacity:
        raise ValueError(f"{state.retained} items exceed the capacity of {capacity}")
    starts = np.empty(state.num_levels, dtype=_LEVEL)
    end = capacity
    for height in reversed(range(state.num_levels)):
        end -= state.levels[height].size
        starts[height] = end
    header = _HEADER.pack(_PREAMBLE_FULL, _SERIAL_FULL, _FAMILY, _FLAG_SORTED, state.k, M, 0)
    counts = _COUNTS.pack(state.n, state.min_k, state.num_levels, 0)
    bounds = np.array([state.minimum, state.maximum], dtype=_ITEM)
    items = np.concatenate([bounds, *state.levels]).astype(_ITEM, copy=False)
    return header + counts + starts.tobytes() + items.tobytes()


def _bits(seed: bytes) -> Iterator[int]:
    """Unbiased, independent-looking bits: BLAKE2b of the seed and a counter."""
    counter = 0
    while True:
        block = hashlib.blake2b(counter.to_bytes(8, "little"), key=seed).digest()
        for byte in block:
            for shift in range(8):
                yield (byte >> shift) & 1
        counter += 1


def _seed(k: int, n: int, levels: Sequence[FloatArray]) -> bytes:
    digest = hashlib.blake2b(struct.pack("<HQI", k, n, len(levels)), digest_size=32)
    for level in levels:
        digest.update(struct.pack("<I", level.size))
        digest.update(level.astype(_ITEM, copy=False).tobytes())
    return digest.digest()


def _fill_level_zero(levels: list[FloatArray]) -> list[FloatArray]:
    """Keep level 0 non-empty: split the lowest item into copies down to level 0.

    DataSketches' item iterator (``for item, weight in sketch``) reads a
    sketch whose level 0 is empty with weight 1 throughout. An item of weight
    ``2**j`` becomes one copy on each level ``j-1 .. 1`` and two on level 0:
    the same value and total weight, so the sketch's distribution is unchanged.
    """
    if levels[0].size or len(levels) == 1:
        return levels
    lowest = next(h for h, level in enumerate(levels) if level.size)
    item = levels[lowest][:1]
    levels[lowest] = levels[lowest][1:]
    for height in range(1, lowest):
        levels[height] = item.copy()
    levels[0] = np.repeat(item, 2)
    return levels


def _compact(levels: list[FloatArray], k: int, bits: Iterator[int]) -> list[FloatArray]:
    """Compact until the items fit: lowest full level first, as KLL does.

    A compaction sorts out an even number of a level's items, pairs them in
    order and promotes one of each pair (the first or second, by one random
    bit) at twice the weight; an odd item stays behind, and on level 0 two
    stay rather than none (see :func:`_fill_level_zero`).
    """
    while sum(level.size for level in levels) > total_capacity(k, len(levels)):
        height = len(levels)
        full = next(h for h in range(height) if levels[h].size >= level_capacity(k, height, h))
        if full == height - 1:
            levels.append(_NO_ITEMS)
        items = levels[full]
        kept = items.size % 2 or (2 if full == 0 else 0)
        promoted = items[kept + next(bits) :: 2]
        levels[full] = items[:kept].copy()
        levels[full + 1] = np.sort(np.concatenate([levels[full + 1], promoted]))
    return levels


def merge(a: KllState, b: KllState) -> KllState:
    """KLL merge of two states, at the smaller ``k``, with hashed random bits.

    The same two states give the same result, in either order. Two exact
    states merge without randomness: :func:`build` on all their values.

    Examples
    --------
    >>> left, right = build(np.arange(0.0, 600.0), 200), build(np.arange(600.0, 1000.0), 200)
    >>> merged = merge(left, right)
    >>> merged.n, merged.minimum, merged.maximum, merged.weight()
    (1000, 0.0, 999.0, 1000)
    >>> encode(merged) == encode(merge(right, left))
    True
    """
    k = min(a.k, b.k)
    if a.n == 0 and b.n == 0:
        return _empty(k)
    if a.num_levels == 1 and b.num_levels == 1:
        return build(np.sort(np.concatenate([a.levels[0], b.levels[0]])), k)
    min_k = min([k] + [s.min_k for s in (a, b) if s.num_levels > 1])
    height = max(a.num_levels, b.num_levels)
    levels = [np.sort(np.concatenate([a.level(h), b.level(h)])) for h in range(height)]
    levels = _fill_level_zero(levels)
    levels = _compact(levels, k, _bits(_seed(k, a.n + b.n, levels)))
    sides = [s for s in (a, b) if s.n]
    minimum = min(s.minimum for s in sides)
    maximum = max(s.maximum for s in sides)
    return KllState(k, min_k, a.n + b.n, tuple(levels), minimum, maximum)
