"""Profiles, drift, quality and performance of Spark DataFrames (``pip install 'mlvigil[spark]'``).

Each Spark task summarises its partition's Arrow batches with mlvigil's own
engines, per window and segment: :func:`~mlvigil.profile.profile_table` for
profiles, :class:`~mlvigil.checks.performance_state.PerformanceState` for
performance. Only the serialized summaries leave the tasks; they are merged per
key on the executors, and the driver receives one per window and segment. No data
row leaves its task. Drift and quality are then judged on the merged profiles by
the same functions as on one machine (:func:`~mlvigil.profile_drift`,
:func:`~mlvigil.checks.quality.run_quality_checks_on_profile`), so the results
are the same types with the same error bounds.

PySpark (3.5 or later) is imported on first use; without it the functions raise
:class:`ModuleNotFoundError` with the install hint. ``python -m mlvigil.spark.job``
(or ``spark-submit`` of that file) is the batch job; ``mlvigil spark profile`` the
same job from the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlvigil._lazy import lazy_exports

if TYPE_CHECKING:
    from mlvigil.spark.checks import drift_dataframe, quality_dataframe
    from mlvigil.spark.dataframe import profile_dataframe
    from mlvigil.spark.keys import ProfileKey, SparkProfiles, SparkResults
    from mlvigil.spark.performance import SparkPerformance, performance_state_dataframe

__all__ = [
    "ProfileKey",
    "SparkPerformance",
    "SparkProfiles",
    "SparkResults",
    "drift_dataframe",
    "performance_state_dataframe",
    "profile_dataframe",
    "quality_dataframe",
]

_HOMES = {
    "ProfileKey": "mlvigil.spark.keys",
    "SparkPerformance": "mlvigil.spark.performance",
    "SparkProfiles": "mlvigil.spark.keys",
    "SparkResults": "mlvigil.spark.keys",
    "drift_dataframe": "mlvigil.spark.checks",
    "performance_state_dataframe": "mlvigil.spark.performance",
    "profile_dataframe": "mlvigil.spark.dataframe",
    "quality_dataframe": "mlvigil.spark.checks",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
