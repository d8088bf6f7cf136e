"""Drift as check results: a :class:`DriftReport` turned into :class:`CheckResult` rows.

:func:`drift_check_results` converts a report; :func:`check_drift` runs the drift
section of a quality configuration on data or on a profile and converts its report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mlvigil.checks._common import did_you_mean, error_result, is_profile_path, percent
from mlvigil.checks.details import DriftDetails, DriftShareDetails
from mlvigil.checks.drift import detect_drift
from mlvigil.checks.drift_report import ColumnDrift, ColumnStatus, DriftReport, drift_score
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.exceptions import MlvigilError
from mlvigil.io.tables import TableLike, TableSource, open_table
from mlvigil.profile.dataset import DatasetProfile
from mlvigil.schema import ColumnType
from mlvigil.stats.registry import get_method
from mlvigil.stats.result import DecisionRule

if TYPE_CHECKING:
    # An option of the quality configuration, whose runner imports this module.
    from mlvigil.checks.quality.options import DriftCheckConfig

__all__ = ["check_drift", "drift_check_results"]

CHECK = CheckKind.DRIFT


def _column_result(column: ColumnDrift, severity: Severity) -> CheckResult | None:
    if not column.tested:
        if column.status is ColumnStatus.SKIPPED:
            return None  # a type drift does not test (datetime, text), by design
        return error_result(
            CHECK,
            "drift",
            column.column,
            column.message or column.status.value,
            severity=severity,
            status=column.status.value,
        )
    assert column.method is not None
    assert column.statistic is not None
    assert column.threshold is not None
    rule = get_method(column.method).rule
    p_value = column.p_value_adjusted if column.p_value_adjusted is not None else column.p_value
    if column.limits is not None:
        rule_name = "learned"
        compared = f"{'>' if column.drifted else '<='} learned limit {column.threshold:.4g}"
    elif rule is DecisionRule.P_VALUE:
        rule_name = rule.value
        compared = f"p-value {p_value:.3g} {'<' if column.drifted else '>='} {column.threshold:g}"
    else:
        rule_name = rule.value
        compared = f"{'>=' if column.drifted else '<'} {column.threshold:g}"
    message = f"{column.method} statistic {column.statistic:.4g}"
    message += f" ({compared}): {'drift' if column.drifted else 'no drift'}"
    if column.message:
        message += f"; {column.message}"
    return CheckResult(
        check=CHECK,
        metric=column.method,
        column=column.column,
        value=column.statistic,
        threshold=column.threshold,
        status=CheckStatus.FAILED if column.drifted else CheckStatus.PASSED,
        severity=severity,
        message=message,
        score=drift_score(column),
        details=DriftDetails(
            type=column.type.value,
            rule=rule_name,
            status=column.status.value,
            p_value=column.p_value,
            p_value_adjusted=column.p_value_adjusted,
            reference_null_rate=column.reference_null_rate,
            current_null_rate=column.current_null_rate,
            missing_rate_drifted=column.missing_rate_drifted,
            new_categories=tuple(column.new_categories),
            missing_categories=tuple(column.missing_categories),
            approximation_error=column.approximation_error,
            limits=column.limits,
        ),
    )


def _contributions(report: DriftReport) -> tuple[tuple[str, float | None, float | None], ...]:
    """Every tested column with its drift score, largest first: what drifted most."""
    scored = [(c.column, drift_score(c)) for c in report if c.tested]
    scored.sort(key=lambda item: -(item[1] if item[1] is not None else -1.0))
    return tuple((column, score, None) for column, score in scored)


def drift_check_results(
    report: DriftReport, *, severity: Severity = Severity.WARNING
) -> list[CheckResult]:
    """Turn a :class:`DriftReport` into check results.

    One result per column with metric = the method's name, value = its
    statistic and the method's threshold; for p-value methods the threshold
    bounds the p-value, which is in the details with the decision ``rule``.
    Columns that could not be tested give error results, except columns skipped
    by type (datetime, text). Last comes one dataset result, metric
    ``drift_share``, which fails when the dataset drifted.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from mlvigil.checks.drift import detect_drift
    >>> report = detect_drift(pa.table({"x": [1.0, 2.0, 3.0, 4.0]}),
    ...                       pa.table({"x": [7.0, 8.0, 9.0, 9.5]}))
    >>> [(r.column, r.metric, r.passed) for r in drift_check_results(report)]
    [('x', 'ks', False), (None, 'drift_share', False)]
    """
    results = [r for c in report for r in [_column_result(c, severity)] if r is not None]
    share = report.drift_share
    results.append(
        CheckResult(
            check=CHECK,
            metric="drift_share",
            column=None,
            value=share,
            threshold=report.drift_share_threshold,
            status=CheckStatus.FAILED if report.dataset_drift else CheckStatus.PASSED,
            severity=severity,
            message=(
                f"{report.number_of_drifted_columns} of {report.number_of_tested_columns} "
                f"tested columns drifted ({percent(share)}; dataset drift at "
                f"{percent(report.drift_share_threshold)})"
            ),
            details=DriftShareDetails(
                drifted_columns=tuple(c.column for c in report if c.drifted),
                tested_columns=report.number_of_tested_columns,
                contributions=_contributions(report),
            ),
        )
    )
    return results


def _opened(data: TableLike) -> TableSource | DatasetProfile:
    if isinstance(data, DatasetProfile):
        return data
    if is_profile_path(data):
        return DatasetProfile.load(data)
    return open_table(data)


def _names(side: TableSource | DatasetProfile) -> list[str]:
    return list(side.columns) if isinstance(side, DatasetProfile) else side.column_names


def _missing(
    name: str, current: Sequence[str], reference: Sequence[str], severity: Severity
) -> CheckResult | None:
    sides = [
        (side, names)
        for side, names in (("the data", current), ("the reference", reference))
        if name not in names
    ]
    if not sides:
        return None
    where = " nor ".join(side for side, _ in sides)
    hint = did_you_mean(name, sides[0][1])
    return error_result(
        CHECK, "drift", name, f"column {name!r} not found in {where}{hint}", severity=severity
    )


def check_drift(
    current: TableSource | DatasetProfile,
    config: DriftCheckConfig,
    *,
    types: Mapping[str, ColumnType | str] | None = None,
    severity: Severity = Severity.WARNING,
) -> list[CheckResult]:
    """Compare ``current`` with the configured reference; never raises on bad input.

    Parameters
    ----------
    current
        The checked data, as :func:`~mlvigil.io.tables.open_table` opens it (only
        the compared columns are read), or its profile.
    config
        The reference (data, or a profile: a profile on either side compares
        profiles, the data side profiled alike), drift options and columns
        (default: the columns both have).
    types
        Declared column types, passed to :func:`~mlvigil.checks.drift.detect_drift`.
    severity
        Severity of every drift result.

    Returns
    -------
    list of CheckResult
        As :func:`drift_check_results`, plus an error result per requested column
        missing from either side; a single error result when the reference
        cannot be read.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from mlvigil.checks.quality.options import DriftCheckConfig
    >>> from mlvigil.io.tables import open_table
    >>> reference = pa.table({"x": [1.0, 2.0, 3.0, 4.0], "c": list("abab")})
    >>> current = open_table(pa.table({"x": [7.0, 8.0, 9.0, 9.5], "c": list("abab")}))
    >>> results = check_drift(current, DriftCheckConfig(reference, columns=["x", "z"]))
    >>> [(r.column, r.metric, r.status.value) for r in results]
    [('z', 'drift', 'error'), ('x', 'ks', 'failed'), (None, 'drift_share', 'failed')]
    >>> results[0].message
    "column 'z' not found in the data nor the reference"
    """
    try:
        reference = _opened(config.reference)
        ref_names, cur_names = _names(reference), _names(current)
        names = config.columns
        if names is None:
            names = [c for c in cur_names if c in ref_names]
        missing = [
            m for m in (_missing(n, cur_names, ref_names, severity) for n in names) if m is not None
        ]
        compared = [n for n in names if n in cur_names and n in ref_names]
        if not compared:
            return [
                *missing,
                error_result(
                    CHECK,
                    "drift_share",
                    None,
                    "no column to compare with the reference",
                    severity=severity,
                ),
            ]
        declared = {c: t for c, t in (types or {}).items() if c in compared}
        report = detect_drift(
            reference, current, columns=compared, schema=declared, config=config.config
        )
    except MlvigilError as error:
        return [
            error_result(
                CHECK, "drift_share", None, f"drift not computed: {error}", severity=severity
            )
        ]
    return [*missing, *drift_check_results(report, severity=severity)]
