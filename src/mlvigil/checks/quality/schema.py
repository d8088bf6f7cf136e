"""Schema: required columns, column types, and columns nobody declared.

Types are compared by Arrow type family rather than by inference: inference calls
an integer column with few values categorical, yet declaring it numerical is
right, and a family check never needs to look at the values.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pyarrow as pa

from mlvigil.checks.quality._common import did_you_mean, error_result, type_name
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.schema import ColumnType, is_vector_type

__all__ = ["check_extra_columns", "check_required", "evaluate_type", "type_matches"]

CHECK = CheckKind.SCHEMA


def _is_string(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def type_matches(expected: ColumnType, kind: pa.DataType) -> bool:
    """Whether values of Arrow type ``kind`` can be a column of type ``expected``.

    Numerical: integers, floats, decimals. Categorical: strings, dictionaries,
    integers (codes) and booleans. Boolean: booleans. Datetime: dates, times and
    timestamps. Text: strings. Embedding: lists (fixed-size or not) of numbers.

    Examples
    --------
    >>> import pyarrow as pa
    >>> type_matches(ColumnType.NUMERICAL, pa.int64()), type_matches(ColumnType.TEXT, pa.int64())
    (True, False)
    """
    if pa.types.is_dictionary(kind):
        return expected is ColumnType.CATEGORICAL or type_matches(expected, kind.value_type)
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    match expected:
        case ColumnType.NUMERICAL:
            return bool(numeric)
        case ColumnType.CATEGORICAL:
            return bool(_is_string(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind))
        case ColumnType.BOOLEAN:
            return bool(pa.types.is_boolean(kind))
        case ColumnType.DATETIME:
            return bool(pa.types.is_temporal(kind) and not pa.types.is_duration(kind))
        case ColumnType.TEXT:
            return _is_string(kind)
        case ColumnType.EMBEDDING:
            return is_vector_type(kind)
    return False


def evaluate_type(
    column: str,
    *,
    expected: ColumnType | str,
    arrow_type: pa.DataType,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Check a column's Arrow type against its declared :class:`ColumnType`.

    Metric ``type_matches`` is 1 when the type fits and 0 when not. A column of
    Arrow type ``null`` (every value missing, nothing to read a type from) is an
    error result.

    Examples
    --------
    >>> import pyarrow as pa
    >>> r = evaluate_type("country", expected="categorical", arrow_type=pa.float64())
    >>> r.passed, r.message
    (False, 'expected categorical values, found numeric (double)')
    """
    expected = ColumnType(expected)
    details = {"expected": expected.value, "arrow_type": str(arrow_type)}
    if pa.types.is_null(arrow_type):
        return error_result(
            CHECK,
            "type_matches",
            column,
            f"every value is null: cannot tell whether it holds {expected.value} values",
            severity=severity,
            expected=expected.value,
            arrow_type=str(arrow_type),
        )
    matches = type_matches(expected, arrow_type)
    found = f"{type_name(arrow_type)} ({arrow_type})"
    return CheckResult(
        check=CHECK,
        metric="type_matches",
        column=column,
        value=1.0 if matches else 0.0,
        threshold=None,
        status=CheckStatus.PASSED if matches else CheckStatus.FAILED,
        severity=severity,
        message=f"{'holds' if matches else 'expected'} {expected.value} values"
        + ("" if matches else f", found {found}"),
        details=details,
    )


def check_required(
    column_names: Sequence[str],
    required: Sequence[str],
    *,
    severity: Severity = Severity.ERROR,
) -> list[CheckResult]:
    """One result per required column: metric ``column_present``, 1 or 0.

    Examples
    --------
    >>> [r.message for r in check_required(["user_id", "amout"], ["user_id", "amount"])]
    ['present', "required column 'amount' is missing; did you mean 'amout'?"]
    """
    results = []
    for name in required:
        present = name in column_names
        results.append(
            CheckResult(
                check=CHECK,
                metric="column_present",
                column=name,
                value=1.0 if present else 0.0,
                threshold=None,
                status=CheckStatus.PASSED if present else CheckStatus.FAILED,
                severity=severity,
                message="present"
                if present
                else f"required column {name!r} is missing{did_you_mean(name, column_names)}",
            )
        )
    return results


def check_extra_columns(
    column_names: Sequence[str],
    declared: Collection[str],
    *,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Columns the configuration does not name: metric ``unexpected_columns`` (a count).

    Examples
    --------
    >>> r = check_extra_columns(["a", "b", "debug"], {"a", "b"})
    >>> r.value, r.details["unexpected"]
    (1.0, ['debug'])
    """
    unexpected = [c for c in column_names if c not in declared]
    return CheckResult(
        check=CHECK,
        metric="unexpected_columns",
        column=None,
        value=float(len(unexpected)),
        threshold=0.0,
        status=CheckStatus.FAILED if unexpected else CheckStatus.PASSED,
        severity=severity,
        message=f"unexpected columns: {', '.join(unexpected)}"
        if unexpected
        else "no unexpected columns",
        details={"unexpected": unexpected},
    )
