"""What to check: :class:`QualityConfig` and its sections, as frozen dataclasses.

YAML files are validated at the edge (:mod:`mlvigil.checks.config`) and turned
into these; code that builds a configuration directly gets the same checks here,
raised as :class:`~mlvigil.exceptions.ConfigError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Literal

from mlvigil.checks.drift import DriftConfig
from mlvigil.checks.result import Severity
from mlvigil.exceptions import ConfigError
from mlvigil.io.tables import TableLike
from mlvigil.schema import ColumnType

__all__ = [
    "CHECK_NAMES",
    "CompletenessConfig",
    "DEFAULT_SEVERITY",
    "DriftCheckConfig",
    "FreshnessConfig",
    "OutlierRule",
    "OutliersConfig",
    "QualityConfig",
    "RangeRule",
    "SchemaConfig",
    "UniquenessConfig",
    "VolumeConfig",
]

#: Severity of each check's failures unless the configuration overrides it.
#: Outliers and drift are signals to look at, not reasons to stop a pipeline.
DEFAULT_SEVERITY: Mapping[str, Severity] = MappingProxyType(
    {
        "completeness": Severity.ERROR,
        "uniqueness": Severity.ERROR,
        "schema": Severity.ERROR,
        "outliers": Severity.WARNING,
        "freshness": Severity.ERROR,
        "volume": Severity.ERROR,
        "drift": Severity.WARNING,
    }
)

#: The ``check`` names quality results carry, in the order the runner runs them.
CHECK_NAMES: tuple[str, ...] = (
    "volume",
    "schema",
    "completeness",
    "uniqueness",
    "outliers",
    "freshness",
    "drift",
)


def _rate(where: str, value: float) -> float:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ConfigError(f"{where} must be a rate between 0 and 1, got {value}")
    return float(value)


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class CompletenessConfig:
    """Maximum null rate (null or NaN values over rows) per column.

    Parameters
    ----------
    columns
        Maximum null rate of each listed column.
    default_max_null_rate
        Maximum null rate of every column not listed; ``None`` checks only the
        listed columns.

    Examples
    --------
    >>> CompletenessConfig({"user_id": 0.0}, default_max_null_rate=0.05).columns["user_id"]
    0.0
    """

    columns: Mapping[str, float] = field(default_factory=dict)
    default_max_null_rate: float | None = None

    def __post_init__(self) -> None:
        rates = {c: _rate(f"completeness.columns.{c}", r) for c, r in self.columns.items()}
        object.__setattr__(self, "columns", _frozen(rates))
        if self.default_max_null_rate is not None:
            _rate("completeness.default_max_null_rate", self.default_max_null_rate)


@dataclass(frozen=True)
class UniquenessConfig:
    """Keys whose values must (mostly) not repeat.

    Parameters
    ----------
    keys
        Each key is one column name or a sequence of column names (a composite key).
    max_duplicate_rate
        Largest allowed ``1 - distinct_keys / non_null_rows``.

    Examples
    --------
    >>> UniquenessConfig(["user_id", ("order_id", "line")]).keys
    (('user_id',), ('order_id', 'line'))
    """

    keys: Sequence[str | Sequence[str]]
    max_duplicate_rate: float = 0.0

    def __post_init__(self) -> None:
        keys = tuple((k,) if isinstance(k, str) else tuple(k) for k in self.keys)
        if not keys or any(not k for k in keys):
            raise ConfigError("uniqueness.keys must name at least one column per key")
        object.__setattr__(self, "keys", keys)
        _rate("uniqueness.max_duplicate_rate", self.max_duplicate_rate)


@dataclass(frozen=True)
class RangeRule:
    """Inclusive bounds for a numerical column.

    Parameters
    ----------
    min, max
        Smallest and largest allowed value; ``None`` leaves that side open.
    max_rate
        Largest allowed share of non-null values outside the bounds.
    """

    min: float | None = None
    max: float | None = None
    max_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            raise ConfigError("a range needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ConfigError(f"range min {self.min} is greater than max {self.max}")
        _rate("range max_rate", self.max_rate)


@dataclass(frozen=True)
class SchemaConfig:
    """Which columns must exist and what they may hold.

    Parameters
    ----------
    required
        Columns that must be present.
    types
        Expected :class:`~mlvigil.schema.ColumnType` per column.
    allowed
        Allowed values per (categorical) column.
    ranges
        Allowed numeric range per column.
    allow_extra_columns
        When ``False``, columns the configuration never names fail the check.
    max_unexpected_rate
        Largest allowed share of non-null values outside ``allowed``.
    """

    required: Sequence[str] = ()
    types: Mapping[str, ColumnType | str] = field(default_factory=dict)
    allowed: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    ranges: Mapping[str, RangeRule] = field(default_factory=dict)
    allow_extra_columns: bool = True
    max_unexpected_rate: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "required", tuple(self.required))
        types = {c: _column_type(c, t) for c, t in self.types.items()}
        object.__setattr__(self, "types", _frozen(types))
        object.__setattr__(self, "allowed", _frozen({c: tuple(v) for c, v in self.allowed.items()}))
        object.__setattr__(self, "ranges", _frozen(self.ranges))
        _rate("schema.max_unexpected_rate", self.max_unexpected_rate)


def _column_type(column: str, kind: ColumnType | str) -> ColumnType:
    try:
        parsed = ColumnType(kind)
    except ValueError:
        parsed = ColumnType.UNKNOWN
    if parsed is ColumnType.UNKNOWN:
        known = ", ".join(t.value for t in ColumnType if t is not ColumnType.UNKNOWN)
        raise ConfigError(f"schema.types.{column}: unknown type {kind!r}; use one of: {known}")
    return parsed


@dataclass(frozen=True)
class OutlierRule:
    """How to flag outliers in one numerical column.

    Parameters
    ----------
    method
        ``"zscore"``: outside ``mean ± n_std·std`` (population std);
        ``"iqr"``: outside ``[Q1 - k·IQR, Q3 + k·IQR]``.
    n_std
        Width of the z-score band, in standard deviations.
    k
        Width of the IQR fences, in interquartile ranges.
    max_rate
        Largest allowed share of outliers among non-null values.
    """

    method: Literal["zscore", "iqr"] = "zscore"
    n_std: float = 3.0
    k: float = 1.5
    max_rate: float = 0.01

    def __post_init__(self) -> None:
        if self.method not in ("zscore", "iqr"):
            raise ConfigError(f"outlier method must be 'zscore' or 'iqr', got {self.method!r}")
        for name in ("n_std", "k"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"outlier {name} must be a positive number, got {value}")
        _rate("outlier max_rate", self.max_rate)


@dataclass(frozen=True)
class OutliersConfig:
    """Outlier rule per column."""

    columns: Mapping[str, OutlierRule]

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", _frozen(self.columns))


@dataclass(frozen=True)
class FreshnessConfig:
    """The newest timestamp in ``column`` must be at most ``max_age`` old."""

    column: str
    max_age: timedelta

    def __post_init__(self) -> None:
        if self.max_age <= timedelta(0):
            raise ConfigError(f"freshness.max_age must be positive, got {self.max_age}")


@dataclass(frozen=True)
class VolumeConfig:
    """Expected row count: a fixed range, the history of previous windows, or both.

    Parameters
    ----------
    min_rows, max_rows
        Inclusive bounds on the row count.
    history
        Row counts of previous windows. The count fails when it differs from
        their median by more than ``max_deviation`` times that median; the
        median ignores a few odd windows (an outage, a backfill) that would drag
        a mean.
    max_deviation
        Largest allowed ``|rows - median(history)| / median(history)``.
    """

    min_rows: int | None = None
    max_rows: int | None = None
    history: Sequence[int] = ()
    max_deviation: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", tuple(int(h) for h in self.history))
        if self.min_rows is None and self.max_rows is None and not self.history:
            raise ConfigError("volume needs min_rows, max_rows or history")
        if any(v is not None and v < 0 for v in (self.min_rows, self.max_rows, *self.history)):
            raise ConfigError("volume row counts cannot be negative")
        low, high = self.min_rows, self.max_rows
        if low is not None and high is not None and low > high:
            raise ConfigError(f"volume.min_rows {low} is greater than max_rows {high}")
        if not (math.isfinite(self.max_deviation) and self.max_deviation > 0):
            raise ConfigError(f"volume.max_deviation must be positive, got {self.max_deviation}")


@dataclass(frozen=True)
class DriftCheckConfig:
    """Drift of the checked data against a reference.

    Parameters
    ----------
    reference
        The reference data: anything :func:`~mlvigil.io.tables.open_table` accepts.
    config
        Methods, thresholds and the dataset rule.
    columns
        Compare only these; default: the columns both tables have.
    """

    reference: TableLike
    config: DriftConfig = field(default_factory=DriftConfig)
    columns: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.columns is not None:
            object.__setattr__(self, "columns", tuple(self.columns))


@dataclass(frozen=True)
class QualityConfig:
    """Every check to run on a table; sections left ``None`` are skipped.

    Parameters
    ----------
    severity
        Severity per check name (see :data:`CHECK_NAMES`), overriding
        :data:`DEFAULT_SEVERITY`.

    Examples
    --------
    >>> config = QualityConfig(completeness=CompletenessConfig({"age": 0.1}),
    ...                        severity={"completeness": "critical"})
    >>> config.severity_of("completeness"), config.severity_of("drift")
    (<Severity.CRITICAL: 'critical'>, <Severity.WARNING: 'warning'>)
    """

    completeness: CompletenessConfig | None = None
    uniqueness: UniquenessConfig | None = None
    schema: SchemaConfig | None = None
    outliers: OutliersConfig | None = None
    freshness: FreshnessConfig | None = None
    volume: VolumeConfig | None = None
    drift: DriftCheckConfig | None = None
    severity: Mapping[str, Severity | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parsed: dict[str, Severity] = {}
        for check, level in self.severity.items():
            if check not in DEFAULT_SEVERITY:
                raise ConfigError(
                    f"severity.{check}: unknown check; use one of: {', '.join(CHECK_NAMES)}"
                )
            try:
                parsed[check] = Severity(level)
            except ValueError:
                levels = ", ".join(s.value for s in Severity)
                raise ConfigError(
                    f"severity.{check}: unknown severity {level!r}; use one of: {levels}"
                ) from None
        object.__setattr__(self, "severity", _frozen(parsed))

    def severity_of(self, check: str) -> Severity:
        """Severity of ``check``'s failures under this configuration."""
        return Severity(self.severity.get(check, DEFAULT_SEVERITY[check]))

    def named_columns(self) -> set[str]:
        """Every column this configuration names (the declared columns)."""
        names: set[str] = set()
        if self.completeness is not None:
            names |= set(self.completeness.columns)
        if self.uniqueness is not None:
            names.update(c for key in self.uniqueness.keys for c in key)
        if self.schema is not None:
            s = self.schema
            names |= set(s.required) | set(s.types) | set(s.allowed) | set(s.ranges)
        if self.outliers is not None:
            names |= set(self.outliers.columns)
        if self.freshness is not None:
            names.add(self.freshness.column)
        if self.drift is not None and self.drift.columns is not None:
            names |= set(self.drift.columns)
        return names
