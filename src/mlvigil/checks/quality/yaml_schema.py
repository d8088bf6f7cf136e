"""The YAML schema of quality checks, as pydantic models (used by :mod:`mlvigil.checks.config`).

Every model forbids unknown keys, so a typo fails loudly instead of silently
switching a check off. These models stay at the edge: the library works with
the frozen dataclasses of :mod:`mlvigil.checks.quality.options`.
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    field_validator,
    model_validator,
)

from mlvigil.checks.quality.freshness import parse_duration
from mlvigil.stats.registry import METHODS

__all__ = [
    "CompletenessModel",
    "DriftModel",
    "FreshnessModel",
    "OutlierModel",
    "OutliersModel",
    "QualityConfigModel",
    "RangeModel",
    "SchemaModel",
    "SeverityModel",
    "UniquenessModel",
    "VolumeModel",
]

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
TypeName = Literal["numerical", "categorical", "boolean", "datetime", "text"]
SeverityName = Literal["info", "warning", "error", "critical"]


def _scalar(value: Any) -> Any:
    if not isinstance(value, str | int | float | bool):
        raise ValueError("allowed values must be strings, numbers or booleans")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompletenessModel(_Section):
    """``completeness``: maximum null rate per column."""

    default_max_null_rate: Rate | None = None
    columns: dict[str, Rate] = Field(default_factory=dict)


class UniquenessModel(_Section):
    """``uniqueness``: keys that must not repeat."""

    keys: list[Annotated[list[str], Field(min_length=1)]] = Field(min_length=1)
    max_duplicate_rate: Rate = 0.0

    @field_validator("keys", mode="before")
    @classmethod
    def _one_key(cls, value: Any) -> Any:
        # A column name, or a flat list of names, is a single key.
        if isinstance(value, str):
            return [[value]]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return [value]
        if isinstance(value, list):
            return [[v] if isinstance(v, str) else v for v in value]
        return value


class RangeModel(_Section):
    """An inclusive numeric range."""

    min: float | None = None
    max: float | None = None
    max_rate: Rate = 0.0

    @model_validator(mode="after")
    def _bounds(self) -> RangeModel:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self


class SchemaModel(_Section):
    """``schema``: required columns, types, allowed values, ranges."""

    required: list[str] = Field(default_factory=list)
    types: dict[str, TypeName] = Field(default_factory=dict)
    allowed: dict[str, list[Annotated[Any, AfterValidator(_scalar)]]] = Field(default_factory=dict)
    max_unexpected_rate: Rate = 0.0
    ranges: dict[str, RangeModel] = Field(default_factory=dict)
    allow_extra_columns: bool = True


class OutlierModel(_Section):
    """The outlier rule of one column."""

    method: Literal["zscore", "iqr"]
    n_std: PositiveFloat | None = None
    k: PositiveFloat | None = None
    max_rate: Rate = 0.01

    @model_validator(mode="after")
    def _width_fits_method(self) -> OutlierModel:
        if self.method == "iqr" and self.n_std is not None:
            raise ValueError("n_std applies to method zscore; iqr takes k")
        if self.method == "zscore" and self.k is not None:
            raise ValueError("k applies to method iqr; zscore takes n_std")
        return self


class OutliersModel(_Section):
    """``outliers``: a rule per column."""

    columns: dict[str, OutlierModel]


class FreshnessModel(_Section):
    """``freshness``: the newest timestamp's maximum age."""

    column: str
    max_age: timedelta

    @field_validator("max_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)


class VolumeModel(_Section):
    """``volume``: expected row counts."""

    min_rows: NonNegativeInt | None = None
    max_rows: NonNegativeInt | None = None
    history: list[NonNegativeInt] = Field(default_factory=list)
    max_deviation: PositiveFloat = 0.5

    @model_validator(mode="after")
    def _something_to_check(self) -> VolumeModel:
        if self.min_rows is None and self.max_rows is None and not self.history:
            raise ValueError("set min_rows, max_rows or history")
        low, high = self.min_rows, self.max_rows
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_rows {low} is greater than max_rows {high}")
        return self


class DriftModel(_Section):
    """``drift``: comparison with reference data."""

    reference: str
    columns: list[str] | None = None
    method: str | None = None
    threshold: NonNegativeFloat | None = None
    drift_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    correction: Literal["bonferroni", "bh"] | None = None

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str | None) -> str | None:
        if value is not None and value not in METHODS:
            close = difflib.get_close_matches(value, list(METHODS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"unknown drift method {value!r}; {hint}choose one of: {', '.join(sorted(METHODS))}"
            )
        return value


class SeverityModel(_Section):
    """``severity``: the severity of each check's failures."""

    completeness: SeverityName | None = None
    uniqueness: SeverityName | None = None
    schema_: SeverityName | None = Field(default=None, alias="schema")
    outliers: SeverityName | None = None
    freshness: SeverityName | None = None
    volume: SeverityName | None = None
    drift: SeverityName | None = None


class QualityConfigModel(_Section):
    """A whole quality configuration file."""

    completeness: CompletenessModel | None = None
    uniqueness: UniquenessModel | None = None
    schema_: SchemaModel | None = Field(default=None, alias="schema")
    outliers: OutliersModel | None = None
    freshness: FreshnessModel | None = None
    volume: VolumeModel | None = None
    drift: DriftModel | None = None
    severity: SeverityModel | None = None
