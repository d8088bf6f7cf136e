"""Checks that compare data and produce results: drift and data quality.

Every check produces the uniform :class:`~mlvigil.checks.result.CheckResult`.
"""

from mlvigil.checks.chunked import (
    ChunkDrift,
    ChunkedDriftReport,
    detect_drift_chunks,
    drift_score,
)
from mlvigil.checks.drift import (
    DriftConfig,
    PreparedReference,
    detect_drift,
    prepare_reference,
    profile_drift,
)
from mlvigil.checks.drift_report import ColumnDrift, ColumnStatus, DriftReport
from mlvigil.checks.result import CheckResult, CheckStatus, Severity

__all__ = [
    "CheckResult",
    "CheckStatus",
    "ChunkDrift",
    "ChunkedDriftReport",
    "ColumnDrift",
    "ColumnStatus",
    "DriftConfig",
    "DriftReport",
    "PreparedReference",
    "Severity",
    "detect_drift",
    "detect_drift_chunks",
    "drift_score",
    "prepare_reference",
    "profile_drift",
]
