"""Quality checks computed from the data: the table side of the quality runner.

Each method reads the columns it needs (each at most once, when first asked) and
runs the data-based ``check_*`` function; the runner
(:mod:`mlvigil.checks.quality.runner`) handles missing columns and failures alike
for this side and the profile side (:mod:`mlvigil.checks.quality.on_profile`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from mlvigil.checks.quality.completeness import check_completeness
from mlvigil.checks.quality.freshness import check_freshness
from mlvigil.checks.quality.options import OutlierRule, RangeRule
from mlvigil.checks.quality.outliers import check_outliers
from mlvigil.checks.quality.schema import evaluate_type
from mlvigil.checks.quality.uniqueness import check_uniqueness
from mlvigil.checks.quality.values import check_allowed, check_range
from mlvigil.checks.result import CheckResult, Severity
from mlvigil.io.tables import TableSource
from mlvigil.schema import ColumnType

__all__ = ["TableSubject"]


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


class TableSubject:
    """A table checked from its values."""

    def __init__(self, source: TableSource) -> None:
        self._source = _CachedSource(source)

    @property
    def column_names(self) -> list[str]:
        """The table's columns, in order."""
        return self._source.column_names

    @property
    def num_rows(self) -> int:
        """Rows of the table."""
        return self._source.num_rows

    @property
    def drift_input(self) -> TableSource:
        """What the drift check compares with its reference: the table (read as needed)."""
        return self._source

    def type_matches(
        self, column: str, expected: ColumnType | str, severity: Severity
    ) -> CheckResult:
        """Whether the column's Arrow type is of the expected column type."""
        arrow_type = self._source.column(column).type
        return evaluate_type(column, expected=expected, arrow_type=arrow_type, severity=severity)

    def allowed(
        self, column: str, allowed: Sequence[Any], max_rate: float, severity: Severity
    ) -> CheckResult:
        """Share of values outside ``allowed``."""
        return check_allowed(
            self._source.column(column),
            column=column,
            allowed=allowed,
            max_rate=max_rate,
            severity=severity,
        )

    def in_range(self, column: str, rule: RangeRule, severity: Severity) -> CheckResult:
        """Share of values outside the rule's bounds."""
        return check_range(self._source.column(column), column=column, rule=rule, severity=severity)

    def completeness(self, column: str, max_null_rate: float, severity: Severity) -> CheckResult:
        """Share of null (or NaN) values."""
        return check_completeness(
            self._source.column(column),
            column=column,
            max_null_rate=max_null_rate,
            severity=severity,
        )

    def uniqueness(
        self, key: Sequence[str], max_duplicate_rate: float, severity: Severity
    ) -> CheckResult:
        """Share of duplicated keys, over one column or several."""
        table = pa.table({c: self._source.column(c) for c in key})
        return check_uniqueness(
            table, key, max_duplicate_rate=max_duplicate_rate, severity=severity
        )

    def outliers(self, column: str, rule: OutlierRule, severity: Severity) -> CheckResult:
        """Share of values beyond the rule's bounds."""
        return check_outliers(
            self._source.column(column), column=column, rule=rule, severity=severity
        )

    def freshness(
        self, column: str, max_age: timedelta, now: datetime, severity: Severity
    ) -> CheckResult:
        """Age of the newest timestamp in ``column``."""
        return check_freshness(
            self._source.column(column),
            column=column,
            max_age=max_age,
            now=now,
            severity=severity,
        )
