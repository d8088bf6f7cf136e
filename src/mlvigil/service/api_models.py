"""The shapes of the service's HTTP bodies (pydantic), so ``/openapi.json`` documents them.

Responses are validated against these models on the way out (FastAPI's
``response_model``) except the two large ones, a model's results and the dashboard's
model view, which are written straight to JSON for speed and only documented here
(their shape is checked against the schema by the tests). A number is
sent as the service computed it (an integer stays an integer); a value that is not finite
is ``null``. Times are ISO 8601 text with their UTC offset, as the store hands them back.
Every model forbids keys it does not declare, so a new key must be documented here first;
alerts, whose states are stored as JSON and read back, allow the keys of older versions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from mlvigil.alerts.patterns import MAX_MATCHERS, MAX_PATTERN_LENGTH, check_matchers
from mlvigil.alerts.state import AlertState
from mlvigil.checks.result import CheckKind, CheckStatus, Severity
from mlvigil.service.config import FeatureTypeName, TypeName

#: A JSON number, sent as computed: an integer stays one (``int | float`` in Python).
Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
#: ISO 8601 date and time with its offset, e.g. ``2026-01-01T10:00:00+00:00``.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ---------------------------------------------------------------------------


class ErrorBody(_Body):
    """A request the service cannot serve, and why (see :mod:`mlvigil.service.errors`)."""

    detail: str = Field(description="One line saying what to change.")


class BatchProblem(_Body):
    """One bad value of a rejected batch."""

    row: int | None = Field(description="0-based record index; null for the whole body.")
    field: str | None
    message: str


class BadBatchBody(ErrorBody):
    """A batch rejected whole: its first problems, and how many there are in all."""

    problems: list[BatchProblem]
    problem_count: int


# -- ingest and evaluation ------------------------------------------------------------


class ProfileStored(_Body):
    """A pushed profile stored, and its window evaluated."""

    window_start: Timestamp
    window_end: Timestamp
    sources: int = Field(description="Sources whose profiles the window merges.")
    rows: int = Field(description="Rows the merged profile describes.")
    results: int
    failed: int


class PredictionsStored(_Body):
    """Predictions committed to the store."""

    stored: int = Field(description="Rows stored (0 for a batch already stored).")
    replaced: int = Field(
        default=0,
        description="Stored predictions replaced: the same id and timestamp sent again.",
    )
    duplicate_batch: bool = Field(
        description="The Idempotency-Key was seen before with the same body: nothing stored."
    )


class LabelsStored(_Body):
    """Labels committed to the store."""

    stored: int = Field(description="Labels stored: one per id, the batch's last for it.")
    unknown_ids: int = Field(description="Labels whose id matches no prediction (yet).")
    duplicate_batch: bool


class EvaluatedWindow(_Body):
    """One window evaluated now."""

    start: Timestamp
    end: Timestamp
    rows: int
    labelled: int
    revision: int
    results: int
    failed: int


class EvaluationOutcome(_Body):
    """The windows evaluated; without any, ``detail`` says why none matched."""

    windows: list[EvaluatedWindow]
    detail: str | None = Field(default=None, description="Present when no window matched.")


# -- models, windows, results ---------------------------------------------------------


class ModelCounts(_Body):
    """A configured model and its row counts."""

    name: str
    predictions: int
    labels: int


class ModelList(_Body):
    """Every configured model."""

    models: list[ModelCounts]


class OutcomeBody(_Body):
    """A business outcome column."""

    kind: Literal["rate", "mean"] = Field(
        description="rate: 0 or 1 per prediction; mean: an amount"
    )
    higher_is_better: bool
    min: float | None
    max: float | None


class ModelSchemaBody(_Body):
    """Column roles of a model's records (the ``schema`` of ``mlvigil.yaml``)."""

    id: str
    timestamp: str
    timestamp_unit: Literal["s", "ms", "us", "ns"] | None = Field(
        description="Unit of integer (epoch) timestamps; null: send ISO 8601 text."
    )
    features: dict[str, FeatureTypeName]
    prediction: str
    prediction_type: TypeName
    score: str | None
    probabilities: dict[str, str] | None
    target: str
    segments: list[str]
    outcomes: dict[str, OutcomeBody] = Field(
        description="Business outcome columns, sent with the predictions or the labels."
    )
    experiment_arm: str | None = Field(
        description="The column naming each record's experiment arm (shadow: not served)."
    )


class ReferenceSummary(_Body):
    """The model's reference data, once it has one."""

    rows: int
    classes: list[str] | None = Field(description="A classifier's classes, as canonical text.")
    warnings: list[str]


class EnabledChecks(_Body):
    """Which kinds of check the model runs."""

    drift: bool
    quality: bool
    performance: bool


class ModelInfo(_Body):
    """A model's configuration, so clients can build its records."""

    name: str
    schema_: ModelSchemaBody = Field(alias="schema")
    reference: ReferenceSummary | None
    window_seconds: Number | None = Field(description="Time windows' length, else null.")
    window_rows: int | None = Field(description="Row-counted windows' size, else null.")
    label_delay_seconds: Number
    checks: EnabledChecks


class WindowBody(_Body):
    """An evaluated window."""

    start: Timestamp
    end: Timestamp
    rows: int
    labelled: int
    evaluated_at: Timestamp
    labels_final: bool
    revision: int
    late_rows: int
    late_labels: int


class WindowList(_Body):
    """A model's evaluated windows, oldest first."""

    windows: list[WindowBody]


class ResultRow(_Body):
    """One stored check result (``CheckResult.to_row``)."""

    model: str | None
    window_start: Timestamp | None
    window_end: Timestamp | None
    check: CheckKind
    metric: str
    column: str | None
    value: Number | None
    threshold: Number | None
    passed: bool
    status: CheckStatus
    severity: Severity
    message: str
    details: dict[str, Any] = Field(description="Facts of the check's kind.")
    segment: str | None
    score: Number | None = Field(description="Drift: the finding's size, 1 at the threshold.")
    evaluated_at: Timestamp


class ResultList(_Body):
    """A page of check results, filtered, oldest window first."""

    results: list[ResultRow]
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for the next page; null on the last."
    )


# -- alerts and silences --------------------------------------------------------------


class AlertBody(BaseModel):
    """An alert's state, as the alert engine saved it."""

    model_config = ConfigDict(extra="allow")

    labels: dict[str, str]
    state: AlertState
    value: Number | None
    active_since: Timestamp | None
    last_true: Timestamp | None
    windows_true: int
    fired_at: Timestamp | None
    resolved_at: Timestamp | None
    annotations: dict[str, str]
    window: str | None = Field(default=None, description="Start of the window it last saw.")


class ActiveAlert(AlertBody):
    """An alert pending or firing now."""

    silenced: bool = Field(description="A silence mutes its notifications now.")


class ActiveAlerts(_Body):
    """Alerts pending or firing now."""

    alerts: list[ActiveAlert]


class AlertEvent(_Body):
    """An alert that fired or resolved."""

    at: Timestamp
    kind: AlertState
    alert: AlertBody


class AlertHistory(_Body):
    """Alert events, newest first."""

    events: list[AlertEvent]


class NotificationSent(_Body):
    """A test notification the receiver accepted."""

    status: Literal["delivered"]
    receiver: str


class SilenceBody(_Body):
    """A silence, and whether it mutes alerts now."""

    id: str
    matchers: dict[str, str]
    starts_at: Timestamp
    ends_at: Timestamp
    created_by: str
    comment: str
    expired_at: Timestamp | None
    active: bool


class SilenceList(_Body):
    """Every silence."""

    silences: list[SilenceBody]


class TestNotificationRequest(_Body):
    """Which receiver to test."""

    receiver: str = Field(min_length=1)


def _usable_matchers(matchers: dict[str, str]) -> dict[str, str]:
    """Refuse (422) too many matchers and patterns RE2 cannot run or that are too long."""
    problems = check_matchers(matchers)
    if problems:
        raise ValueError("; ".join(problems))
    return matchers


class SilenceRequest(_Body):
    """A silence to create."""

    matchers: Annotated[dict[str, str], AfterValidator(_usable_matchers)] = Field(
        min_length=1,
        examples=[{"alertname": "dataset_drift", "model": "~credit-.*"}],
        description=f"label: value, or ~regex (RE2, whole value, at most {MAX_PATTERN_LENGTH} "
        f"characters); at most {MAX_MATCHERS} matchers",
    )
    duration: timedelta = Field(gt=timedelta(0), description="ISO 8601 duration or seconds")
    created_by: str = Field(min_length=1)
    comment: str = Field(min_length=1)
    starts_at: datetime | None = None


# -- probes ---------------------------------------------------------------------------


class Health(_Body):
    """The process answers."""

    status: Literal["ok"]


class Readiness(_Body):
    """Whether the store is open (503 when it is not)."""

    status: Literal["ready", "closed"]


# -- the dashboard's views ------------------------------------------------------------


class WindowSummary(_Body):
    """A window as the dashboard shows it."""

    start: Timestamp
    end: Timestamp
    rows: int
    labelled: int
    labels_final: bool


class DriftSummary(_Body):
    """The latest window's share of drifted columns."""

    share: Number | None
    threshold: Number | None
    status: CheckStatus


class QualitySummary(_Body):
    """The latest window's data-quality checks."""

    failed: int
    total: int


class PerformancePoint(_Body):
    """One metric of the latest window whose labels measured it."""

    metric: str
    value: Number | None
    threshold: Number | None
    status: CheckStatus
    window_start: Timestamp


class ResultError(_Body):
    """A result that could not be computed, and why."""

    check: CheckKind
    metric: str
    column: str | None
    segment: str | None
    message: str
    window_start: Timestamp | None


class AlertCounts(_Body):
    """A model's alerts now."""

    firing: int
    silenced: int
    pending: int


#: A model's status on the overview: firing alerts, else failing checks (or results not
#: computed), else no evaluated window yet, else ok.
ModelStatus = Literal["alerting", "failing", "no_data", "ok"]


class ModelSummary(_Body):
    """One model on the overview page."""

    name: str
    status: ModelStatus = Field(
        description="alerting: unsilenced alerts firing; failing: a failed check or a result "
        "not computed in its current results; no_data: no evaluated window yet; ok."
    )
    windows: int
    latest_window: WindowSummary | None
    drift: DriftSummary | None
    quality: QualitySummary
    performance: list[PerformancePoint]
    errors: list[ResultError]
    alerts: AlertCounts
    last_prediction: Timestamp | None
    data_age_seconds: Number | None
    label_coverage: Number | None


class OverviewSummary(_Body):
    """Every configured model counted, whatever the page and the search.

    A model can count as alerting, failing and without data at once; ``ok`` counts
    the models with none of those.
    """

    models: int
    alerting: int = Field(description="Models with unsilenced alerts firing.")
    failing: int = Field(description="Models whose current results hold a failure or an error.")
    no_data: int = Field(description="Models without an evaluated window yet.")
    ok: int


class Overview(_Body):
    """Every model's health at a glance: one page of the models the search keeps."""

    now: Timestamp
    models: list[ModelSummary]
    total: int = Field(description="Models the search and status filter keep, on every page.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")
    summary: OverviewSummary


class ModelColumns(_Body):
    """The columns the model page draws."""

    features: list[str]
    prediction: str
    score: str | None
    target: str


class ColumnDistribution(_Body):
    """Reference vs current shares of one column in one window."""

    window: WindowSummary
    column: str
    kind: Literal["numerical", "categorical", "none"]
    labels: list[str]
    edges: list[Number]
    reference: list[Number]
    current: list[Number]
    reference_null_rate: Number
    current_null_rate: Number
