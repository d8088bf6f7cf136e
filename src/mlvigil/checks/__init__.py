"""Checks that compare data and produce results: drift (and, later, quality, performance)."""

from mlvigil.checks.drift import DriftConfig, detect_drift
from mlvigil.checks.drift_report import ColumnDrift, ColumnStatus, DriftReport

__all__ = ["ColumnDrift", "ColumnStatus", "DriftConfig", "DriftReport", "detect_drift"]
