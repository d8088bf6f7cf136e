"""Checks that compare data and produce results: drift and data quality.

Every check produces the uniform :class:`~mlvigil.checks.result.CheckResult`.
"""

from mlvigil.checks.drift import DriftConfig, detect_drift
from mlvigil.checks.drift_report import ColumnDrift, ColumnStatus, DriftReport
from mlvigil.checks.result import CheckResult, CheckStatus, Severity

__all__ = [
    "CheckResult",
    "CheckStatus",
    "ColumnDrift",
    "ColumnStatus",
    "DriftConfig",
    "DriftReport",
    "Severity",
    "detect_drift",
]
