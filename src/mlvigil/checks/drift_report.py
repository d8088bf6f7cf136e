"""Results of a drift comparison: one :class:`ColumnDrift` per column, one :class:`DriftReport`."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import orjson

from mlvigil.checks.limits import LearnedLimits
from mlvigil.schema import ColumnType
from mlvigil.stats.correction import Correction
from mlvigil.stats.registry import get_method
from mlvigil.stats.result import DecisionRule

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ColumnDrift", "ColumnStatus", "DriftReport", "drift_magnitude", "drift_score"]


class ColumnStatus(StrEnum):
    """What happened to a column; anything but ``ok`` comes with a message."""

    OK = "ok"
    #: Reference is constant; tested with a method defined for constants.
    CONSTANT = "constant"
    #: Infinite values were excluded and the rest tested, or nothing finite was left.
    INFINITE = "infinite"
    #: A side has no rows.
    EMPTY = "empty"
    #: A side has rows but every value is null (or NaN).
    ALL_NULL = "all_null"
    #: Reference and current hold different kinds of values.
    TYPE_MISMATCH = "type_mismatch"
    #: The column's type is not tested (datetime, free text).
    SKIPPED = "skipped"
    #: The method could not be applied to this column.
    ERROR = "error"


def drift_magnitude(method: str, statistic: float) -> float:
    """How large a drift statistic is, larger meaning more drift.

    Signed test statistics count by their size: ``|z|`` for ``z`` and
    ``|log odds ratio|`` for ``fisher_exact``; the others are sizes already.

    Examples
    --------
    >>> drift_magnitude("z", -2.5), drift_magnitude("wasserstein", 0.2)
    (2.5, 0.2)
    >>> round(drift_magnitude("fisher_exact", 0.5), 4)
    0.6931
    """
    if method == "z":
        return abs(statistic)
    if method == "fisher_exact":
        return math.inf if statistic in (0.0, math.inf) else abs(math.log(statistic))
    return statistic


def drift_score(result: ColumnDrift) -> float | None:
    """One drift score comparable across methods: 1 at the method's threshold.

    Distances give ``statistic / threshold``; p-value tests give
    ``log(p) / log(alpha)`` (the adjusted p-value when a correction ran), so
    ``p = alpha`` scores 1 and ``p = alpha²`` scores 2; a verdict from learned
    limits gives the statistic's magnitude over the upper limit. Above 1 is drift.
    The dashboard and the HTML report colour cells by this score.

    Returns
    -------
    float or None
        ``None`` for a column that was not tested, or whose threshold gives no scale
        (a distance threshold of 0, a significance level outside (0, 1)).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from mlvigil import detect_drift
    >>> report = detect_drift(pa.table({"x": [1.0, 2.0, 3.0, 4.0]}),
    ...                       pa.table({"x": [7.0, 8.0, 9.0, 9.5]}))
    >>> report["x"].method, report["x"].threshold, round(drift_score(report["x"]), 2)
    ('ks', 0.05, 1.19)
    """
    if not result.tested or result.method is None or result.threshold is None:
        return None
    threshold = result.threshold
    if result.limits is not None and result.statistic is not None:
        if threshold == 0.0:
            return None
        score = drift_magnitude(result.method, result.statistic) / threshold
    elif get_method(result.method).rule is DecisionRule.P_VALUE:
        p_value = result.p_value if result.p_value_adjusted is None else result.p_value_adjusted
        if p_value is None or not 0.0 < threshold < 1.0:
            return None
        score = math.log(max(p_value, 1e-300)) / math.log(threshold)
    else:
        if result.statistic is None or threshold == 0.0:
            return None
        score = result.statistic / threshold
    return score if math.isfinite(score) else None


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """Drift of one column between reference and current.

    Attributes
    ----------
    column
        Column name.
    type
        Column type the comparison used.
    status, message
        Outcome; ``message`` explains any status other than ``ok``.
    method
        Method used, or ``None`` when the column was not tested.
    statistic, p_value, threshold
        The method's output (``p_value`` is ``None`` for distances).
    p_value_adjusted
        p-value after multiple-testing correction, when one was requested.
    drifted
        The verdict (``False`` when not tested).
    reference_rows, current_rows
        Rows on each side, nulls included.
    reference_nulls, current_nulls
        Null or NaN values on each side.
    reference_infinite, current_infinite
        Infinite values on each side (excluded from tests).
    missing_rate_drifted
        Whether the share of missing values changed materially: by at least the
        configured absolute amount and significantly (two-proportion Z, p < 0.05).
    new_categories, missing_categories
        Categories only in current, or only in reference.
    approximation_error
        Bound on the statistic's absolute error when it was computed from
        profiles (sketches); ``None`` when computed exactly from data.
    limits
        Limits learned from reference chunks, when the verdict compares the
        statistic with them (``threshold`` is then their upper limit) instead of
        with the method's threshold.
    """

    column: str
    type: ColumnType
    status: ColumnStatus
    reference_rows: int
    current_rows: int
    reference_nulls: int
    current_nulls: int
    method: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    drifted: bool = False
    message: str | None = None
    p_value_adjusted: float | None = None
    reference_infinite: int = 0
    current_infinite: int = 0
    missing_rate_drifted: bool = False
    new_categories: tuple[str, ...] = ()
    missing_categories: tuple[str, ...] = ()
    approximation_error: float | None = None
    limits: LearnedLimits | None = None

    @property
    def tested(self) -> bool:
        """Whether a method ran and reached a verdict."""
        return self.method is not None

    @property
    def reference_null_rate(self) -> float:
        """Share of reference rows that are null."""
        return self.reference_nulls / self.reference_rows if self.reference_rows else 0.0

    @property
    def current_null_rate(self) -> float:
        """Share of current rows that are null."""
        return self.current_nulls / self.current_rows if self.current_rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view, as in ``mlvigil drift --format json``."""
        data = asdict(self)
        data["tested"] = self.tested
        data.pop("column")
        data["type"] = self.type.value
        data["status"] = self.status.value
        data["new_categories"] = list(self.new_categories)
        data["missing_categories"] = list(self.missing_categories)
        data["reference_null_rate"] = self.reference_null_rate
        data["current_null_rate"] = self.current_null_rate
        return data


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift of a whole dataset: per-column results and the dataset verdict.

    Attributes
    ----------
    columns
        One result per compared column, in table order.
    drift_share_threshold
        Share of drifted columns at which the dataset counts as drifted.
    correction
        Multiple-testing correction applied to p-values, if any.
    """

    columns: tuple[ColumnDrift, ...]
    drift_share_threshold: float = 0.5
    correction: Correction | None = None

    def __iter__(self) -> Iterator[ColumnDrift]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __getitem__(self, name: str) -> ColumnDrift:
        for result in self.columns:
            if result.column == name:
                return result
        raise KeyError(name)

    @property
    def number_of_columns(self) -> int:
        """Columns compared."""
        return len(self.columns)

    @property
    def number_of_tested_columns(self) -> int:
        """Columns that reached a verdict (the denominator of the drift share)."""
        return sum(1 for c in self.columns if c.tested)

    @property
    def number_of_drifted_columns(self) -> int:
        """Columns whose distribution drifted."""
        return sum(1 for c in self.columns if c.drifted)

    @property
    def drift_share(self) -> float:
        """Drifted columns as a share of tested columns (0 when none was tested)."""
        tested = self.number_of_tested_columns
        return self.number_of_drifted_columns / tested if tested else 0.0

    @property
    def dataset_drift(self) -> bool:
        """Whether the drift share reached :attr:`drift_share_threshold`."""
        return self.number_of_tested_columns > 0 and self.drift_share >= self.drift_share_threshold

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view, as printed by ``mlvigil drift --format json``."""
        return {
            "dataset_drift": self.dataset_drift,
            "drift_share": self.drift_share,
            "number_of_drifted_columns": self.number_of_drifted_columns,
            "number_of_tested_columns": self.number_of_tested_columns,
            "number_of_columns": self.number_of_columns,
            "drift_share_threshold": self.drift_share_threshold,
            "correction": self.correction.value if self.correction else None,
            "columns": {c.column: c.to_dict() for c in self.columns},
        }

    def to_json(self, *, indent: bool = False) -> str:
        """JSON text of :meth:`to_dict`; non-finite numbers become ``null``."""
        option = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(self.to_dict(), option=option).decode()

    def to_dataframe(self) -> pd.DataFrame:
        """One row per column, as a pandas DataFrame (needs ``mlvigil[pandas]``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "DriftReport.to_dataframe needs pandas: pip install 'mlvigil[pandas]'"
            ) from None
        rows = [{"column": c.column, **c.to_dict()} for c in self.columns]
        return pd.DataFrame(rows).set_index("column")
