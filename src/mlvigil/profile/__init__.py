"""Mergeable data profiles: summarise data once, merge, store, and compare.

A profile holds per-column counts, exact moments and sketches (KLL quantiles,
HyperLogLog distinct counts, frequent items, exact category counts under a cap).
Profiles of parts merge into the profile of the whole; drift between two profiles
comes out as the same :class:`~mlvigil.checks.drift_report.DriftReport` as
:func:`mlvigil.detect_drift`, each approximate statistic with its error bound.
"""

from mlvigil.profile.column import ColumnProfile, TimeExtent, TimeKind, ValueKind
from mlvigil.profile.config import ProfileConfig
from mlvigil.profile.dataset import DatasetProfile, profile_table
from mlvigil.profile.drift import profile_drift
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
    "profile_drift",
    "profile_table",
]
