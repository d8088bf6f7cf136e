"""Typed details of drift and performance results, readable as mappings too.

A :class:`~mlvigil.checks.result.CheckResult` carries the facts of its kind in
``details``: a drift column result its method's rule, p-values, null rates and
categories; a performance result its labelled rows, baseline and limits. These are
frozen dataclasses, so code reads typed fields (``result.details.p_value``), and also
mappings with the keys the JSON has always had (``result.details["p_value"]``), so the
API, the reports and older callers read them unchanged. :func:`typed_details` turns
the JSON the store keeps back into them. Other checks keep plain mappings: their
facts differ check by check (examples of bad values, ranges, counts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, Self

from mlvigil.checks.limits import LearnedLimits

__all__ = [
    "Details",
    "DriftDetails",
    "DriftShareDetails",
    "EstimationDetails",
    "MultivariateDetails",
    "PerformanceDetails",
    "typed_details",
]


class Details(Mapping[str, Any]):
    """Base of typed details: a frozen dataclass that reads as a mapping of its JSON."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON view: every field, learned limits as a mapping, tuples as lists."""
        data: dict[str, Any] = {}
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            if isinstance(value, LearnedLimits):
                value = value.to_dict()
            data[item.name] = _lists(value)
        return data

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        """The details a mapping (e.g. stored JSON) describes; unknown keys are ignored."""
        values: dict[str, Any] = {}
        for item in fields(cls):  # type: ignore[arg-type]
            if item.name not in data:
                continue
            value = data[item.name]
            if isinstance(value, Mapping):
                value = _limits(value)
            values[item.name] = _tuples(value)
        return cls(**values)


def _tuples(value: Any) -> Any:
    """Lists (of lists) of stored JSON as the tuples typed details hold."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, tuple) else value


def _limits(data: Mapping[str, Any]) -> LearnedLimits | None:
    names = [item.name for item in dataclasses.fields(LearnedLimits)]
    if not all(name in data for name in names):
        return None
    return LearnedLimits(**{name: data[name] for name in names})


@dataclass(frozen=True)
class DriftDetails(Details):
    """Facts of one column's drift result.

    Attributes
    ----------
    type
        The column type the comparison used.
    rule
        How the verdict was reached: ``p_value``, ``distance`` or ``learned``.
    status
        The column's status (``ok``, ``constant``, ``infinite``...).
    p_value, p_value_adjusted
        The method's p-value, and after multiple-testing correction.
    reference_null_rate, current_null_rate
        Share of null values on each side.
    missing_rate_drifted
        Whether the share of missing values changed materially.
    new_categories, missing_categories
        Categories only in the current data, or only in the reference.
    approximation_error
        Bound on the statistic's error when computed from sketches.
    limits
        Limits learned from the reference, when they judged the column.
    """

    type: str
    rule: str
    status: str = "ok"
    p_value: float | None = None
    p_value_adjusted: float | None = None
    reference_null_rate: float = 0.0
    current_null_rate: float = 0.0
    missing_rate_drifted: bool = False
    new_categories: tuple[str, ...] = ()
    missing_categories: tuple[str, ...] = ()
    approximation_error: float | None = None
    limits: LearnedLimits | None = None


@dataclass(frozen=True)
class DriftShareDetails(Details):
    """Facts of a dataset's drift-share result: which columns drifted of how many.

    ``contributions`` explains the drift: every tested column as ``(column, score,
    importance)``, largest contribution first; ``score`` is the column's drift score
    (1 at its threshold) and ``importance`` its share in separating the window from
    the reference when a domain classifier ran (else ``None``).
    """

    drifted_columns: tuple[str, ...] = ()
    tested_columns: int = 0
    contributions: tuple[tuple[str, float | None, float | None], ...] = ()


@dataclass(frozen=True)
class EstimationDetails(Details):
    """Facts of a performance estimate made without labels.

    Attributes
    ----------
    method
        ``confidence`` (classification: expected confusion matrix from calibrated
        probabilities) or ``loss`` (regression: direct loss estimation).
    rows
        Rows the estimate is made from.
    standard_error
        Sampling error of the estimate at this many rows (from the reference's
        row-level spread / sqrt(rows)).
    lower_band, upper_band
        The estimate -/+ 3 standard errors, clipped to the metric's range.
    limits
        Limits learned from reference chunks, when they judged the estimate.
    direction
        ``degraded``, ``improved`` or ``within`` the limits.
    realized
        The metric measured from labels, once the window has enough of them.
    calibrated
        Whether the scores were recalibrated on the reference (classification).
    assumptions
        What the estimate takes for granted, in words.
    """

    method: str = "confidence"
    rows: int = 0
    standard_error: float | None = None
    lower_band: float | None = None
    upper_band: float | None = None
    limits: LearnedLimits | None = None
    direction: str | None = None
    realized: float | None = None
    calibrated: bool | None = None
    assumptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class MultivariateDetails(Details):
    """Facts of a multivariate drift result.

    Attributes
    ----------
    method
        ``reconstruction_error`` (PCA), ``domain_classifier`` (cross-validated ROC AUC
        of a classifier telling window rows from reference rows) or ``mmd`` (kernel
        two-sample test).
    rows, reference_rows
        Rows of the window and of the reference (after subsampling) used.
    columns
        The columns the method read.
    standard_error
        Sampling error of the value, where the method has one.
    lower_band, upper_band
        The value -/+ 3 standard errors.
    p_value
        The permutation p-value (``mmd``).
    limits
        Limits learned from reference chunks, when they judged the value.
    importances
        ``(column, importance)`` of the columns that separate the window from the
        reference most, largest first (``domain_classifier``).
    components, variance_kept
        Principal components kept and the share of variance they hold
        (``reconstruction_error``).
    """

    method: str = "reconstruction_error"
    rows: int = 0
    reference_rows: int = 0
    columns: tuple[str, ...] = ()
    standard_error: float | None = None
    lower_band: float | None = None
    upper_band: float | None = None
    p_value: float | None = None
    limits: LearnedLimits | None = None
    importances: tuple[tuple[str, float], ...] = ()
    components: int | None = None
    variance_kept: float | None = None


@dataclass(frozen=True)
class PerformanceDetails(Details):
    """Facts of a performance result.

    Attributes
    ----------
    labelled
        Labelled rows the metric was computed on.
    rows
        Every prediction of the window (label coverage).
    baseline
        The baseline (fixed) or the reference's mean (learned).
    limits
        ``fixed``, ``learned``, or ``None`` when the metric is not judged.
    degradation
        How much worse than the baseline (fixed limits).
    direction
        ``degraded``, ``improved`` or ``within`` the learned limits.
    learned
        The learned limits, when they judged the metric (shown flattened: ``mean``,
        ``std``, ``lower``, ``upper``, ``chunks``, ``chunk_rows``).
    """

    labelled: int = 0
    rows: int | None = None
    baseline: float | None = None
    limits: str | None = None
    degradation: float | None = None
    direction: str | None = None
    learned: LearnedLimits | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON view, the learned limits spread out beside ``limits``."""
        data = {item.name: getattr(self, item.name) for item in fields(self)}
        learned = data.pop("learned")
        if learned is not None:
            data.update(learned.to_dict())
        return data

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        """The details a mapping describes (learned limits from their spread-out keys)."""
        known = [item.name for item in fields(cls) if item.name != "learned"]
        learned = _limits(data) if data.get("limits") == "learned" else None
        return cls(**{k: data[k] for k in known if k in data}, learned=learned)


def typed_details(
    check: str, metric: str, column: str | None, status: str, data: Mapping[str, Any]
) -> Mapping[str, Any]:
    """The typed details of a stored result, or the mapping as it is for other results.

    Examples
    --------
    >>> typed_details("drift", "drift_share", None, "passed", {"tested_columns": 3}).tested_columns
    3
    """
    if status == "error":
        return data  # a result that could not be computed says why, in its own words
    if check == "drift":
        if metric == "drift_share":
            return DriftShareDetails.from_mapping(data)
        if column is not None and "rule" in data:
            return DriftDetails.from_mapping(data)
        if "method" in data and "reference_rows" in data:
            return MultivariateDetails.from_mapping(data)
    if check == "performance":
        return PerformanceDetails.from_mapping(data)
    if check == "estimation":
        return EstimationDetails.from_mapping(data)
    return data
