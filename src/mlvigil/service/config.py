"""``mlvigil.yaml``: the models the service monitors, and how.

Validated on start; every problem is reported at once, one line each, naming the key::

    mlvigil.yaml: models.credit.windw: unknown key; did you mean 'window'?

A minimal file::

    store: mlvigil.duckdb            # env MLVIGIL_STORE overrides
    models:
      credit-risk:
        schema:
          features: {age: numerical, income: numerical, region: categorical}
          prediction: prediction      # column names; these are the defaults
          prediction_type: categorical
          score: score                # the positive-class probability
          target: label
        reference: {path: reference.parquet}   # or {first_windows: 3}
        window: 1h                    # or {rows: 10000}
        checks:
          drift: {drift_share: 0.5}
          quality: {completeness: {default_max_null_rate: 0.05}}
          performance:
            task: classification
            thresholds: auto          # learned from the reference, or fixed baselines
            label_delay: 1d
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from mlvigil.alerts.config import (
    AlertingModel,
    Wait,
    build_inhibit_rules,
    build_notifiers,
    build_route,
    build_rules,
)
from mlvigil.alerts.notifiers import Notifier
from mlvigil.alerts.routing import Route
from mlvigil.alerts.rules import AlertRule
from mlvigil.alerts.silences import InhibitRule
from mlvigil.checks.config import parse_quality_config
from mlvigil.checks.drift import DriftConfig
from mlvigil.checks.performance import PerformanceConfig
from mlvigil.checks.quality.freshness import parse_duration
from mlvigil.checks.quality.options import QualityConfig
from mlvigil.estimation import EstimationConfig
from mlvigil.exceptions import ConfigError
from mlvigil.io.conform import category_text
from mlvigil.multivariate import MultivariateConfig
from mlvigil.schema import ColumnType
from mlvigil.service.label_free import (
    EstimationModel,
    MultivariateModel,
    estimation_config,
    multivariate_config,
)
from mlvigil.service.policies import (
    Accept,
    AcceptModel,
    Duration,
    Limits,
    LimitsModel,
    Retention,
    RetentionModel,
    Security,
    SecurityModel,
    resolve_accept,
    resolve_limits,
    resolve_retention,
    resolve_security,
)
from mlvigil.service.shards import Sharding, ShardsModel, own_models, resolve_sharding
from mlvigil.service.slo_config import resolve_slos
from mlvigil.service.startup_checks import ModelTimes, limit_problems, startup_problems
from mlvigil.service.versions_config import (
    Outcomes,
    VersionsConfig,
    VersionsModel,
    versions_config,
)
from mlvigil.slo import SLO, SLOModel
from mlvigil.yaml_config import read_yaml, validation_message

STORE_ENV = "MLVIGIL_STORE"
HOST_ENV = "MLVIGIL_HOST"
PORT_ENV = "MLVIGIL_PORT"

# Columns the store adds to every prediction record.
#: The column of the records naming the model version that made the prediction.
VERSION_COLUMN = "model_version"
#: The records' flag of a request whose serving failed (a fallback answer was given).
ERROR_COLUMN = "error"
#: The column of the store's shared tables naming each row's model (service/row_tables.py).
MODEL_KEY_COLUMN = "__model"
RESERVED_COLUMNS = (VERSION_COLUMN, "latency_ms", ERROR_COLUMN, "received_at", MODEL_KEY_COLUMN)

TypeName = Literal["numerical", "categorical", "boolean", "datetime", "text"]
FeatureTypeName = TypeName | Literal["embedding"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SchemaModel(_Strict):
    """Column roles of a model's records."""

    id: str = "id"
    timestamp: str = "timestamp"
    timestamp_unit: Literal["s", "ms", "us", "ns"] | None = None
    """Unit of timestamps sent as integers (epoch); without it they are refused."""
    features: dict[str, FeatureTypeName] = Field(min_length=1)
    prediction: str = "prediction"
    prediction_type: TypeName = "categorical"
    score: str | None = "score"
    probabilities: dict[str, str] | None = None
    """One probability column per class (class -> column), as ``predict_proba`` gives."""
    target: str = "label"
    segments: list[str] = Field(default_factory=list)
    outcomes: Outcomes = Field(default_factory=dict)
    """Business outcome columns sent with the predictions: ``rate`` (0/1) or ``mean``."""
    experiment_arm: str | None = None
    """The column naming each record's experiment arm (champion, challenger, canary,
    shadow). Rows of the ``shadow`` arm were scored but not served: the window's own
    checks leave them out, and the versions' comparison pairs them by id."""

    @property
    def score_columns(self) -> list[str]:
        """The columns holding scores: the score, or the probability of each class."""
        if self.probabilities:
            return list(self.probabilities.values())
        return [self.score] if self.score is not None else []

    @model_validator(mode="after")
    def _distinct_names(self) -> SchemaModel:
        if self.probabilities is not None and len(self.probabilities) < 2:
            raise ValueError("probabilities needs a column for each class (at least two)")
        if self.probabilities and "score" in self.model_fields_set and self.score is not None:
            raise ValueError("give score (one column) or probabilities (one per class), not both")
        roles = [self.id, self.timestamp, self.prediction, self.target, self.experiment_arm]
        roles += self.score_columns
        names = [n for n in roles if n is not None] + list(self.features) + list(self.outcomes)
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"column names used for two roles: {repeated}")
        reserved = sorted(set(names) & set(RESERVED_COLUMNS))
        if reserved:
            raise ValueError(f"{reserved} are stored by mlvigil itself; rename the column")
        unknown = [s for s in self.segments if s not in self.features]
        if unknown:
            raise ValueError(f"segments must be features; not features: {unknown}")
        vectors = [s for s in self.segments if self.features[s] == "embedding"]
        if vectors:
            raise ValueError(f"segments are values to group rows by, not embeddings: {vectors}")
        return self

    @property
    def embeddings(self) -> list[str]:
        """The features holding vectors (embeddings)."""
        return [name for name, kind in self.features.items() if kind == "embedding"]


class ReferenceModel(_Strict):
    """Where the reference data comes from: a file, or the model's first windows."""

    path: str | None = None
    first_windows: int | None = Field(default=None, ge=1)
    chunk_rows: int | None = Field(default=None, ge=2)
    """Rows per reference chunk for learned thresholds; by default a window's rows, or
    a window's period of the reference's timestamp column."""

    @model_validator(mode="after")
    def _exactly_one(self) -> ReferenceModel:
        if (self.path is None) == (self.first_windows is None):
            raise ValueError("give exactly one of path or first_windows")
        return self


class DriftModel(_Strict):
    """Drift against the reference (features, prediction, score)."""

    method: str | None = None
    threshold: float | None = None
    thresholds: Literal["fixed", "learned"] = "fixed"
    drift_share: float = Field(default=0.5, gt=0, le=1)
    correction: Literal["bonferroni", "bh"] | None = None
    columns: list[str] | None = None
    segments: int = Field(default=5, ge=0)
    """Drift per value of the schema's segments: the N most frequent values of each (0: off)."""


class PerformanceModel(_Strict):
    """Metrics once labels arrive, against a baseline."""

    task: Literal["classification", "regression"] = "classification"
    metrics: list[str] = Field(default_factory=list)
    thresholds: Literal["auto", "fixed", "learned"] = "auto"
    baseline: dict[str, float] = Field(default_factory=dict)
    max_degradation: float | dict[str, float] = 0.05
    positive_label: str | int | float | bool = 1
    min_labels: int = Field(default=30, ge=1)
    label_delay: Wait = timedelta(0)
    score_is: Literal["positive_probability", "confidence"] = "positive_probability"


class ChecksModel(_Strict):
    """The checks run on every window."""

    drift: DriftModel | None = Field(default_factory=DriftModel)
    quality: dict[str, Any] | None = None
    performance: PerformanceModel | None = None
    estimation: EstimationModel | None = None
    multivariate: MultivariateModel | None = None
    versions: VersionsModel | None = None


class RowWindowModel(_Strict):
    """A window of a fixed number of rows (in timestamp order) instead of a duration.

    A window closes when it is full, or with the rows it has once no row has arrived
    for ``idle`` (so the last rows of a batch are evaluated too).
    """

    rows: int = Field(ge=1)
    idle: Duration = timedelta(minutes=5)


def _window(value: Any) -> Any:
    """``1h`` (a duration) or ``{rows: N}``."""
    return (
        RowWindowModel.model_validate(value) if isinstance(value, dict) else parse_duration(value)
    )


Window = Annotated[RowWindowModel | timedelta, BeforeValidator(_window)]


class ModelModel(_Strict):
    """One monitored model."""

    schema_: SchemaModel = Field(alias="schema")
    reference: ReferenceModel = Field(default_factory=lambda: ReferenceModel(first_windows=1))
    window: Window = timedelta(hours=1)
    checks: ChecksModel = Field(default_factory=ChecksModel)
    retention: Duration | None = None
    shard: int | None = Field(default=None, ge=0)
    """The instance serving this model (``shards``); default: by the hash of its name."""


class ServiceModel(_Strict):
    """The whole file."""

    store: str = "mlvigil.duckdb"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    evaluation_interval: Duration = timedelta(seconds=30)
    evaluation_workers: int = Field(default=0, ge=0, le=64)
    lateness: Wait = timedelta(minutes=1)
    models: dict[str, ModelModel] = Field(min_length=1)
    alerting: AlertingModel = Field(default_factory=AlertingModel)
    limits: LimitsModel = Field(default_factory=LimitsModel)
    accept: AcceptModel = Field(default_factory=AcceptModel)
    security: SecurityModel = Field(default_factory=SecurityModel)
    retention: RetentionModel = Field(default_factory=RetentionModel)
    slos: list[SLOModel] = Field(default_factory=list)
    shards: ShardsModel | None = None


@dataclass(frozen=True)
class ModelConfig:
    """One model, resolved: names, types, window and the library's check configs."""

    name: str
    schema: SchemaModel
    window: timedelta | None
    """Width of time windows; ``None`` when windows are counted in rows."""
    reference_path: Path | None
    reference_windows: int | None
    drift: DriftConfig | None
    drift_columns: tuple[str, ...] | None
    quality: QualityConfig | None
    performance: PerformanceConfig | None
    label_delay: timedelta
    retention: timedelta | None
    window_rows: int | None = None
    """Rows per window when windows are counted in rows."""
    window_idle: timedelta = timedelta(minutes=5)
    """A row window closes with fewer rows after this long without a new row."""
    drift_thresholds: str = "fixed"
    """``fixed`` (the methods' thresholds) or ``learned`` (from reference chunks)."""
    performance_thresholds: str = "auto"
    """``auto``, ``fixed`` or ``learned``; see the README."""
    reference_chunk_rows: int | None = None
    estimation: EstimationConfig | None = None
    multivariate: MultivariateConfig | None = None
    multivariate_columns: tuple[str, ...] | None = None
    segment_drift_values: int = 0
    """Drift per segment value: the most frequent values of each segment column (0: off)."""
    versions: VersionsConfig | None = None
    """The comparison of the model's versions in each window, if configured."""

    @property
    def column_types(self) -> dict[str, ColumnType]:
        """Type of every stored column that checks look at."""
        types = {name: ColumnType(kind) for name, kind in self.schema.features.items()}
        types[self.schema.prediction] = ColumnType(self.schema.prediction_type)
        for column in self.schema.score_columns:
            types[column] = ColumnType.NUMERICAL
        return types

    @property
    def target_type(self) -> ColumnType:
        """Type of the label: numbers for regression, the prediction's type otherwise."""
        if self.performance is not None and self.performance.task == "regression":
            return ColumnType.NUMERICAL
        return ColumnType(self.schema.prediction_type)


@dataclass(frozen=True)
class ServiceConfig:
    """The service's configuration, after environment overrides."""

    store: Path
    host: str
    port: int
    max_body_bytes: int
    evaluation_interval: timedelta
    lateness: timedelta
    models: Mapping[str, ModelConfig]
    source: str = "mlvigil.yaml"
    evaluation_workers: int = 0
    """Processes evaluating windows beside the service's (0: in the service's)."""
    rules: tuple[AlertRule, ...] = ()
    route: Route | None = None
    notifiers: Mapping[str, Notifier] = field(default_factory=dict)
    external_url: str = ""
    inhibit_rules: tuple[InhibitRule, ...] = ()
    send_resolved: frozenset[str] = frozenset()
    """Receivers that are told when an alert resolves."""
    limits: Limits = field(default_factory=Limits)
    accept: Accept = field(default_factory=Accept)
    security: Security = field(default_factory=Security)
    retention: Retention = field(default_factory=Retention)
    slos: tuple[SLO, ...] = ()
    """The service-level objectives (``slos:``), serving and model SLIs alike."""
    sharding: Sharding | None = None
    """The instances sharing the models, when several do (``shards:``)."""


def parse_service_config(
    data: Any, *, source: str = "mlvigil.yaml", base_dir: Path | None = None
) -> ServiceConfig:
    """Validate a parsed ``mlvigil.yaml``; relative paths resolve against ``base_dir``.

    Environment variables ``MLVIGIL_STORE``, ``MLVIGIL_HOST`` and ``MLVIGIL_PORT``
    override the file.

    Raises
    ------
    ConfigError
        Listing every problem with its key path.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping with a 'models' section")
    try:
        model = ServiceModel.model_validate(data)
    except ValidationError as error:
        raise ConfigError(validation_message(error, ServiceModel, source)) from None
    base = base_dir or Path.cwd()
    sharding = resolve_sharding(
        model.shards, {name: m.shard for name, m in model.models.items()}, source
    )
    # Every model is validated, whichever instance serves it: one file, one verdict.
    every_model = _model_configs(model.models, base, source)
    models = {name: every_model[name] for name in own_models(every_model, sharding)}
    problems = startup_problems(
        (ModelTimes(m.name, m.window, m.label_delay, m.retention) for m in every_model.values()),
        lateness=model.lateness,
        windows_retention=model.retention.windows,
    ) + limit_problems(
        max_body_bytes=model.max_body_bytes,
        max_bodies_in_flight_bytes=model.limits.max_bodies_in_flight_bytes,
    )
    if problems:
        raise ConfigError("\n".join(f"{source}: {line}" for line in problems))
    port = os.environ.get(PORT_ENV)
    if port is not None and not port.isdigit():
        raise ConfigError(f"{PORT_ENV}={port!r} is not a port number")
    return ServiceConfig(
        store=base / os.environ.get(STORE_ENV, model.store),
        host=os.environ.get(HOST_ENV, model.host),
        port=int(port) if port is not None else model.port,
        max_body_bytes=model.max_body_bytes,
        evaluation_interval=model.evaluation_interval,
        evaluation_workers=model.evaluation_workers,
        lateness=model.lateness,
        models=models,
        source=source,
        rules=_rules(model.alerting, source),
        **_delivery(model.alerting, base, source),
        limits=resolve_limits(model.limits),
        accept=resolve_accept(model.accept),
        security=resolve_security(model.security, base=base, where=f"{source}: security"),
        retention=resolve_retention(model.retention),
        slos=tuple(
            slo for slo in resolve_slos(model.slos, every_model, source) if slo.model in models
        ),
        sharding=sharding,
    )


def load_service_config(path: str | Path) -> ServiceConfig:
    """Read and validate ``mlvigil.yaml``; relative paths are relative to its folder."""
    path = Path(path)
    data = read_yaml(path, "service configuration")
    if data is None:
        raise ConfigError(f"{path}: the file is empty; declare at least one model")
    return parse_service_config(data, source=str(path), base_dir=path.parent)


def _model_configs(
    models: Mapping[str, ModelModel], base: Path, source: str
) -> dict[str, ModelConfig]:
    """Every model's configuration; models declared alike share one (but their name).

    Thousands of models from one template cost one configuration's memory and time:
    their checks, schema and reference path are the same objects.
    """
    built: dict[str, ModelConfig] = {}
    configs = {}
    for name, settings in models.items():
        key = settings.model_dump_json(by_alias=True, exclude={"shard"})
        template = built.get(key)
        if template is None:
            template = built[key] = _model_config(name, settings, base, f"{source}: models.{name}")
        configs[name] = template if template.name == name else replace(template, name=name)
    return configs


def _model_config(name: str, model: ModelModel, base: Path, where: str) -> ModelConfig:
    checks = model.checks
    drift = None
    if checks.drift is not None:
        try:
            drift = DriftConfig(
                method=checks.drift.method,
                threshold=checks.drift.threshold,
                drift_share=checks.drift.drift_share,
                correction=checks.drift.correction,
            )
        except ConfigError as error:
            raise ConfigError(f"{where}.checks.drift: {error}") from None
    quality = None
    if checks.quality is not None:
        quality = parse_quality_config(
            checks.quality, source=f"{where}.checks.quality", base_dir=base
        )
    performance = None
    if checks.performance is not None:
        settings = checks.performance
        try:
            performance = PerformanceConfig(
                task=settings.task,
                metrics=tuple(settings.metrics),
                baseline=settings.baseline,
                max_degradation=settings.max_degradation,
                positive_label=_as_stored(settings.positive_label, model.schema_),
                min_labels=settings.min_labels,
                score_is=settings.score_is,
            )
        except ConfigError as error:
            raise ConfigError(f"{where}.checks.performance: {error}") from None
    reference = model.reference
    schema = model.schema_
    estimation = None
    if checks.estimation is not None:
        label = checks.estimation.positive_label
        estimation = estimation_config(
            checks.estimation,
            performance=performance,
            prediction=schema.prediction,
            target=schema.target,
            score=schema.score,
            probabilities=schema.probabilities,
            features=tuple(f for f in schema.features if f not in schema.embeddings),
            positive_label=_as_stored(label, schema)
            if label is not None
            else (performance.positive_label if performance is not None else _as_stored(1, schema)),
        )
    multivariate = checks.multivariate
    versions = None
    if checks.versions is not None:
        versions = versions_config(
            checks.versions,
            performance=performance,
            outcomes=schema.outcomes,
            categorical_predictions=ColumnType(schema.prediction_type).is_categorical,
            where=where,
        )
    return ModelConfig(
        name=name,
        schema=model.schema_,
        window=model.window if isinstance(model.window, timedelta) else None,
        window_rows=model.window.rows if isinstance(model.window, RowWindowModel) else None,
        window_idle=model.window.idle if isinstance(model.window, RowWindowModel) else timedelta(0),
        reference_path=base / reference.path if reference.path is not None else None,
        reference_windows=reference.first_windows,
        drift=drift,
        drift_columns=tuple(checks.drift.columns)
        if checks.drift and checks.drift.columns
        else None,
        quality=quality,
        performance=performance,
        label_delay=checks.performance.label_delay if checks.performance else timedelta(0),
        retention=model.retention,
        drift_thresholds=checks.drift.thresholds if checks.drift else "fixed",
        performance_thresholds=checks.performance.thresholds if checks.performance else "auto",
        reference_chunk_rows=reference.chunk_rows,
        estimation=estimation,
        multivariate=multivariate_config(multivariate, embeddings_only=multivariate is None)
        if multivariate is not None or schema.embeddings
        else None,
        multivariate_columns=_multivariate_columns(multivariate, schema),
        segment_drift_values=checks.drift.segments if checks.drift else 0,
        versions=versions,
    )


def _multivariate_columns(
    multivariate: MultivariateModel | None, schema: SchemaModel
) -> tuple[str, ...] | None:
    """The columns the multivariate check reads: those named, else every feature.

    A schema's embeddings are tested even without a ``checks.multivariate`` section
    (univariate drift cannot test them), so then the check reads just those.
    """
    if multivariate is None:
        return tuple(schema.embeddings) or None
    return tuple(multivariate.columns) if multivariate.columns else None


def _as_stored(label: str | int | float | bool, schema: SchemaModel) -> Any:
    """The positive label as the store holds labels: canonical category text, or a bool."""
    if schema.prediction_type == "boolean":
        return bool(label)
    return category_text(label)


def _rules(alerting: AlertingModel, source: str) -> tuple[AlertRule, ...]:
    try:
        return build_rules(alerting)
    except ConfigError as error:
        raise ConfigError(f"{source}: alerting: {error}") from None


def _delivery(alerting: AlertingModel, base: Path, source: str) -> dict[str, Any]:
    try:
        notifiers = build_notifiers(alerting, base)
        route = build_route(alerting.route, list(notifiers)) if alerting.route else None
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    if notifiers and route is None:
        raise ConfigError(f"{source}: alerting: receivers are configured but no route uses them")
    return {
        "route": route,
        "notifiers": notifiers,
        "external_url": alerting.external_url,
        "inhibit_rules": build_inhibit_rules(alerting),
        "send_resolved": frozenset(
            name for name, receiver in alerting.receivers.items() if receiver.hears_resolved
        ),
    }
