"""Value checks of the schema: allowed categories and numeric ranges."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.quality._common import (
    MAX_EXAMPLES,
    error_result,
    extreme_examples,
    is_numeric,
    jsonable,
    null_count,
    numeric_values,
    percent,
    type_name,
    verdict,
)
from mlvigil.checks.quality.options import RangeRule
from mlvigil.checks.result import CheckKind, CheckResult, Severity

__all__ = [
    "check_allowed",
    "check_range",
    "evaluate_allowed",
    "evaluate_range",
    "unexpected_counts",
]

CHECK = CheckKind.SCHEMA


def _nothing_to_check(rows: int) -> str:
    return "no rows to check" if rows == 0 else f"all {rows} values are missing: nothing to check"


# ---------------------------------------------------------------- allowed categories


def unexpected_counts(counts: Mapping[Any, int], allowed: Collection[Any]) -> dict[Any, int]:
    """The counted values that are not allowed (for counts from a profile).

    Examples
    --------
    >>> unexpected_counts({"US": 5, "XX": 2}, ["US", "DE"])
    {'XX': 2}
    """
    allowed_set = set(allowed)
    return {v: c for v, c in counts.items() if v not in allowed_set}


def evaluate_allowed(
    column: str,
    *,
    non_null: int,
    unexpected: Mapping[Any, int],
    allowed: Sequence[Any],
    max_rate: float = 0.0,
    rows: int | None = None,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Judge the share of values outside ``allowed`` from counts of those values.

    Parameters
    ----------
    column
        Column name.
    non_null
        Non-missing values in the column.
    unexpected
        Count of each value that is not allowed.
    allowed
        The allowed values (reported in the details).
    max_rate
        Largest allowed share of unexpected values among non-missing ones.
    rows
        Rows in the table, for the message when nothing can be checked.
    severity
        Severity of a failure.

    Examples
    --------
    >>> r = evaluate_allowed("country", non_null=100, unexpected={"XX": 3}, allowed=["US"])
    >>> r.value, r.details["unexpected_values"]
    (0.03, [{'value': 'XX', 'count': 3, 'rate': 0.03}])
    """
    if non_null == 0:
        return error_result(
            CHECK,
            "unexpected_value_rate",
            column,
            _nothing_to_check(rows or 0),
            severity=severity,
            threshold=max_rate,
        )
    total = sum(unexpected.values())
    rate = total / non_null
    top = sorted(unexpected.items(), key=lambda item: -item[1])[:MAX_EXAMPLES]
    examples = [{"value": jsonable(v), "count": c, "rate": c / non_null} for v, c in top]
    if total:
        shown = ", ".join(repr(e["value"]) for e in examples)
        more = f" and {len(unexpected) - len(top)} more" if len(unexpected) > len(top) else ""
        message = f"{percent(rate)} of values are not allowed: {shown}{more}"
    else:
        message = "every value is allowed"
    return CheckResult(
        check=CHECK,
        metric="unexpected_value_rate",
        column=column,
        value=rate,
        threshold=max_rate,
        status=verdict(rate, max_rate),
        severity=severity,
        message=message,
        details={
            "unexpected_values": examples,
            "distinct_unexpected": len(unexpected),
            "allowed": [jsonable(v) for v in allowed],
        },
    )


def _as_text(values: Iterable[Any]) -> pa.Array:
    # Arrow spells booleans in lower case when it casts them to strings.
    return pa.array(
        [("true" if v else "false") if isinstance(v, bool) else str(v) for v in values],
        pa.large_string(),
    )


def _comparable(
    values: pa.ChunkedArray, allowed: Sequence[Any]
) -> tuple[pa.ChunkedArray, pa.Array]:
    """``values`` and ``allowed`` in one Arrow type: the column's, or else text."""
    try:
        return values, pa.array(list(allowed)).cast(values.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return values.cast(pa.large_string()), _as_text(allowed)


def check_allowed(
    values: pa.ChunkedArray | pa.Array,
    *,
    column: str,
    allowed: Sequence[Any],
    max_rate: float = 0.0,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Share of non-missing values outside ``allowed``, with the commonest offenders.

    Values are compared in the column's type (so ``["1", "2"]`` matches an integer
    column), or as text when the allowed values do not convert to it.

    Examples
    --------
    >>> import pyarrow as pa
    >>> r = check_allowed(pa.array(["US", "DE", "XX", None]), column="c", allowed=["US", "DE"])
    >>> round(r.value, 4), r.passed, r.message
    (0.3333, False, "33.3% of values are not allowed: 'XX'")
    """
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    non_null = len(values) - null_count(values)
    if non_null == 0:
        return evaluate_allowed(
            column, non_null=0, unexpected={}, allowed=allowed, rows=len(values), severity=severity
        )
    present = pc.drop_null(values)
    if pa.types.is_floating(present.type):
        present = present.filter(pc.invert(pc.is_nan(present)))
    comparable, value_set = _comparable(present, allowed)
    outside = present.filter(pc.invert(pc.is_in(comparable, value_set=value_set)))
    unexpected: dict[Any, int] = {}
    if len(outside):
        counted = pc.value_counts(outside)
        names, counts = counted.field("values").to_pylist(), counted.field("counts").to_pylist()
        unexpected = dict(zip(names, counts, strict=True))
    return evaluate_allowed(
        column,
        non_null=non_null,
        unexpected=unexpected,
        allowed=allowed,
        max_rate=max_rate,
        severity=severity,
    )


# ---------------------------------------------------------------- numeric ranges


def evaluate_range(
    column: str,
    *,
    non_null: int,
    below: float,
    above: float,
    rule: RangeRule,
    observed_min: float | None = None,
    observed_max: float | None = None,
    examples: Sequence[Any] = (),
    estimated: bool = False,
    rows: int | None = None,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Judge the share of values outside ``[rule.min, rule.max]`` from counts.

    ``below`` and ``above`` may be estimates (e.g. a quantile sketch's ranks of
    the bounds times ``non_null``); say so with ``estimated``.

    Examples
    --------
    >>> r = evaluate_range("amount", non_null=1000, below=2, above=0, rule=RangeRule(min=0))
    >>> r.value, r.passed
    (0.002, False)
    """
    if non_null == 0:
        return error_result(
            CHECK,
            "out_of_range_rate",
            column,
            _nothing_to_check(rows or 0),
            severity=severity,
            threshold=rule.max_rate,
        )
    rate = (below + above) / non_null
    bounds = f"[{'-inf' if rule.min is None else f'{rule.min:g}'}, " + (
        f"{'inf' if rule.max is None else f'{rule.max:g}'}]"
    )
    about = "about " if estimated else ""
    if below or above:
        message = (
            f"{about}{percent(rate)} of values outside {bounds} (max {percent(rule.max_rate)})"
        )
    else:
        message = f"every value within {bounds}"
    return CheckResult(
        check=CHECK,
        metric="out_of_range_rate",
        column=column,
        value=rate,
        threshold=rule.max_rate,
        status=verdict(rate, rule.max_rate),
        severity=severity,
        message=message,
        details={
            "min": rule.min,
            "max": rule.max,
            "below": below,
            "above": above,
            "observed_min": jsonable(observed_min),
            "observed_max": jsonable(observed_max),
            "examples": [jsonable(e) for e in examples],
            "estimated": estimated,
        },
    )


def check_range(
    values: pa.ChunkedArray | pa.Array,
    *,
    column: str,
    rule: RangeRule,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Share of non-missing values outside an inclusive numeric range.

    Infinite values count as outside any finite bound.

    Examples
    --------
    >>> import pyarrow as pa
    >>> r = check_range(pa.array([-5.0, 1.0, 2.0, 20_000.0]), column="amount",
    ...                 rule=RangeRule(min=0, max=10_000))
    >>> r.value, r.details["examples"]
    (0.5, [20000.0, -5.0])
    """
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    if not is_numeric(values.type) and not pa.types.is_null(values.type):
        return error_result(
            CHECK,
            "out_of_range_rate",
            column,
            f"holds {type_name(values.type)} values; a range needs numbers",
            severity=severity,
            threshold=rule.max_rate,
        )
    array = numeric_values(values) if len(values) > values.null_count else np.empty(0)
    low = array < rule.min if rule.min is not None else np.zeros(len(array), dtype=bool)
    high = array > rule.max if rule.max is not None else np.zeros(len(array), dtype=bool)
    outside = array[low | high]
    centre = float(np.median(array)) if len(array) else 0.0
    return evaluate_range(
        column,
        non_null=len(array),
        below=int(low.sum()),
        above=int(high.sum()),
        rule=rule,
        observed_min=float(array.min()) if len(array) else None,
        observed_max=float(array.max()) if len(array) else None,
        examples=extreme_examples(outside, centre),
        rows=len(values),
        severity=severity,
    )
