"""Run every configured quality check on a table: :func:`run_quality_checks`.

Each column is read at most once, and only if a check needs it. A check that
cannot run (missing column, wrong type, unreadable values) gives an error
result and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial

import pyarrow as pa

from mlvigil.checks.quality._common import did_you_mean, error_result, missing_column
from mlvigil.checks.quality.completeness import check_completeness
from mlvigil.checks.quality.drift_results import check_drift
from mlvigil.checks.quality.freshness import Clock, check_freshness, resolve_now
from mlvigil.checks.quality.options import CHECK_NAMES, QualityConfig
from mlvigil.checks.quality.outliers import check_outliers
from mlvigil.checks.quality.profile_runner import is_profile_path, run_quality_checks_on_profile
from mlvigil.checks.quality.report import QualityReport
from mlvigil.checks.quality.schema import check_extra_columns, check_required, evaluate_type
from mlvigil.checks.quality.uniqueness import check_uniqueness, key_label
from mlvigil.checks.quality.values import check_allowed, check_range
from mlvigil.checks.quality.volume import check_volume
from mlvigil.checks.result import CheckResult, Severity
from mlvigil.exceptions import MlvigilError
from mlvigil.io.tables import TableLike, TableSource, open_table
from mlvigil.profile import DatasetProfile
from mlvigil.schema import ColumnType

__all__ = ["run_quality_checks"]


class _CachedSource:
    """A :class:`TableSource` that reads each column once, when first asked."""

    def __init__(self, source: TableSource) -> None:
        self._source = source
        self._columns: dict[str, pa.ChunkedArray] = {}

    @property
    def column_names(self) -> list[str]:
        return self._source.column_names

    @property
    def num_rows(self) -> int:
        return self._source.num_rows

    def column(self, name: str) -> pa.ChunkedArray:
        if name not in self._columns:
            self._columns[name] = self._source.column(name)
        return self._columns[name]


def _check_type(
    values: pa.ChunkedArray, *, column: str, expected: ColumnType | str, severity: Severity
) -> CheckResult:
    return evaluate_type(column, expected=expected, arrow_type=values.type, severity=severity)


class _Run:
    """One run of the configured checks over one table."""

    def __init__(self, source: TableSource, config: QualityConfig, now: datetime) -> None:
        self.source = _CachedSource(source)
        self.config = config
        self.now = now

    def guarded(
        self,
        check: str,
        metric: str,
        column: str,
        threshold: float | None,
        compute: Callable[[pa.ChunkedArray], CheckResult],
    ) -> CheckResult:
        """Run a one-column check, turning a missing column or bad values into an error."""
        severity = self.config.severity_of(check)
        if column not in self.source.column_names:
            return missing_column(
                check,
                metric,
                column,
                self.source.column_names,
                severity=severity,
                threshold=threshold,
            )
        try:
            return compute(self.source.column(column))
        except (MlvigilError, pa.ArrowException) as error:
            return error_result(
                check,
                metric,
                column,
                f"cannot check: {error}",
                severity=severity,
                threshold=threshold,
            )

    def volume(self) -> Iterable[CheckResult]:
        if self.config.volume is None:
            return []
        severity = self.config.severity_of("volume")
        return check_volume(self.source.num_rows, self.config.volume, severity=severity)

    def schema(self) -> Iterable[CheckResult]:
        schema = self.config.schema
        if schema is None:
            return []
        names = self.source.column_names
        severity = self.config.severity_of("schema")
        results = check_required(names, schema.required, severity=severity)
        for column, expected in schema.types.items():
            check_type = partial(_check_type, column=column, expected=expected, severity=severity)
            results.append(self.guarded("schema", "type_matches", column, None, check_type))
        rate = schema.max_unexpected_rate
        for column, allowed in schema.allowed.items():
            check = partial(
                check_allowed, column=column, allowed=allowed, max_rate=rate, severity=severity
            )
            results.append(self.guarded("schema", "unexpected_value_rate", column, rate, check))
        for column, rule in schema.ranges.items():
            check = partial(check_range, column=column, rule=rule, severity=severity)
            results.append(
                self.guarded("schema", "out_of_range_rate", column, rule.max_rate, check)
            )
        if not schema.allow_extra_columns:
            declared = self.config.named_columns()
            results.append(check_extra_columns(names, declared, severity=severity))
        return results

    def completeness(self) -> Iterable[CheckResult]:
        section = self.config.completeness
        if section is None:
            return []
        # Table order, then listed columns the table lacks (they give error results).
        default = section.default_max_null_rate
        limits: dict[str, float] = {}
        for name in self.source.column_names:
            limit = section.columns.get(name, default)
            if limit is not None:
                limits[name] = limit
        limits.update({c: m for c, m in section.columns.items() if c not in limits})
        severity = self.config.severity_of("completeness")
        return [
            self.guarded(
                "completeness",
                "null_rate",
                column,
                limit,
                partial(check_completeness, column=column, max_null_rate=limit, severity=severity),
            )
            for column, limit in limits.items()
        ]

    def uniqueness(self) -> Iterable[CheckResult]:
        section = self.config.uniqueness
        if section is None:
            return []
        severity = self.config.severity_of("uniqueness")
        names = self.source.column_names
        results = []
        for key in section.keys:
            absent = [c for c in key if c not in names]
            if absent:
                hints = "".join(did_you_mean(c, names) for c in absent)
                results.append(
                    error_result(
                        "uniqueness",
                        "duplicate_rate",
                        key_label(key),
                        f"key columns not found: {', '.join(absent)}{hints}",
                        severity=severity,
                        threshold=section.max_duplicate_rate,
                    )
                )
                continue
            try:
                table = pa.table({c: self.source.column(c) for c in key})
            except MlvigilError as error:
                results.append(
                    error_result(
                        "uniqueness",
                        "duplicate_rate",
                        key_label(key),
                        f"cannot check: {error}",
                        severity=severity,
                        threshold=section.max_duplicate_rate,
                    )
                )
                continue
            results.append(
                check_uniqueness(
                    table, key, max_duplicate_rate=section.max_duplicate_rate, severity=severity
                )
            )
        return results

    def outliers(self) -> Iterable[CheckResult]:
        section = self.config.outliers
        if section is None:
            return []
        severity = self.config.severity_of("outliers")
        return [
            self.guarded(
                "outliers",
                "outlier_rate",
                column,
                rule.max_rate,
                partial(check_outliers, column=column, rule=rule, severity=severity),
            )
            for column, rule in section.columns.items()
        ]

    def freshness(self) -> Iterable[CheckResult]:
        section = self.config.freshness
        if section is None:
            return []
        check = partial(
            check_freshness,
            column=section.column,
            max_age=section.max_age,
            now=self.now,
            severity=self.config.severity_of("freshness"),
        )
        limit = section.max_age.total_seconds() / 3600
        return [self.guarded("freshness", "freshness_hours", section.column, limit, check)]

    def drift(self) -> Iterable[CheckResult]:
        section = self.config.drift
        if section is None:
            return []
        types = self.config.schema.types if self.config.schema is not None else None
        return check_drift(
            self.source, section, types=types, severity=self.config.severity_of("drift")
        )


def run_quality_checks(
    data: TableLike, config: QualityConfig, *, now: Clock | None = None
) -> QualityReport:
    """Run every check ``config`` asks for on ``data``.

    Parameters
    ----------
    data
        A CSV or Parquet path, or a pyarrow, pandas or polars table. Only the
        columns the checks need are read. A :class:`~mlvigil.profile.DatasetProfile`
        or a path ending in ``.profile`` runs
        :func:`~mlvigil.checks.quality.profile_runner.run_quality_checks_on_profile`.
    config
        What to check; see :class:`~mlvigil.checks.quality.options.QualityConfig`
        or load one from YAML with :func:`mlvigil.checks.config.load_quality_config`.
    now
        The reference time for freshness and the results' timestamps: a
        datetime, or a function returning one; default: the system clock.

    Returns
    -------
    QualityReport
        Results in the order volume, schema, completeness, uniqueness,
        outliers, freshness, drift.

    Raises
    ------
    UnreadableInputError
        When ``data`` cannot be read as a table. Problems with single columns
        become error results instead.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from mlvigil.checks.quality.options import (
    ...     CompletenessConfig, UniquenessConfig, QualityConfig)
    >>> table = pa.table({"user_id": [1, 2, 2, 4], "amount": [9.5, None, 3.0, 4.0]})
    >>> config = QualityConfig(
    ...     completeness=CompletenessConfig({"user_id": 0.0, "amount": 0.05}),
    ...     uniqueness=UniquenessConfig(["user_id"]))
    >>> report = run_quality_checks(table, config)
    >>> [(r.check, r.column, r.value, r.passed) for r in report]
    [('completeness', 'user_id', 0.0, True), ('completeness', 'amount', 0.25, False),
     ('uniqueness', 'user_id', 0.25, False)]
    >>> report.passed
    False
    """
    if isinstance(data, DatasetProfile) or is_profile_path(data):
        profile = data if isinstance(data, DatasetProfile) else DatasetProfile.load(data)
        return run_quality_checks_on_profile(profile, config, now=now)
    moment = resolve_now(now)
    run = _Run(open_table(data), config, moment)
    results: list[CheckResult] = []
    for check in CHECK_NAMES:
        results.extend(getattr(run, check)())
    # One timestamp for the whole run, so its results group as one evaluation.
    return QualityReport(tuple(replace(r, timestamp=moment) for r in results))
