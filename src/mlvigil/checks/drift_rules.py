"""Per-column drift rules of the engine (:mod:`mlvigil.checks.drift_engine`).

Whatever a column's sides were prepared from (sorted values, counts, sketches), the
same rules decide which method runs, with what threshold, whether the share of
missing values changed, and how p-values are corrected across columns.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from mlvigil.checks.drift_report import ColumnDrift, ColumnStatus
from mlvigil.exceptions import ConfigError
from mlvigil.schema import ColumnType
from mlvigil.stats.contingency import two_proportion_z_test
from mlvigil.stats.correction import Correction, adjust_p_values
from mlvigil.stats.registry import DriftMethod, get_method
from mlvigil.stats.result import DecisionRule, StatTestResult
from mlvigil.stats.samples import CategoryCounts
from mlvigil.stats.selection import default_method

if TYPE_CHECKING:
    from mlvigil.checks.drift import DriftConfig

__all__ = [
    "SideCounts",
    "apply_correction",
    "base_result",
    "untestable",
    "choose_method",
    "column_threshold",
    "missing_rate_drifted",
    "parse_column_type",
    "with_result",
]


def _applies(method: DriftMethod, column_type: ColumnType, counts: CategoryCounts | None) -> bool:
    if column_type not in method.applies_to:
        return False
    return not (method.binary_only and counts is not None and len(counts.categories) > 2)


def choose_method(
    config: DriftConfig,
    column: str,
    column_type: ColumnType,
    sample_size: int,
    counts: CategoryCounts | None,
) -> DriftMethod:
    """Pick a column's method: per column, else per type, else global, else the default.

    Raises
    ------
    ConfigError
        When the method configured for this very column cannot apply to it.
    """
    explicit = config.column_methods.get(column)
    if explicit is not None:
        method = get_method(explicit)
        if not _applies(method, column_type, counts):
            raise ConfigError(
                f"method {explicit} does not apply to this {column_type.value} column"
                + (" (it needs two categories)" if method.binary_only else "")
            )
        return method
    by_type = config.type_methods
    type_method = by_type.get(column_type) or (
        by_type.get(ColumnType.CATEGORICAL) if column_type is ColumnType.BOOLEAN else None
    )
    for name in (type_method, config.method):
        if name is not None and _applies(get_method(name), column_type, counts):
            return get_method(name)
    return get_method(
        default_method(column_type, sample_size, counts, small_sample_size=config.small_sample_size)
    )


def column_threshold(config: DriftConfig, column: str) -> float | None:
    """The configured threshold for a column, or ``None`` for the method's default."""
    return config.column_thresholds.get(column, config.threshold)


def missing_rate_drifted(
    config: DriftConfig, reference: tuple[int, int], current: tuple[int, int]
) -> bool:
    """Whether the missing share changed materially: by the configured amount, significantly.

    ``reference`` and ``current`` are ``(rows, nulls)``.
    """
    (ref_rows, ref_nulls), (cur_rows, cur_nulls) = reference, current
    if not (ref_rows and cur_rows):
        return False
    if abs(ref_nulls / ref_rows - cur_nulls / cur_rows) < config.missing_rate_change:
        return False
    return two_proportion_z_test(
        {"null": ref_nulls, "value": ref_rows - ref_nulls},
        {"null": cur_nulls, "value": cur_rows - cur_nulls},
    ).drifted


def apply_correction(
    results: list[ColumnDrift], correction: Correction | None
) -> list[ColumnDrift]:
    """Adjust the p-values of tested p-value columns and redo their verdicts (in place)."""
    if correction is None:
        return results
    positions = [
        i
        for i, r in enumerate(results)
        if r.tested
        and r.p_value is not None
        and r.method
        and get_method(r.method).rule is DecisionRule.P_VALUE
    ]
    adjusted = adjust_p_values([float(results[i].p_value or 0.0) for i in positions], correction)
    for i, p in zip(positions, adjusted.tolist(), strict=True):
        threshold = results[i].threshold
        assert threshold is not None
        results[i] = replace(results[i], p_value_adjusted=p, drifted=p < threshold)
    return results


def parse_column_type(where: str, kind: ColumnType | str) -> ColumnType:
    """Read a declared column type, or raise a ConfigError that says ``where``."""
    try:
        return ColumnType(kind)
    except ValueError:
        known = ", ".join(t.value for t in ColumnType if t is not ColumnType.UNKNOWN)
        raise ConfigError(f"unknown type {kind!r} in {where}; use one of: {known}") from None


def with_result(base: ColumnDrift, result: StatTestResult) -> ColumnDrift:
    """Fill a column's result with a method's outcome."""
    return replace(
        base,
        method=result.method,
        statistic=result.statistic,
        p_value=result.p_value,
        threshold=result.threshold,
        drifted=result.drifted,
        new_categories=result.new_categories,
        missing_categories=result.missing_categories,
        approximation_error=result.approximation_error,
    )


class SideCounts(Protocol):
    """What a column result records of one side, however it was prepared."""

    @property
    def rows(self) -> int:
        """Rows, nulls included."""
        ...

    @property
    def nulls(self) -> int:
        """Null or NaN values."""
        ...

    @property
    def infinite(self) -> int:
        """Infinite values."""
        ...

    @property
    def size(self) -> int:
        """Values a method can use (finite, non-null)."""
        ...


def untestable(reference: SideCounts, current: SideCounts) -> tuple[ColumnStatus, str] | None:
    """The status and message of a column with nothing to test on a side, if any."""
    for name, side in (("reference", reference), ("current", current)):
        if side.size == 0:
            if side.infinite:
                return ColumnStatus.INFINITE, f"{name} has only infinite values"
            return ColumnStatus.ALL_NULL, f"{name}: all {side.rows} values are null"
    return None


def base_result(
    config: DriftConfig,
    column: str,
    column_type: ColumnType,
    status: ColumnStatus,
    message: str | None,
    reference: SideCounts,
    current: SideCounts,
) -> ColumnDrift:
    """A column's result before any method ran: counts, status and the missing-rate signal."""
    return ColumnDrift(
        column=column,
        type=column_type,
        status=status,
        message=message,
        reference_rows=reference.rows,
        current_rows=current.rows,
        reference_nulls=reference.nulls,
        current_nulls=current.nulls,
        reference_infinite=reference.infinite,
        current_infinite=current.infinite,
        missing_rate_drifted=missing_rate_drifted(
            config, (reference.rows, reference.nulls), (current.rows, current.nulls)
        ),
    )
