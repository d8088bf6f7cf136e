"""Uniqueness: how often the values of a (possibly composite) key repeat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.quality._common import (
    MAX_EXAMPLES,
    error_result,
    jsonable,
    percent,
    verdict,
)
from mlvigil.checks.result import CheckKind, CheckResult, Severity

__all__ = ["check_uniqueness", "evaluate_uniqueness", "key_label"]

CHECK, METRIC = CheckKind.UNIQUENESS, "duplicate_rate"


def key_label(key: Sequence[str]) -> str:
    """The ``column`` a uniqueness result carries: the key's columns joined by commas.

    Examples
    --------
    >>> key_label(["order_id", "line"])
    'order_id,line'
    """
    return ",".join(key)


def evaluate_uniqueness(
    key: Sequence[str],
    *,
    non_null_rows: int,
    distinct: float,
    max_duplicate_rate: float = 0.0,
    null_rows: int = 0,
    examples: Sequence[Any] = (),
    estimated: bool = False,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Judge a key's duplicate rate from counts (exact, or a sketch's estimate).

    ``duplicate_rate = 1 - distinct / non_null_rows``; rows with a null in any
    key column are left out, as SQL leaves them out of unique constraints.

    Parameters
    ----------
    key
        The key's column names.
    non_null_rows
        Rows whose key columns are all non-null.
    distinct
        Distinct key values among them (a distinct-count estimate may exceed
        ``non_null_rows``; the rate is then 0).
    max_duplicate_rate
        Largest allowed duplicate rate.
    null_rows
        Rows left out because part of their key is null.
    examples
        A few duplicated key values.
    estimated
        Whether ``distinct`` is an estimate (from a profile's sketch).
    severity
        Severity of a failure.

    Examples
    --------
    >>> r = evaluate_uniqueness(["user_id"], non_null_rows=100, distinct=95)
    >>> round(r.value, 6), r.passed
    (0.05, False)
    """
    label = key_label(key)
    if non_null_rows == 0:
        reason = f"all {null_rows} rows have a null key" if null_rows else "no rows"
        return error_result(
            CHECK,
            METRIC,
            label,
            f"{reason}: the duplicate rate is undefined",
            severity=severity,
            threshold=max_duplicate_rate,
            key=list(key),
        )
    # (rows - distinct) / rows, not 1 - distinct / rows: the latter rounds 1 - 0.99 above 0.01.
    rate = max(0.0, (non_null_rows - distinct) / non_null_rows)
    about = "about " if estimated else ""
    duplicates = max(0, round(non_null_rows - distinct))
    message = (
        f"{about}{duplicates} of {non_null_rows} rows repeat a key ({percent(rate)}, "
        f"max {percent(max_duplicate_rate)})"
    )
    details: dict[str, Any] = {
        "key": list(key),
        "rows": non_null_rows,
        "distinct_keys": distinct,
        "null_key_rows": null_rows,
        "estimated": estimated,
    }
    if examples:
        details["examples"] = [jsonable(e) for e in examples]
    return CheckResult(
        check=CHECK,
        metric=METRIC,
        column=label,
        value=rate,
        threshold=max_duplicate_rate,
        status=verdict(rate, max_duplicate_rate),
        severity=severity,
        message=message,
        details=details,
    )


def _present_keys(table: pa.Table, key: Sequence[str]) -> pa.Table:
    keys = table.select(list(key))
    for name in key:
        column = keys.column(name)
        if pa.types.is_dictionary(column.type):
            # group_by keys on dictionaries of different chunks disagree; compare values.
            keys = keys.set_column(
                keys.schema.get_field_index(name), name, column.cast(column.type.value_type)
            )
    return keys.drop_null()


def check_uniqueness(
    table: pa.Table,
    key: Sequence[str],
    *,
    max_duplicate_rate: float = 0.0,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Exact duplicate rate of ``key`` in ``table``, by an Arrow group-by.

    Parameters
    ----------
    table
        A table holding at least the key columns.
    key
        One or more column names forming the key.
    max_duplicate_rate
        Largest allowed duplicate rate.
    severity
        Severity of a failure.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"order": [1, 1, 2, 2], "line": [1, 2, 1, 1]})
    >>> check_uniqueness(t, ["order"]).value
    0.5
    >>> r = check_uniqueness(t, ["order", "line"])
    >>> r.value, r.details["examples"]
    (0.25, [[2, 1]])
    """
    present = _present_keys(table, key)
    try:
        groups = present.group_by(list(key)).aggregate([([], "count_all")])
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as error:
        return error_result(
            CHECK,
            METRIC,
            key_label(key),
            f"cannot compare values of this key: {error}",
            severity=severity,
            threshold=max_duplicate_rate,
        )
    repeated = groups.filter(pc.greater(groups.column("count_all"), 1))
    if repeated.num_rows:
        order = pc.sort_indices(repeated, [("count_all", "descending")])
        top = repeated.take(order[:MAX_EXAMPLES]).select(list(key)).to_pylist()
        examples: list[Any] = [
            row[key[0]] if len(key) == 1 else [row[c] for c in key] for row in top
        ]
    else:
        examples = []
    return evaluate_uniqueness(
        key,
        non_null_rows=present.num_rows,
        distinct=groups.num_rows,
        max_duplicate_rate=max_duplicate_rate,
        null_rows=table.num_rows - present.num_rows,
        examples=examples,
        severity=severity,
    )
