"""mlvigil: ML observability — data quality, drift, performance and alerting.

The public API is what ``__all__`` lists; everything else may change. Names are
imported on first use, so ``import mlvigil`` (and the CLI) start fast.

Examples
--------
>>> import pyarrow as pa
>>> import mlvigil
>>> same = pa.table({"x": [1.0, 2.0, 3.0]})
>>> mlvigil.detect_drift(same, same).dataset_drift
False
"""

from __future__ import annotations

import typing

from mlvigil._lazy import lazy_exports as _lazy_exports
from mlvigil._version import __version__

if typing.TYPE_CHECKING:
    from mlvigil.checks.chunked import ChunkDrift, ChunkedDriftReport, detect_drift_chunks
    from mlvigil.checks.config import load_quality_config
    from mlvigil.checks.drift import (
        DriftConfig,
        PreparedReference,
        detect_drift,
        prepare_reference,
        profile_drift,
    )
    from mlvigil.checks.drift_report import ColumnDrift, ColumnStatus, DriftReport
    from mlvigil.checks.export import export_to_prometheus
    from mlvigil.checks.quality import QualityConfig, QualityReport, run_quality_checks
    from mlvigil.checks.result import CheckResult, CheckStatus, Severity
    from mlvigil.estimation import (
        EstimationConfig,
        EstimationReport,
        PerformanceEstimator,
        estimate_performance,
    )
    from mlvigil.exceptions import (
        ColumnMismatchError,
        ConfigError,
        InputError,
        MlvigilError,
        ReceiverError,
        UnknownMethodError,
        UnreadableInputError,
    )
    from mlvigil.multivariate import (
        MultivariateConfig,
        MultivariateDetector,
        MultivariateReport,
        multivariate_drift,
    )
    from mlvigil.profile import DatasetProfile, ProfileConfig, profile_table
    from mlvigil.schema import ColumnType
    from mlvigil.stats.correction import Correction
    from mlvigil.stats.result import StatTestResult

_HOMES = {
    "ChunkDrift": "mlvigil.checks.chunked",
    "ChunkedDriftReport": "mlvigil.checks.chunked",
    "detect_drift_chunks": "mlvigil.checks.chunked",
    "DriftConfig": "mlvigil.checks.drift",
    "PreparedReference": "mlvigil.checks.drift",
    "detect_drift": "mlvigil.checks.drift",
    "prepare_reference": "mlvigil.checks.drift",
    "ColumnDrift": "mlvigil.checks.drift_report",
    "ColumnStatus": "mlvigil.checks.drift_report",
    "DriftReport": "mlvigil.checks.drift_report",
    "load_quality_config": "mlvigil.checks.config",
    "export_to_prometheus": "mlvigil.checks.export",
    "QualityConfig": "mlvigil.checks.quality",
    "QualityReport": "mlvigil.checks.quality",
    "run_quality_checks": "mlvigil.checks.quality",
    "CheckResult": "mlvigil.checks.result",
    "CheckStatus": "mlvigil.checks.result",
    "Severity": "mlvigil.checks.result",
    "EstimationConfig": "mlvigil.estimation",
    "EstimationReport": "mlvigil.estimation",
    "PerformanceEstimator": "mlvigil.estimation",
    "estimate_performance": "mlvigil.estimation",
    "MultivariateConfig": "mlvigil.multivariate",
    "MultivariateDetector": "mlvigil.multivariate",
    "MultivariateReport": "mlvigil.multivariate",
    "multivariate_drift": "mlvigil.multivariate",
    "ColumnMismatchError": "mlvigil.exceptions",
    "ConfigError": "mlvigil.exceptions",
    "InputError": "mlvigil.exceptions",
    "MlvigilError": "mlvigil.exceptions",
    "ReceiverError": "mlvigil.exceptions",
    "UnknownMethodError": "mlvigil.exceptions",
    "UnreadableInputError": "mlvigil.exceptions",
    "ColumnType": "mlvigil.schema",
    "DatasetProfile": "mlvigil.profile",
    "ProfileConfig": "mlvigil.profile",
    "profile_drift": "mlvigil.checks.drift",
    "profile_table": "mlvigil.profile",
    "Correction": "mlvigil.stats.correction",
    "StatTestResult": "mlvigil.stats.result",
}

__all__ = [
    "CheckResult",
    "CheckStatus",
    "ChunkDrift",
    "ChunkedDriftReport",
    "ColumnDrift",
    "ColumnMismatchError",
    "ColumnStatus",
    "ColumnType",
    "ConfigError",
    "Correction",
    "DatasetProfile",
    "DriftConfig",
    "DriftReport",
    "EstimationConfig",
    "EstimationReport",
    "InputError",
    "MlvigilError",
    "MultivariateConfig",
    "MultivariateDetector",
    "MultivariateReport",
    "PerformanceEstimator",
    "PreparedReference",
    "ProfileConfig",
    "QualityConfig",
    "QualityReport",
    "ReceiverError",
    "Severity",
    "StatTestResult",
    "UnknownMethodError",
    "UnreadableInputError",
    "__version__",
    "detect_drift",
    "detect_drift_chunks",
    "estimate_performance",
    "export_to_prometheus",
    "load_quality_config",
    "multivariate_drift",
    "prepare_reference",
    "profile_drift",
    "profile_table",
    "run_quality_checks",
]


__getattr__, __dir__ = _lazy_exports(__name__, _HOMES, __all__)
