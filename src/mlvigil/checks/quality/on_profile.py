"""Quality checks computed from a profile: the profile side of the quality runner.

A :class:`~mlvigil.profile.DatasetProfile` answers most checks without the data:
counts are exact, and rates read from the KLL quantile sketch or the HyperLogLog
distinct counter are estimates (``details["estimated"]``). Every verdict comes
from the same ``evaluate_*`` functions the data side uses
(:mod:`mlvigil.checks.quality.on_data`). What a profile cannot answer (composite
keys, categories beyond the cap, a freshness column other than the profile's
timestamp column) gives an error result saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from mlvigil.checks.quality._common import error_result
from mlvigil.checks.quality.completeness import evaluate_completeness
from mlvigil.checks.quality.freshness import evaluate_freshness
from mlvigil.checks.quality.options import OutlierRule, RangeRule
from mlvigil.checks.quality.outliers import evaluate_outliers, iqr_bounds, zscore_bounds
from mlvigil.checks.quality.schema import evaluate_type
from mlvigil.checks.quality.uniqueness import evaluate_uniqueness, key_label
from mlvigil.checks.quality.values import evaluate_allowed, evaluate_range, unexpected_counts
from mlvigil.checks.result import CheckKind, CheckResult, Severity
from mlvigil.profile.column import ColumnProfile, TimeKind, ValueKind
from mlvigil.profile.dataset import DatasetProfile
from mlvigil.profile.sketches import QuantileSketch
from mlvigil.schema import ColumnType

__all__ = ["ProfileSubject"]


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


class ProfileSubject:
    """A dataset checked from its profile."""

    def __init__(self, profile: DatasetProfile) -> None:
        self._profile = profile

    @property
    def column_names(self) -> list[str]:
        """The profiled columns, in order."""
        return list(self._profile.columns)

    @property
    def num_rows(self) -> int:
        """Rows the profile counted."""
        return self._profile.row_count

    @property
    def drift_input(self) -> DatasetProfile:
        """What the drift check compares with its reference: the profile."""
        return self._profile

    def type_matches(
        self, name: str, expected: ColumnType | str, severity: Severity
    ) -> CheckResult:
        """Whether the profiled kind of values is of the expected column type."""
        column = self._profile.columns[name]
        arrow_type = _arrow_type(column)
        if arrow_type is None:
            return error_result(
                CheckKind.SCHEMA,
                "type_matches",
                name,
                f"the profile holds {column.kind.value} values: their type is not kept",
                severity=severity,
            )
        return evaluate_type(name, expected=expected, arrow_type=arrow_type, severity=severity)

    def allowed(
        self, name: str, allowed: Sequence[Any], max_rate: float, severity: Severity
    ) -> CheckResult:
        """Share of values outside ``allowed``, from the exact category counts."""
        column = self._profile.columns[name]
        counts = column.counts
        if counts is None:
            reason = (
                "it has more distinct values than the profile's category cap"
                if column.categories_capped
                else f"the profile keeps no category counts of its {column.kind.value} values"
            )
            return error_result(
                CheckKind.SCHEMA,
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

    def in_range(self, name: str, rule: RangeRule, severity: Severity) -> CheckResult:
        """Share of values outside the bounds, from the exact extremes and the sketch."""
        column = self._profile.columns[name]
        if column.kind not in (ValueKind.NUMBER, ValueKind.NULL):
            return error_result(
                CheckKind.SCHEMA,
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
                CheckKind.SCHEMA,
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

    def completeness(self, name: str, max_null_rate: float, severity: Severity) -> CheckResult:
        """Share of null (or NaN, as the data side counts them) values, exact."""
        column = self._profile.columns[name]
        return evaluate_completeness(
            name,
            rows=column.count,
            nulls=column.nulls + column.nan,
            max_null_rate=max_null_rate,
            severity=severity,
        )

    def uniqueness(self, key: Sequence[str], limit: float, severity: Severity) -> CheckResult:
        """Share of duplicated values of one column: exact counts, or the distinct counter."""
        if len(key) > 1:
            return error_result(
                CheckKind.UNIQUENESS,
                "duplicate_rate",
                key_label(key),
                "a profile counts the distinct values of single columns only: "
                "composite keys need the data",
                severity=severity,
                threshold=limit,
            )
        column = self._profile.columns[key[0]]
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

    def outliers(self, name: str, rule: OutlierRule, severity: Severity) -> CheckResult:
        """Share of values beyond the rule's bounds, from the moments and the sketch."""
        column = self._profile.columns[name]
        if column.kind not in (ValueKind.NUMBER, ValueKind.NULL):
            return error_result(
                CheckKind.OUTLIERS,
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
                CheckKind.OUTLIERS,
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

    def freshness(
        self, name: str, max_age: timedelta, now: datetime, severity: Severity
    ) -> CheckResult:
        """Age of the newest time of the profile's timestamp column (the only one kept)."""
        if name != self._profile.timestamp:
            built = (
                f"with timestamp column {self._profile.timestamp!r}"
                if self._profile.timestamp is not None
                else "without a timestamp column"
            )
            return error_result(
                CheckKind.FRESHNESS,
                "freshness_hours",
                name,
                f"the profile was built {built}: it keeps the newest time of that "
                f"column only; profile with timestamp={name!r} or check the data",
                severity=severity,
                threshold=max_age.total_seconds() / 3600,
            )
        time_range = self._profile.time_range
        return evaluate_freshness(
            name,
            newest=time_range[1] if time_range is not None else None,
            now=now,
            max_age=max_age,
            severity=severity,
        )
