"""The dashboard's model view: its series per window, as ``/openapi.json`` documents them.

Written straight to JSON for speed (see :mod:`mlvigil.service.api_models`); the tests
check the service's answers against these models.
"""

from __future__ import annotations

from pydantic import Field

from mlvigil.checks.result import CheckStatus
from mlvigil.service.api_models import (
    ActiveAlert,
    ModelColumns,
    Number,
    ResultError,
    ResultRow,
    SilenceBody,
    Timestamp,
    WindowSummary,
    _Body,
)


class DriftScores(_Body):
    """One drift score per column and window (null where a window has none)."""

    columns: list[str]
    scores: list[list[Number | None]] = Field(description="One list per column, by window.")


class PerformanceSeries(_Body):
    """One performance metric over the windows."""

    values: list[Number | None]
    threshold: Number | None
    failed: list[bool]


class EstimationSeries(_Body):
    """One estimated metric over the windows: estimate, sampling band, limits, realized."""

    values: list[Number | None]
    band_lower: list[Number | None] = Field(description="Estimate - 3 standard errors.")
    band_upper: list[Number | None] = Field(description="Estimate + 3 standard errors.")
    realized: list[Number | None] = Field(description="Measured from labels, once they came.")
    failed: list[bool]
    lower: Number | None = Field(description="Lower limit learned from the reference.")
    upper: Number | None = Field(description="Upper limit learned from the reference.")
    threshold: Number | None


class MultivariateSeries(_Body):
    """One multivariate drift method over the windows, on one embedding or the features."""

    metric: str
    column: str | None = Field(description="The embedding column, or null for the features.")
    values: list[Number | None]
    failed: list[bool]
    threshold: Number | None


class Contribution(_Body):
    """One column's part in the latest window's drift."""

    column: str
    score: Number | None = Field(description="Drift score, 1 at the column's threshold.")
    importance: Number | None = Field(
        description="Importance in the domain classifier telling window from reference."
    )


class SegmentDrift(_Body):
    """Drift of one segment value of the latest window against its reference slice."""

    segment: str
    share: Number | None
    status: CheckStatus
    drifted_columns: list[str]


class DriftExplained(_Body):
    """The latest window's drift: columns ranked by contribution, drift per segment."""

    contributions: list[Contribution]
    segments: list[SegmentDrift]


class CanarySeries(_Body):
    """One candidate version's canary verdict per window."""

    values: list[Number | None] = Field(description="1 pass, 0 inconclusive, -1 fail.")
    messages: list[str | None]


class VersionDifference(_Body):
    """A candidate's difference from the baseline on one metric, latest compared window."""

    version: str
    baseline: str | None
    metric: str
    value: Number | None = Field(description="Candidate minus baseline.")
    low: Number | None
    high: Number | None
    status: CheckStatus
    message: str


class VersionsView(_Body):
    """The model's versions side by side (empty when windows held one version)."""

    versions: list[str]
    metrics: dict[str, dict[str, list[Number | None]]] = Field(
        description="Per metric, one list per version, by window."
    )
    canary: dict[str, CanarySeries] = Field(description="Per candidate version.")
    latest_window: Timestamp | None
    differences: list[VersionDifference]


class ModelView(_Body):
    """A model's page: per window drift, quality and performance; alerts and silences."""

    name: str
    columns: ModelColumns
    windows: list[WindowSummary]
    drift_share: list[Number | None]
    drift_share_threshold: Number | None
    drift_scores: DriftScores
    quality_failed: list[int | None]
    quality_latest: list[ResultRow]
    errors: list[ResultError]
    performance: dict[str, PerformanceSeries]
    estimation: dict[str, EstimationSeries]
    multivariate: dict[str, MultivariateSeries]
    drift_explained: DriftExplained
    business: dict[str, PerformanceSeries]
    versions: VersionsView
    alerts: list[ActiveAlert]
    silences: list[SilenceBody]
