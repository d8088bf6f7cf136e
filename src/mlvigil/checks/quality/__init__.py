"""Data-quality checks: completeness, uniqueness, schema, outliers, freshness, volume, drift.

Every check returns :class:`~mlvigil.checks.result.CheckResult`. Each comes in two
forms: ``check_*`` computes it from data (Arrow columns), and ``evaluate_*``
judges the small summary it needs (counts, bounds, a maximum), so the same
verdicts can come from a profile without the data. :func:`run_quality_checks`
runs a whole :class:`QualityConfig` on a table (or a profile), and
:func:`run_quality_checks_on_profile` on a profile; load one from YAML with
:func:`mlvigil.checks.config.load_quality_config`. Drift results live with drift
(:mod:`mlvigil.checks.drift_results`) and are re-exported here.
"""

from mlvigil.checks.drift_results import check_drift, drift_check_results
from mlvigil.checks.quality.completeness import check_completeness, evaluate_completeness
from mlvigil.checks.quality.freshness import (
    Clock,
    check_freshness,
    evaluate_freshness,
    newest_timestamp,
    parse_duration,
)
from mlvigil.checks.quality.options import (
    CHECK_NAMES,
    DEFAULT_SEVERITY,
    CompletenessConfig,
    DriftCheckConfig,
    FreshnessConfig,
    OutlierRule,
    OutliersConfig,
    QualityConfig,
    RangeRule,
    SchemaConfig,
    UniquenessConfig,
    VolumeConfig,
)
from mlvigil.checks.quality.outliers import (
    check_outliers,
    evaluate_outliers,
    iqr_bounds,
    zscore_bounds,
)
from mlvigil.checks.quality.report import QualityReport
from mlvigil.checks.quality.runner import run_quality_checks, run_quality_checks_on_profile
from mlvigil.checks.quality.schema import (
    check_extra_columns,
    check_required,
    evaluate_type,
    type_matches,
)
from mlvigil.checks.quality.uniqueness import check_uniqueness, evaluate_uniqueness, key_label
from mlvigil.checks.quality.values import (
    check_allowed,
    check_range,
    evaluate_allowed,
    evaluate_range,
    unexpected_counts,
)
from mlvigil.checks.quality.volume import check_volume

__all__ = [
    "CHECK_NAMES",
    "Clock",
    "CompletenessConfig",
    "DEFAULT_SEVERITY",
    "DriftCheckConfig",
    "FreshnessConfig",
    "OutlierRule",
    "OutliersConfig",
    "QualityConfig",
    "QualityReport",
    "RangeRule",
    "SchemaConfig",
    "UniquenessConfig",
    "VolumeConfig",
    "check_allowed",
    "check_completeness",
    "check_drift",
    "check_extra_columns",
    "check_freshness",
    "check_outliers",
    "check_range",
    "check_required",
    "check_uniqueness",
    "check_volume",
    "drift_check_results",
    "evaluate_allowed",
    "evaluate_completeness",
    "evaluate_freshness",
    "evaluate_outliers",
    "evaluate_range",
    "evaluate_type",
    "evaluate_uniqueness",
    "iqr_bounds",
    "key_label",
    "newest_timestamp",
    "parse_duration",
    "run_quality_checks",
    "run_quality_checks_on_profile",
    "type_matches",
    "unexpected_counts",
    "zscore_bounds",
]
