"""Run the quality checks on a profile instead of data: :func:`run_quality_checks_on_profile`.

A :class:`~mlvigil.profile.DatasetProfile` answers most checks without the data:
counts are exact, and rates read from the KLL quantile sketch or the HyperLogLog
distinct counter are estimates (``details["estimated"]``). Every verdict comes
from the same ``evaluate_*`` functions the data-based runner uses. What a
profile cannot answer (composite keys, categories beyond the cap, a freshness
column other than the profile's timestamp column) gives an error result saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from os import PathLike
from typing import Any

import numpy as np
import pyarrow as pa

from mlvigil.checks.quality._common import did_you_mean, error_result, missing_column
from mlvigil.checks.quality.completeness import evaluate_completeness
from mlvigil.checks.quality.drift_results import drift_check_results
from mlvigil.checks.quality.freshness import Clock, evaluate_freshness, resolve_now
from mlvigil.checks.quality.options import (
    CHECK_NAMES,
    DriftCheckConfig,
    OutlierRule,
    QualityConfig,
    RangeRule,
)
from mlvigil.checks.quality.outliers import evaluate_outliers, iqr_bounds, zscore_bounds
from mlvigil.checks.quality.report import QualityReport
from mlvigil.checks.quality.schema import check_extra_columns, check_required, evaluate_type
from mlvigil.checks.quality.uniqueness import evaluate_uniqueness, key_label
from mlvigil.checks.quality.values import evaluate_allowed, evaluate_range, unexpected_counts
from mlvigil.checks.quality.volume import check_volume
from mlvigil.checks.result import CheckResult, Severity
from mlvigil.exceptions import MlvigilError
from mlvigil.profile import DatasetProfile, profile_drift, profile_table
from mlvigil.profile.column import ColumnProfile, TimeKind, ValueKind
from mlvigil.profile.sketches import QuantileSketch

__all__ = ["run_quality_checks_on_profile"]

#: Suffix of a saved profile (:meth:`DatasetProfile.save`).
PROFILE_SUFFIX = ".profile"


def is_profile_path(data: Any) -> bool:
    """Whether ``data`` names a saved profile (a path ending in ``.profile``)."""
    return isinstance(data, str | PathLike) and str(data).endswith(PROFILE_SUFFIX)


def _arrow_type(column: ColumnProfile) -> pa.DataType | None:
    """An Arrow type standing for the column's values (``None`` when unknown)."""
    if column.kind is ValueKind.NUMBER:
        kind: pa.DataType = pa.int64() if column.integral else pa.float64()
    elif column.kind is ValueKind.STRING:
        kind = pa.string()
    elif column.kind is ValueKind.BOOLEAN:
        kind = pa.bool_()
    elif column.kind is ValueKind.NULL:
        return pa.null()
    elif column.kind is ValueKind.DATETIME and column.time is not None:
        if column.time.kind is TimeKind.DURATION:
            kind = pa.duration("us")
        elif column.time.kind is TimeKind.TIME:
            kind = pa.time64("us")
        else:
            kind = pa.timestamp("us", column.time.timezone)
    else:
        return None
    return pa.dictionary(pa.int32(), kind) if column.dictionary else kind


def _numbers(column: ColumnProfile) -> int:
    """Non-missing numbers: nulls and NaNs left out, infinities kept."""
    return column.count - column.nulls - column.nan


def _share_below(sketch: QuantileSketch, point: float) -> float:
    """Share of sketched values strictly below ``point``."""
    return float(sketch.cdf([np.nextafter(point, -np.inf)])[0])


def _share_above(sketch: QuantileSketch, point: float) -> float:
    """Share of sketched values strictly above ``point``."""
    return 1.0 - float(sketch.cdf([point])[0])


def _text(value: Any) -> str:
    # As Arrow casts values to strings (booleans in lower case).
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class _ProfileRun:
    """One run of the configured checks over one profile."""

    def __init__(self, profile: DatasetProfile, config: QualityConfig, now: Any) -> None:
        self.profile = profile
        self.config = config
        self.now = now
        self.names = list(profile.columns)

    def guarded(
        self,
        check: str,
        metric: str,
        column: str,
        threshold: float | None,
        compute: Callable[[ColumnProfile], CheckResult],
    ) -> CheckResult:
        """Run a one-column check, turning a missing column or a failure into an error."""
        severity = self.config.severity_of(check)
        if column not in self.profile.columns:
            return missing_column(
                check, metric, column, self.names, severity=severity, threshold=threshold
            )
        try:
            return compute(self.profile.columns[column])
        except (MlvigilError, ValueError) as error:
            return error_result(
                check,
                metric,
                column,
                f"cannot check: {error}",
                severity=severity,
                threshold=threshold,
            )

    # ------------------------------------------------------------ volume and schema

    def volume(self) -> Iterable[CheckResult]:
        if self.config.volume is None:
            return []
        severity = self.config.severity_of("volume")
        return check_volume(self.profile.row_count, self.config.volume, severity=severity)

    def schema(self) -> Iterable[CheckResult]:
        schema = self.config.schema
        if schema is None:
            return []
        severity = self.config.severity_of("schema")
        results = check_required(self.names, schema.required, severity=severity)
        for column, expected in schema.types.items():
            results.append(
                self.guarded(
                    "schema",
                    "type_matches",
                    column,
                    None,
                    partial(self._type, name=column, expected=expected, severity=severity),
                )
            )
        rate = schema.max_unexpected_rate
        for column, allowed in schema.allowed.items():
            results.append(
                self.guarded(
                    "schema",
                    "unexpected_value_rate",
                    column,
                    rate,
                    partial(
                        self._allowed,
                        name=column,
                        allowed=allowed,
                        max_rate=rate,
                        severity=severity,
                    ),
                )
            )
        for column, rule in schema.ranges.items():
            results.append(
                self.guarded(
                    "schema",
                    "out_of_range_rate",
                    column,
                    rule.max_rate,
                    partial(self._range, name=column, rule=rule, severity=severity),
                )
            )
        if not schema.allow_extra_columns:
            declared = self.config.named_columns()
            results.append(check_extra_columns(self.names, declared, severity=severity))
        return results

    @staticmethod
    def _type(column: ColumnProfile, name: str, expected: Any, severity: Severity) -> CheckResult:
        arrow_type = _arrow_type(column)
        if arrow_type is None:
            return error_result(
                "schema",
                "type_matches",
                name,
                f"the profile holds {column.kind.value} values: their type is not kept",
                severity=severity,
            )
        return evaluate_type(name, expected=expected, arrow_type=arrow_type, severity=severity)

    @staticmethod
    def _allowed(
        column: ColumnProfile,
        name: str,
        allowed: Sequence[Any],
        max_rate: float,
        severity: Severity,
    ) -> CheckResult:
        counts = column.counts
        if counts is None:
            reason = (
                "it has more distinct values than the profile's category cap"
                if column.categories_capped
                else f"the profile keeps no category counts of its {column.kind.value} values"
            )
            return error_result(
                "schema",
                "unexpected_value_rate",
                name,
                f"cannot check allowed values from a profile: {reason}; check the data",
                severity=severity,
                threshold=max_rate,
            )
        # Compared as values, or as text (as the data-based check falls back to).
        allowed_text = {_text(v) for v in allowed}
        unexpected = {
            v: c
            for v, c in unexpected_counts(counts, allowed).items()
            if _text(v) not in allowed_text
        }
        return evaluate_allowed(
            name,
            non_null=_numbers(column),
            unexpected=unexpected,
            allowed=allowed,
            max_rate=max_rate,
            rows=column.count,
            severity=severity,
        )

    @staticmethod
    def _range(
        column: ColumnProfile, name: str, rule: RangeRule, severity: Severity
    ) -> CheckResult:
        if column.kind not in (ValueKind.NUMBER, ValueKind.NULL):
            return error_result(
                "schema",
                "out_of_range_rate",
                name,
                f"holds {column.kind.value} values; a range needs numbers",
                severity=severity,
                threshold=rule.max_rate,
            )
        non_null = _numbers(column)
        moments, sketch = column.moments, column.quantiles
        if non_null == 0 or moments is None or sketch is None:
            return evaluate_range(
                name, non_null=0, below=0, above=0, rule=rule, rows=column.count, severity=severity
            )
        if column.inf and (rule.min is None or rule.max is None):
            return error_result(
                "schema",
                "out_of_range_rate",
                name,
                f"{column.inf} infinite values whose signs the profile does not keep; "
                "check the data",
                severity=severity,
                threshold=rule.max_rate,
            )
        finite = sketch.n
        low, high = moments.minimum, moments.maximum
        below = above = 0.0
        estimated = False
        # The exact minimum and maximum settle a side with no value beyond the bound.
        if rule.min is not None and low is not None and low < rule.min:
            below = round(_share_below(sketch, rule.min) * finite)
            estimated = estimated or not sketch.is_exact
        if rule.max is not None and high is not None and high > rule.max:
            above = round(_share_above(sketch, rule.max) * finite)
            estimated = estimated or not sketch.is_exact
        # Infinities (either sign) lie outside two finite bounds; counted above.
        above += column.inf
        return evaluate_range(
            name,
            non_null=non_null,
            below=below,
            above=above,
            rule=rule,
            observed_min=low,
            observed_max=high,
            estimated=estimated,
            rows=column.count,
            severity=severity,
        )

    # ------------------------------------------------------------ column checks

    def completeness(self) -> Iterable[CheckResult]:
        section = self.config.completeness
        if section is None:
            return []
        default = section.default_max_null_rate
        limits: dict[str, float] = {}
        for name in self.names:
            limit = section.columns.get(name, default)
            if limit is not None:
                limits[name] = limit
        limits.update({c: m for c, m in section.columns.items() if c not in limits})
        severity = self.config.severity_of("completeness")
        return [
            self.guarded(
                "completeness",
                "null_rate",
                name,
                limit,
                partial(self._completeness, name=name, max_null_rate=limit, severity=severity),
            )
            for name, limit in limits.items()
        ]

    @staticmethod
    def _completeness(
        column: ColumnProfile, name: str, max_null_rate: float, severity: Severity
    ) -> CheckResult:
        # NaNs are missing values too, as the data-based check counts them.
        return evaluate_completeness(
            name,
            rows=column.count,
            nulls=column.nulls + column.nan,
            max_null_rate=max_null_rate,
            severity=severity,
        )

    def uniqueness(self) -> Iterable[CheckResult]:
        section = self.config.uniqueness
        if section is None:
            return []
        severity = self.config.severity_of("uniqueness")
        limit = section.max_duplicate_rate
        results = []
        for key in section.keys:
            label = key_label(key)
            absent = [c for c in key if c not in self.profile.columns]
            if absent:
                hints = "".join(did_you_mean(c, self.names) for c in absent)
                message = f"key columns not found: {', '.join(absent)}{hints}"
            elif len(key) > 1:
                message = (
                    "a profile counts the distinct values of single columns only: "
                    "composite keys need the data"
                )
            else:
                results.append(self._unique(self.profile.columns[key[0]], key, limit, severity))
                continue
            results.append(
                error_result(
                    "uniqueness",
                    "duplicate_rate",
                    label,
                    message,
                    severity=severity,
                    threshold=limit,
                )
            )
        return results

    @staticmethod
    def _unique(
        column: ColumnProfile, key: Sequence[str], limit: float, severity: Severity
    ) -> CheckResult:
        counts = column.category_counts
        # The distinct counter leaves NaN out; the data-based check counts it as one key.
        nan_key = 1 if column.nan else 0
        if counts is not None:
            distinct = float(len(counts) + nan_key)
            examples = [v for v, c in sorted(counts, key=lambda p: -p[1]) if c > 1][:5]
            estimated = False
        else:
            distinct = column.distinct_sketch.estimate() + nan_key
            examples = []
            estimated = True
        return evaluate_uniqueness(
            key,
            non_null_rows=column.present,
            distinct=distinct,
            max_duplicate_rate=limit,
            null_rows=column.nulls,
            examples=examples,
            estimated=estimated,
            severity=severity,
        )

    def outliers(self) -> Iterable[CheckResult]:
        section = self.config.outliers
        if section is None:
            return []
        severity = self.config.severity_of("outliers")
        return [
            self.guarded(
                "outliers",
                "outlier_rate",
                name,
                rule.max_rate,
                partial(self._outliers, name=name, rule=rule, severity=severity),
            )
            for name, rule in section.columns.items()
        ]

    @staticmethod
    def _outliers(
        column: ColumnProfile, name: str, rule: OutlierRule, severity: Severity
    ) -> CheckResult:
        if column.kind not in (ValueKind.NUMBER, ValueKind.NULL):
            return error_result(
                "outliers",
                "outlier_rate",
                name,
                f"holds {column.kind.value} values; outlier checks need numbers",
                severity=severity,
                threshold=rule.max_rate,
            )
        moments, sketch = column.moments, column.quantiles
        if moments is None or sketch is None or sketch.n == 0 or moments.std is None:
            reason = (
                "no rows"
                if column.count == 0
                else f"no finite values among {column.count} rows ({column.inf} infinite)"
            )
            return error_result(
                "outliers",
                "outlier_rate",
                name,
                f"{reason}: nothing to check",
                severity=severity,
                threshold=rule.max_rate,
            )
        note = None
        if rule.method == "zscore":
            lower, upper = zscore_bounds(moments.mean, moments.std, rule.n_std)
            if moments.std == 0:
                note = "the column is constant"
        else:
            if sketch.is_exact:
                q1, q3 = (float(q) for q in np.percentile(sketch.values(), [25, 75]))
            else:
                q1, q3 = sketch.quantiles([0.25, 0.75])
            lower, upper = iqr_bounds(q1, q3, rule.k)
            if q1 == q3:
                note = (
                    "the interquartile range is 0: any value off the middle quartiles is an outlier"
                )
        share = _share_below(sketch, lower) + _share_above(sketch, upper)
        # Infinities lie outside any finite bounds.
        outliers = round(share * sketch.n) + column.inf
        return evaluate_outliers(
            name,
            rule=rule,
            lower=lower,
            upper=upper,
            non_null=_numbers(column),
            outliers=outliers,
            estimated=not sketch.is_exact or (rule.method == "iqr" and not sketch.is_exact),
            note=note,
            severity=severity,
        )

    # ------------------------------------------------------------ freshness and drift

    def freshness(self) -> Iterable[CheckResult]:
        section = self.config.freshness
        if section is None:
            return []
        severity = self.config.severity_of("freshness")
        limit = section.max_age.total_seconds() / 3600
        if section.column != self.profile.timestamp:
            built = (
                f"with timestamp column {self.profile.timestamp!r}"
                if self.profile.timestamp is not None
                else "without a timestamp column"
            )
            return [
                error_result(
                    "freshness",
                    "freshness_hours",
                    section.column,
                    f"the profile was built {built}: it keeps the newest time of that "
                    f"column only; profile with timestamp={section.column!r} or check the data",
                    severity=severity,
                    threshold=limit,
                )
            ]
        time_range = self.profile.time_range
        return [
            evaluate_freshness(
                section.column,
                newest=time_range[1] if time_range is not None else None,
                now=self.now,
                max_age=section.max_age,
                severity=severity,
            )
        ]

    def drift(self) -> Iterable[CheckResult]:
        section = self.config.drift
        if section is None:
            return []
        severity = self.config.severity_of("drift")
        try:
            return self._drift(section, severity)
        except MlvigilError as error:
            return [
                error_result(
                    "drift", "drift_share", None, f"drift not computed: {error}", severity=severity
                )
            ]

    def _drift(self, section: DriftCheckConfig, severity: Severity) -> list[CheckResult]:
        if isinstance(section.reference, DatasetProfile):
            reference = section.reference
        elif is_profile_path(section.reference):
            reference = DatasetProfile.load(section.reference)
        else:
            reference = profile_table(section.reference, config=self.profile.config)
        names = section.columns
        if names is None:
            names = [c for c in self.names if c in reference.columns]
        missing = []
        for name in names:
            sides = [
                (side, known)
                for side, known in (("the data", self.names), ("the reference", reference.columns))
                if name not in known
            ]
            if sides:
                where = " nor ".join(side for side, _ in sides)
                hint = did_you_mean(name, sides[0][1])
                message = f"column {name!r} not found in {where}{hint}"
                missing.append(error_result("drift", "drift", name, message, severity=severity))
        compared = [n for n in names if n in self.profile.columns and n in reference.columns]
        if not compared:
            message = "no column to compare with the reference"
            return [
                *missing,
                error_result("drift", "drift_share", None, message, severity=severity),
            ]
        types: Mapping[str, Any] = self.config.schema.types if self.config.schema else {}
        report = profile_drift(
            reference,
            self.profile,
            columns=compared,
            schema={c: t for c, t in types.items() if c in compared},
            config=section.config,
        )
        return [*missing, *drift_check_results(report, severity=severity)]


def run_quality_checks_on_profile(
    profile: DatasetProfile, config: QualityConfig, *, now: Clock | None = None
) -> QualityReport:
    """Run every check ``config`` asks for on a profile instead of the data.

    Parameters
    ----------
    profile
        A profile from :func:`mlvigil.profile.profile_table` (or merged, or loaded).
    config
        What to check, as for :func:`~mlvigil.checks.quality.run_quality_checks`.
    now
        The reference time for freshness and the results' timestamps: a
        datetime, or a function returning one; default: the system clock.

    Returns
    -------
    QualityReport
        Results in the order volume, schema, completeness, uniqueness,
        outliers, freshness, drift, judged as the data-based runner judges them.
        Counts (rows, nulls, category counts, minimum and maximum) are exact;
        range and outlier rates come from the quantile sketch and single-column
        duplicate rates from the distinct counter, marked
        ``details["estimated"]`` when approximate. Examples of offending values
        are not kept. Error results for what a profile cannot answer: composite
        uniqueness keys, allowed values of columns beyond the category cap, and
        freshness of a column other than the profile's timestamp column.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from mlvigil.profile import profile_table
    >>> from mlvigil.checks.quality.options import CompletenessConfig, UniquenessConfig
    >>> profile = profile_table(pa.table({"user_id": [1, 2, 2, 4],
    ...                                   "amount": [9.5, None, 3.0, 4.0]}))
    >>> config = QualityConfig(
    ...     completeness=CompletenessConfig({"user_id": 0.0, "amount": 0.05}),
    ...     uniqueness=UniquenessConfig(["user_id", ("user_id", "amount")]))
    >>> report = run_quality_checks_on_profile(profile, config)
    >>> [(r.check, r.column, r.value, r.status.value) for r in report]
    [('completeness', 'user_id', 0.0, 'passed'), ('completeness', 'amount', 0.25, 'failed'),
     ('uniqueness', 'user_id', 0.25, 'failed'), ('uniqueness', 'user_id,amount', None, 'error')]
    """
    moment = resolve_now(now)
    run = _ProfileRun(profile, config, moment)
    results: list[CheckResult] = []
    for check in CHECK_NAMES:
        results.extend(getattr(run, check)())
    return QualityReport(tuple(replace(r, timestamp=moment) for r in results))
