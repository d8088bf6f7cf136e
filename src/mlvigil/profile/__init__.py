"""Mergeable data profiles: summarise data once, merge, store, and compare.

A profile holds per-column counts, exact moments and sketches (KLL quantiles,
HyperLogLog distinct counts, frequent items, exact category counts under a cap).
Profiles of parts merge into the profile of the whole. Drift statistics estimated
from the sketches, each with its error bound, are in :mod:`mlvigil.profile.estimates`;
comparing two profiles (:func:`mlvigil.profile_drift`, or :func:`mlvigil.detect_drift`
given profiles) is a check, in :mod:`mlvigil.checks.drift`, which builds on this
package (never the other way round).
"""

from mlvigil.profile.column import ColumnProfile, TimeExtent, TimeKind, ValueKind
from mlvigil.profile.config import ProfileConfig
from mlvigil.profile.dataset import DatasetProfile, profile_table
from mlvigil.profile.errors import ProfileFormatError, ProfileMergeError
from mlvigil.profile.hll import HyperLogLog
from mlvigil.profile.moments import Moments
from mlvigil.profile.sketches import FrequentItems, QuantileSketch

__all__ = [
    "ColumnProfile",
    "DatasetProfile",
    "FrequentItems",
    "HyperLogLog",
    "Moments",
    "ProfileConfig",
    "ProfileFormatError",
    "ProfileMergeError",
    "QuantileSketch",
    "TimeExtent",
    "TimeKind",
    "ValueKind",
    "profile_table",
]
