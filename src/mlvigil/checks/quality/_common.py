"""Small helpers every quality check shares: verdicts, error results, examples.

The error result itself (:func:`error_result`), name hints and rates are the
checks' own (:mod:`mlvigil.checks._common`), shared with the drift results.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks._common import did_you_mean, error_result, percent
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity

__all__ = [
    "MAX_EXAMPLES",
    "did_you_mean",
    "error_result",
    "extreme_examples",
    "is_numeric",
    "jsonable",
    "missing_column",
    "null_count",
    "numeric_values",
    "percent",
    "type_name",
    "verdict",
]

#: How many example values a result lists, at most.
MAX_EXAMPLES = 5


def verdict(value: float, threshold: float) -> CheckStatus:
    """Pass when ``value`` is at most ``threshold`` (all quality limits are maxima)."""
    return CheckStatus.PASSED if value <= threshold else CheckStatus.FAILED


def missing_column(
    check: CheckKind | str,
    metric: str,
    column: str,
    available: Sequence[str],
    *,
    severity: Severity,
    threshold: float | None = None,
) -> CheckResult:
    """The error result of a check whose column is not in the table."""
    return error_result(
        check,
        metric,
        column,
        f"column {column!r} not found{did_you_mean(column, available)}",
        severity=severity,
        threshold=threshold,
    )


def is_numeric(kind: pa.DataType) -> bool:
    """Whether an Arrow type holds numbers (booleans do not count)."""
    if pa.types.is_dictionary(kind):
        return is_numeric(kind.value_type)
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )


def type_name(kind: pa.DataType) -> str:
    """How a person would name the values of an Arrow type."""
    if pa.types.is_dictionary(kind):
        return type_name(kind.value_type)
    if is_numeric(kind):
        return "numeric"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_duration(kind):
        return "duration"
    if pa.types.is_temporal(kind):
        return "datetime"
    if pa.types.is_null(kind):
        return "only null"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    return str(kind)


def null_count(values: pa.ChunkedArray) -> int:
    """Nulls plus NaNs: both are missing values to a user."""
    nulls = int(values.null_count)
    if pa.types.is_floating(values.type):
        nulls += int(pc.sum(pc.is_nan(values)).as_py() or 0)
    return nulls


def numeric_values(values: pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Non-missing values as float64 (infinities kept); the caller checks the type."""
    present = pc.drop_null(values)
    if pa.types.is_dictionary(present.type):
        present = present.cast(present.type.value_type)
    array: np.ndarray[Any, np.dtype[np.float64]] = present.cast(pa.float64()).to_numpy()
    present_values: np.ndarray[Any, np.dtype[np.float64]] = array[~np.isnan(array)]
    return present_values


def jsonable(value: Any) -> Any:
    """A Python value that JSON can carry (examples go into ``details``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def extreme_examples(
    values: np.ndarray[Any, np.dtype[np.float64]], centre: float, limit: int = MAX_EXAMPLES
) -> list[Any]:
    """The (at most ``limit``) distinct values farthest from ``centre``, farthest first."""
    distinct = np.unique(values)
    if len(distinct) > limit:
        distance = np.abs(distinct - centre)
        distinct = distinct[np.argpartition(-distance, limit - 1)[:limit]]
    order = np.argsort(-np.abs(distinct - centre), kind="stable")
    return [jsonable(v) for v in distinct[order].tolist()]
