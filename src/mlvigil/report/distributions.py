"""Reference-vs-current distributions of a column, from two profiles.

What charts draw, in the dashboard and in reports: a few dozen shares per side, never
rows. Numerical columns get equal-width bins over the central 98% of both sides (the
outer bins also hold the tails); categorical and boolean columns get their most common
categories with the rest summed as ``other``. Shares come from the profiles' KLL
sketches and exact category counts, so a 1,000,000-row column costs what a 1,000-row
one does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mlvigil.profile.column import ColumnProfile, Label
from mlvigil.profile.dataset import DatasetProfile
from mlvigil.schema import ColumnType

__all__ = ["Distribution", "column_distribution", "distributions"]

#: Bins of a numerical histogram.
BINS = 24
#: Categories shown before the rest is summed as ``other``.
TOP_CATEGORIES = 12
#: Shares of each side left out of the bin range at each end (they fall in the end bins).
TAIL = 0.01
OTHER = "other"

Kind = Literal["numerical", "categorical", "none"]


@dataclass(frozen=True, slots=True)
class Distribution:
    """Shares of one column's values on each side, over the same bins or categories.

    Attributes
    ----------
    column
        Column name.
    kind
        ``numerical`` (``edges`` has one more entry than ``labels``), ``categorical``,
        or ``none`` when neither side has a value to draw.
    labels
        Bin labels or category names, in drawing order.
    edges
        Bin edges of a numerical column; empty otherwise.
    reference, current
        Share of each side's non-null values in each bin or category (sums to 1).
    reference_null_rate, current_null_rate
        Share of each side's rows that are null.
    """

    column: str
    kind: Kind
    labels: tuple[str, ...]
    edges: tuple[float, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]
    reference_null_rate: float
    current_null_rate: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view (shares rounded to 6 decimals: more is noise from the sketches)."""
        return {
            "column": self.column,
            "kind": self.kind,
            "labels": list(self.labels),
            "edges": list(self.edges),
            "reference": [round(share, 6) for share in self.reference],
            "current": [round(share, 6) for share in self.current],
            "reference_null_rate": self.reference_null_rate,
            "current_null_rate": self.current_null_rate,
        }


def distributions(
    reference: DatasetProfile, current: DatasetProfile, columns: list[str] | None = None
) -> list[Distribution]:
    """:func:`column_distribution` of every column both profiles have (or of ``columns``)."""
    names = columns or [c for c in reference.columns if c in current.columns]
    return [
        column_distribution(name, reference.columns[name], current.columns[name]) for name in names
    ]


def column_distribution(
    name: str, reference: ColumnProfile | None, current: ColumnProfile | None
) -> Distribution:
    """Reference-vs-current shares of column ``name`` (either side may be missing).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from mlvigil.profile import profile_table
    >>> ref = profile_table(pa.table({"c": ["a", "a", "b", None]}))
    >>> cur = profile_table(pa.table({"c": ["b", "b", "b", "a"]}))
    >>> d = column_distribution("c", ref.columns["c"], cur.columns["c"])
    >>> d.labels, d.reference, d.current, d.reference_null_rate
    (('b', 'a'), (0.333..., 0.666...), (0.75, 0.25), 0.25)
    """
    sides = [s for s in (reference, current) if s is not None and s.present > 0]
    null_rates = (_null_rate(reference), _null_rate(current))
    if not sides:
        return Distribution(name, "none", (), (), (), (), *null_rates)
    if all(s.quantiles is not None and s.type is ColumnType.NUMERICAL for s in sides):
        return _histogram(name, reference, current, null_rates)
    if all(s.counts is not None or s.frequent_items is not None for s in sides):
        return _categories(name, reference, current, null_rates)
    return Distribution(name, "none", (), (), (), (), *null_rates)


def _null_rate(side: ColumnProfile | None) -> float:
    return side.nulls / side.count if side is not None and side.count else 0.0


def _histogram(
    name: str,
    reference: ColumnProfile | None,
    current: ColumnProfile | None,
    null_rates: tuple[float, float],
) -> Distribution:
    sketches = [s.quantiles for s in (reference, current) if s is not None and s.quantiles]
    finite = [s for s in sketches if s.n > 0]
    low = min(s.quantiles([TAIL])[0] for s in finite)
    high = max(s.quantiles([1 - TAIL])[0] for s in finite)
    if not np.isfinite(low) or not np.isfinite(high) or high <= low:
        low, high = (low, low + 1.0) if np.isfinite(low) else (0.0, 1.0)
    edges = np.linspace(low, high, BINS + 1)

    def shares(side: ColumnProfile | None) -> tuple[float, ...]:
        if side is None or side.quantiles is None or side.quantiles.n == 0:
            return (0.0,) * BINS
        # Shares at or below each inner edge; the end bins take everything outside.
        cumulative = np.concatenate([[0.0], side.quantiles.cdf(edges[1:-1]), [1.0]])
        return tuple(float(x) for x in np.clip(np.diff(cumulative), 0.0, None))

    labels = tuple(f"{a:.4g} – {b:.4g}" for a, b in itertools.pairwise(edges))
    return Distribution(
        name,
        "numerical",
        labels,
        tuple(float(e) for e in edges),
        shares(reference),
        shares(current),
        *null_rates,
    )


def _counts(side: ColumnProfile | None) -> dict[Label, int]:
    if side is None:
        return {}
    if side.counts is not None:
        return side.counts
    assert side.frequent_items is not None
    return {
        label: estimate for label, estimate, _, _ in side.frequent_items.top(TOP_CATEGORIES * 4)
    }


def _categories(
    name: str,
    reference: ColumnProfile | None,
    current: ColumnProfile | None,
    null_rates: tuple[float, float],
) -> Distribution:
    counts = [_counts(reference), _counts(current)]
    totals = [max(s.present, 1) if s is not None else 1 for s in (reference, current)]
    share_of = [
        {str(label): n / total for label, n in side.items()}
        for side, total in zip(counts, totals, strict=True)
    ]
    ranked = sorted(
        {label for side in share_of for label in side},
        key=lambda label: (-max(side.get(label, 0.0) for side in share_of), label),
    )
    shown = ranked[:TOP_CATEGORIES]
    labels = list(shown)
    values = [[side.get(label, 0.0) for label in shown] for side in share_of]
    rest = [max(0.0, 1.0 - sum(v)) if c else 0.0 for v, c in zip(values, counts, strict=True)]
    if any(r > 1e-12 for r in rest):
        labels.append(OTHER if OTHER not in shown else f"{OTHER} (rest)")
        for v, r in zip(values, rest, strict=True):
            v.append(r)
    return Distribution(
        name, "categorical", tuple(labels), (), tuple(values[0]), tuple(values[1]), *null_rates
    )
