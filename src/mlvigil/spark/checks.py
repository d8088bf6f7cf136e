"""Drift and data quality of Spark DataFrames, judged on their merged profiles.

Thin functions: the profiles come from :func:`~mlvigil.spark.profile_dataframe`
(or are passed in, so one profiling pass serves both), and every verdict from the
single-machine engines, :func:`~mlvigil.profile_drift` and
:func:`~mlvigil.checks.quality.run_quality_checks_on_profile`. The results are
their types, :class:`~mlvigil.DriftReport` and
:class:`~mlvigil.checks.quality.QualityReport`, with the error bounds they state
for sketches (``approximation_error`` of each drift result, ``estimated`` in
quality details).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mlvigil.checks.drift import DriftConfig, profile_drift
from mlvigil.checks.drift_report import DriftReport
from mlvigil.checks.quality.freshness import Clock
from mlvigil.checks.quality.options import QualityConfig
from mlvigil.checks.quality.report import QualityReport
from mlvigil.checks.quality.runner import run_quality_checks_on_profile
from mlvigil.profile import DatasetProfile, ProfileConfig
from mlvigil.schema import ColumnType
from mlvigil.spark.dataframe import profile_dataframe
from mlvigil.spark.keys import ProfileKey, SparkProfiles, SparkResults

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["drift_dataframe", "quality_dataframe"]


def _profiles(
    data: DataFrame | SparkProfiles,
    timestamp: str | None,
    window: timedelta | None,
    segments: Sequence[str],
    config: ProfileConfig | None,
) -> SparkProfiles:
    if isinstance(data, SparkProfiles):
        return data
    return profile_dataframe(
        data, timestamp=timestamp, window=window, segments=segments, config=config
    )


def drift_dataframe(
    reference: DataFrame | DatasetProfile,
    current: DataFrame | SparkProfiles,
    *,
    timestamp: str | None = None,
    window: timedelta | None = None,
    segments: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    schema: Mapping[str, ColumnType | str] | None = None,
    config: DriftConfig | None = None,
    profile_config: ProfileConfig | None = None,
) -> SparkResults[DriftReport]:
    """Drift of each window (and segment) of ``current`` from ``reference``.

    Both sides are profiled on Spark (the reference once, as a whole, with the
    same sketch settings) and each window's profile is compared with
    :func:`~mlvigil.profile_drift`: the verdicts the single-machine engine gives
    on the same profiles.

    Parameters
    ----------
    reference
        A DataFrame, or a profile (saved earlier, or the service's reference).
    current
        A DataFrame, or profiles from :func:`~mlvigil.spark.profile_dataframe`.
    timestamp, window, segments
        How ``current`` is cut into windows and segments (ignored when it is
        profiles already).
    columns
        Columns to compare; default: those of the reference also in ``current``,
        without the timestamp and segment columns.
    schema, config
        Column types and drift options, as for :func:`~mlvigil.profile_drift`.
    profile_config
        Sketch settings of the profiles computed here.

    Returns
    -------
    SparkResults[DriftReport]
        One :class:`~mlvigil.DriftReport` per window and segment.
    """
    if not isinstance(reference, DatasetProfile):
        reference_profile = profile_dataframe(reference, config=profile_config).total()
        assert reference_profile is not None  # a whole DataFrame has its one profile
        reference = reference_profile
    profiles = _profiles(current, timestamp, window, segments, profile_config)
    left_out = {profiles.timestamp, *profiles.segments}
    reports: dict[ProfileKey, DriftReport] = {}
    for key, profile in profiles.items():
        names = columns or [
            name for name in reference.columns if name in profile.columns and name not in left_out
        ]
        reports[key] = profile_drift(
            reference, profile, columns=names, schema=schema, config=config
        )
    return SparkResults(
        reports, timestamp=profiles.timestamp, window=profiles.window, segments=profiles.segments
    )


def quality_dataframe(
    data: DataFrame | SparkProfiles,
    config: QualityConfig,
    *,
    timestamp: str | None = None,
    window: timedelta | None = None,
    segments: Sequence[str] = (),
    now: datetime | Clock | None = None,
    profile_config: ProfileConfig | None = None,
) -> SparkResults[QualityReport]:
    """Data-quality checks of each window (and segment), run on its profile.

    Parameters
    ----------
    data
        A DataFrame, or profiles from :func:`~mlvigil.spark.profile_dataframe`.
    config
        What to check (:class:`~mlvigil.checks.quality.QualityConfig`).
    timestamp, window, segments
        How ``data`` is cut (ignored when it is profiles already).
    now
        Reference time of freshness checks; default: each window's end, as the
        service judges a window (the system clock without windows).
    profile_config
        Sketch settings of the profiles computed here.

    Returns
    -------
    SparkResults[QualityReport]
        One :class:`~mlvigil.checks.quality.QualityReport` per window and segment.
    """
    profiles = _profiles(data, timestamp, window, segments, profile_config)
    reports: dict[ProfileKey, QualityReport] = {}
    for key, profile in profiles.items():
        moment = now
        if moment is None and key.window_start is not None and profiles.window is not None:
            moment = key.window_start + profiles.window
        reports[key] = run_quality_checks_on_profile(profile, config, now=moment)
    return SparkResults(
        reports, timestamp=profiles.timestamp, window=profiles.window, segments=profiles.segments
    )
