"""Run every configured quality check on data or on a profile: one runner, two subjects.

:func:`run_quality_checks` checks a table (:class:`~mlvigil.checks.quality.on_data.TableSubject`:
each column read at most once, and only if a check needs it);
:func:`run_quality_checks_on_profile` checks a profile
(:class:`~mlvigil.checks.quality.on_profile.ProfileSubject`). The runner walks the
configuration the same way for both, in the order of :data:`CHECK_NAMES`, and
handles problems the same way: a check whose column is missing, or that cannot run
(wrong type, unreadable values, what a profile does not keep), gives an error result
and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

import pyarrow as pa

from mlvigil.checks._common import is_profile_path
from mlvigil.checks.drift_results import check_drift
from mlvigil.checks.quality._common import did_you_mean, error_result, missing_column
from mlvigil.checks.quality.freshness import Clock, resolve_now
from mlvigil.checks.quality.on_data import TableSubject
from mlvigil.checks.quality.on_profile import ProfileSubject
from mlvigil.checks.quality.options import CHECK_NAMES, OutlierRule, QualityConfig, RangeRule
from mlvigil.checks.quality.report import QualityReport
from mlvigil.checks.quality.schema import check_extra_columns, check_required
from mlvigil.checks.quality.uniqueness import key_label
from mlvigil.checks.quality.volume import check_volume
from mlvigil.checks.result import CheckKind, CheckResult, Severity
from mlvigil.exceptions import MlvigilError
from mlvigil.io.tables import TableLike, TableSource, open_table
from mlvigil.profile.dataset import DatasetProfile
from mlvigil.schema import ColumnType

__all__ = ["QualitySubject", "run_quality_checks", "run_quality_checks_on_profile"]

#: What a check may raise that makes its result an error result rather than a crash:
#: mlvigil's own errors, Arrow's (values that cannot be read as needed) and value errors.
_CHECK_ERRORS = (MlvigilError, pa.ArrowException, ValueError)


class QualitySubject(Protocol):
    """What the runner checks, column by column: a table or a profile.

    Each method computes one check on columns the runner has found present; the
    runner turns a missing column or an error it raises into an error result.
    """

    @property
    def column_names(self) -> list[str]:
        """The columns, in order."""
        ...

    @property
    def num_rows(self) -> int:
        """Rows."""
        ...

    @property
    def drift_input(self) -> TableSource | DatasetProfile:
        """What the drift check compares with its reference."""
        ...

    def type_matches(
        self, column: str, expected: ColumnType | str, severity: Severity, /
    ) -> CheckResult:
        """Schema: the column's type."""
        ...

    def allowed(
        self, column: str, allowed: Sequence[Any], max_rate: float, severity: Severity, /
    ) -> CheckResult:
        """Schema: share of values outside ``allowed``."""
        ...

    def in_range(self, column: str, rule: RangeRule, severity: Severity, /) -> CheckResult:
        """Schema: share of values outside a range."""
        ...

    def completeness(self, column: str, max_null_rate: float, severity: Severity, /) -> CheckResult:
        """Share of missing values."""
        ...

    def uniqueness(
        self, key: Sequence[str], max_duplicate_rate: float, severity: Severity, /
    ) -> CheckResult:
        """Share of duplicated keys (the key's columns are present)."""
        ...

    def outliers(self, column: str, rule: OutlierRule, severity: Severity, /) -> CheckResult:
        """Share of outlying values."""
        ...

    def freshness(
        self, column: str, max_age: timedelta, now: datetime, severity: Severity, /
    ) -> CheckResult:
        """Age of the newest timestamp."""
        ...


class _Run:
    """One run of the configured checks over one subject."""

    def __init__(self, subject: QualitySubject, config: QualityConfig, now: datetime) -> None:
        self.subject = subject
        self.config = config
        self.now = now
        self.names = subject.column_names

    def attempt(
        self,
        check: CheckKind,
        metric: str,
        label: str,
        threshold: float | None,
        compute: Callable[[], CheckResult],
    ) -> CheckResult:
        """Run a check, turning a failure into an error result."""
        try:
            return compute()
        except _CHECK_ERRORS as error:
            return error_result(
                check,
                metric,
                label,
                f"cannot check: {error}",
                severity=self.config.severity_of(check),
                threshold=threshold,
            )

    def guarded(
        self,
        check: CheckKind,
        metric: str,
        column: str,
        threshold: float | None,
        compute: Callable[[], CheckResult],
    ) -> CheckResult:
        """Run a one-column check, turning a missing column or a failure into an error."""
        if column not in self.names:
            severity = self.config.severity_of(check)
            return missing_column(
                check, metric, column, self.names, severity=severity, threshold=threshold
            )
        return self.attempt(check, metric, column, threshold, compute)

    def volume(self) -> Iterable[CheckResult]:
        if self.config.volume is None:
            return []
        severity = self.config.severity_of(CheckKind.VOLUME)
        return check_volume(self.subject.num_rows, self.config.volume, severity=severity)

    def schema(self) -> Iterable[CheckResult]:
        schema = self.config.schema
        if schema is None:
            return []
        kind, subject = CheckKind.SCHEMA, self.subject
        severity = self.config.severity_of(kind)
        results = check_required(self.names, schema.required, severity=severity)
        for column, expected in schema.types.items():
            check = partial(subject.type_matches, column, expected, severity)
            results.append(self.guarded(kind, "type_matches", column, None, check))
        rate = schema.max_unexpected_rate
        for column, allowed in schema.allowed.items():
            check = partial(subject.allowed, column, allowed, rate, severity)
            results.append(self.guarded(kind, "unexpected_value_rate", column, rate, check))
        for column, rule in schema.ranges.items():
            check = partial(subject.in_range, column, rule, severity)
            results.append(self.guarded(kind, "out_of_range_rate", column, rule.max_rate, check))
        if not schema.allow_extra_columns:
            declared = self.config.named_columns()
            results.append(check_extra_columns(self.names, declared, severity=severity))
        return results

    def completeness(self) -> Iterable[CheckResult]:
        section = self.config.completeness
        if section is None:
            return []
        # Table order, then listed columns the subject lacks (they give error results).
        default = section.default_max_null_rate
        limits: dict[str, float] = {}
        for name in self.names:
            limit = section.columns.get(name, default)
            if limit is not None:
                limits[name] = limit
        limits.update({c: m for c, m in section.columns.items() if c not in limits})
        kind = CheckKind.COMPLETENESS
        severity = self.config.severity_of(kind)
        check = self.subject.completeness
        return [
            self.guarded(kind, "null_rate", column, limit, partial(check, column, limit, severity))
            for column, limit in limits.items()
        ]

    def uniqueness(self) -> Iterable[CheckResult]:
        section = self.config.uniqueness
        if section is None:
            return []
        kind = CheckKind.UNIQUENESS
        severity = self.config.severity_of(kind)
        limit = section.max_duplicate_rate
        results = []
        for key in section.keys:
            absent = [c for c in key if c not in self.names]
            if absent:
                hints = "".join(did_you_mean(c, self.names) for c in absent)
                message = f"key columns not found: {', '.join(absent)}{hints}"
                results.append(
                    error_result(
                        kind,
                        "duplicate_rate",
                        key_label(key),
                        message,
                        severity=severity,
                        threshold=limit,
                    )
                )
                continue
            check = partial(self.subject.uniqueness, key, limit, severity)
            results.append(self.attempt(kind, "duplicate_rate", key_label(key), limit, check))
        return results

    def outliers(self) -> Iterable[CheckResult]:
        section = self.config.outliers
        if section is None:
            return []
        kind = CheckKind.OUTLIERS
        severity = self.config.severity_of(kind)
        check = self.subject.outliers
        return [
            self.guarded(
                kind, "outlier_rate", column, rule.max_rate, partial(check, column, rule, severity)
            )
            for column, rule in section.columns.items()
        ]

    def freshness(self) -> Iterable[CheckResult]:
        section = self.config.freshness
        if section is None:
            return []
        kind = CheckKind.FRESHNESS
        severity = self.config.severity_of(kind)
        limit = section.max_age.total_seconds() / 3600
        check = partial(self.subject.freshness, section.column, section.max_age, self.now, severity)
        return [self.guarded(kind, "freshness_hours", section.column, limit, check)]

    def drift(self) -> Iterable[CheckResult]:
        section = self.config.drift
        if section is None:
            return []
        types = self.config.schema.types if self.config.schema is not None else None
        severity = self.config.severity_of(CheckKind.DRIFT)
        return check_drift(self.subject.drift_input, section, types=types, severity=severity)


def _run(subject: QualitySubject, config: QualityConfig, now: Clock | None) -> QualityReport:
    moment = resolve_now(now)
    run = _Run(subject, config, moment)
    results: list[CheckResult] = []
    for check in CHECK_NAMES:
        results.extend(getattr(run, check)())
    # One timestamp for the whole run, so its results group as one evaluation.
    return QualityReport(tuple(replace(r, timestamp=moment) for r in results))


def run_quality_checks(
    data: TableLike, config: QualityConfig, *, now: Clock | None = None
) -> QualityReport:
    """Run every check ``config`` asks for on ``data``.

    Parameters
    ----------
    data
        A CSV or Parquet path, or a pyarrow, pandas or polars table. Only the
        columns the checks need are read. A :class:`~mlvigil.profile.DatasetProfile`
        or a path ending in ``.profile`` runs :func:`run_quality_checks_on_profile`.
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
    >>> [(str(r.check), r.column, r.value, r.passed) for r in report]
    [('completeness', 'user_id', 0.0, True), ('completeness', 'amount', 0.25, False),
     ('uniqueness', 'user_id', 0.25, False)]
    >>> report.passed
    False
    """
    if isinstance(data, DatasetProfile) or is_profile_path(data):
        profile = data if isinstance(data, DatasetProfile) else DatasetProfile.load(data)
        return run_quality_checks_on_profile(profile, config, now=now)
    return _run(TableSubject(open_table(data)), config, now)


def run_quality_checks_on_profile(
    profile: DatasetProfile, config: QualityConfig, *, now: Clock | None = None
) -> QualityReport:
    """Run every check ``config`` asks for on a profile instead of the data.

    Parameters
    ----------
    profile
        A profile from :func:`mlvigil.profile.profile_table` (or merged, or loaded).
    config
        What to check, as for :func:`run_quality_checks`.
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
    >>> [(str(r.check), r.column, r.value, r.status.value) for r in report]
    [('completeness', 'user_id', 0.0, 'passed'), ('completeness', 'amount', 0.25, 'failed'),
     ('uniqueness', 'user_id', 0.25, 'failed'), ('uniqueness', 'user_id,amount', None, 'error')]
    """
    return _run(ProfileSubject(profile), config, now)
