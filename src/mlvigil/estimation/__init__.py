"""Performance without labels: confidence-based (classification), direct loss (regression).

Fit a :class:`PerformanceEstimator` on a labelled reference, then estimate windows
that have no labels yet; or call :func:`estimate_performance` to cut a current table
into chunks and estimate each, judged by limits learned from reference chunks of the
same size. Results are :class:`~mlvigil.checks.result.CheckResult` rows of kind
``estimation`` with :class:`~mlvigil.checks.details.EstimationDetails`.
"""

from __future__ import annotations

from mlvigil.estimation.estimator import EstimationConfig, PerformanceEstimator
from mlvigil.estimation.report import ChunkEstimate, EstimationReport, estimate_performance

__all__ = [
    "ChunkEstimate",
    "EstimationConfig",
    "EstimationReport",
    "PerformanceEstimator",
    "estimate_performance",
]
