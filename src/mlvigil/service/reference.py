"""A model's reference: its rows in the schema's types, and what is learned from them once.

The reference (a file, or the model's first windows) is read once, its columns cast to
the types the schema declares (a float64 target of a classifier becomes class text like
every label; a column that cannot take its type stops the start with the column and
both types named), and kept in memory for exact drift. From it come, once:

- the class set of a classifier (labels and predictions are mapped onto it);
- the profile (dashboard distributions, reports);
- thresholds learned from reference chunks of a window's size, for drift and
  performance (see :mod:`mlvigil.checks.thresholds`);
- performance baselines (each metric on the whole reference);
- the performance estimator (calibration, loss models and the limits of its
  estimates), the multivariate drift detector, and the reference per segment value;
- warnings about the reference itself, such as scores that contradict ``score_is``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa

from mlvigil.checks.business import Outcome
from mlvigil.checks.chunks import Chunk, period_chunks, size_chunks
from mlvigil.checks.classes import ClassSet
from mlvigil.checks.drift import PreparedReference, prepare_reference
from mlvigil.checks.performance import PerformanceConfig, measure
from mlvigil.checks.thresholds import (
    LearnedDrift,
    learn_drift_limits,
    learn_outcome_limits,
    learn_performance_limits,
)
from mlvigil.estimation import PerformanceEstimator
from mlvigil.exceptions import ConfigError
from mlvigil.io.conform import STORED_TYPES, ConformError, conform_column
from mlvigil.io.tables import TableSource, open_table
from mlvigil.multivariate import MultivariateDetector
from mlvigil.profile import DatasetProfile, profile_table
from mlvigil.schema import ColumnType
from mlvigil.service.config import ModelConfig
from mlvigil.service.rows import performance_inputs
from mlvigil.service.segment_drift import segment_references
from mlvigil.service.versions_config import outcomes_of

__all__ = [
    "FileIdentity",
    "Reference",
    "build_reference",
    "conform_reference",
    "file_identity",
    "file_reference",
    "file_references",
]

_log = logging.getLogger("mlvigil.service")


@dataclass(frozen=True)
class Reference:
    """A model's reference and what was learned from it.

    Attributes
    ----------
    table
        The reference rows: monitored columns and target, in the schema's types.
    profile
        The profile of ``table``.
    prepared
        ``table`` prepared for exact drift: each column sorted or counted once, for
        every window.
    classes
        A classifier's classes (target and prediction values), or ``None``.
    learned_drift
        Per column, the drift method and limits learned from reference chunks.
    performance
        The model's performance options with baselines and limits from the reference.
    warnings
        Problems of the reference itself, for the start-up log and the model's API.
    estimator
        Estimates performance without labels (``checks.estimation``).
    multivariate
        Multivariate drift of the window against the reference (``checks.multivariate``).
    segments
        The reference prepared per frequent value of each segment column
        (``region=west``), for drift per segment.
    outcomes
        The schema's business outcomes, with limits learned from the reference's
        outcome columns where it has them (and an outcome has no bounds).
    """

    table: pa.Table
    profile: DatasetProfile
    prepared: PreparedReference
    classes: ClassSet | None = None
    learned_drift: LearnedDrift = field(default_factory=LearnedDrift)
    performance: PerformanceConfig | None = None
    warnings: tuple[str, ...] = ()
    estimator: PerformanceEstimator | None = None
    multivariate: MultivariateDetector | None = None
    segments: Mapping[str, PreparedReference] = field(default_factory=dict)
    outcomes: Mapping[str, Outcome] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The reference's columns."""
        return list(self.table.column_names)


def _wanted_types(config: ModelConfig) -> dict[str, ColumnType]:
    return {**config.column_types, config.schema.target: config.target_type}


def conform_reference(config: ModelConfig, source: TableSource, where: str) -> pa.Table:
    """The monitored columns (and target, timestamp) of ``source``, cast to the schema.

    Raises
    ------
    ConfigError
        When it has none of the monitored columns, or one cannot take its declared type.
    """
    wanted = _wanted_types(config)
    timestamp = config.schema.timestamp
    if timestamp in source.column_names:
        wanted[timestamp] = ColumnType.DATETIME
    wanted.update(dict.fromkeys(config.schema.outcomes, ColumnType.NUMERICAL))
    present = [c for c in wanted if c in source.column_names]
    if not any(c in config.column_types for c in present):
        raise ConfigError(
            f"{where} has none of the monitored columns {list(config.column_types)}; "
            f"its columns are {source.column_names[:20]}"
        )
    columns = {}
    for name in present:
        raw = source.column(name)
        kind = wanted[name]
        try:
            columns[name] = conform_column(raw, kind)
        except ConformError as error:
            raise ConfigError(
                f"{where}: column {name!r} holds {raw.type} values, which cannot be read as "
                f"{kind.value} ({STORED_TYPES[kind]}) as the schema declares: {error}"
            ) from None
    return pa.table(columns)


def reference_chunks(config: ModelConfig, table: pa.Table) -> tuple[list[Chunk], str | None]:
    """Reference chunks of a window's size, or none and the reason."""
    rows = config.reference_chunk_rows or config.window_rows
    if rows is not None:
        return size_chunks(table.num_rows, rows), None
    timestamp = config.schema.timestamp
    if config.window is not None and timestamp in table.column_names:
        return period_chunks(table.column(timestamp), config.window), None
    return [], (
        f"the reference has no {timestamp!r} column to cut into windows of {config.window}: "
        "set reference.chunk_rows to the rows of a typical window"
    )


def _classes(config: ModelConfig, table: pa.Table) -> ClassSet | None:
    performance = config.performance
    if performance is not None and performance.task == "regression":
        return None
    if config.schema.prediction_type == "numerical":
        return None
    schema = config.schema
    columns = [
        table.column(c) for c in (schema.target, schema.prediction) if c in table.column_names
    ]
    found = ClassSet.of_columns(*columns) if columns else None
    if found is not None and schema.probabilities:
        named = {found.canonical(name) for name in schema.probabilities}
        found = ClassSet.of([*found.classes, *named])
    return found


def _positive(performance: PerformanceConfig, classes: ClassSet | None, where: str) -> object:
    positive = performance.positive_label
    if classes is None or performance.task == "regression":
        return positive
    mapped = classes.canonical(positive)
    if len(classes) == 2 and mapped not in classes:
        raise ConfigError(
            f"{where}: checks.performance.positive_label {positive!r} is not one of the "
            f"reference's classes {list(classes.classes)}; set it to the positive class"
        )
    return mapped


def _drift(
    config: ModelConfig, table: pa.Table, chunks: Sequence[Chunk], reason: str | None, where: str
) -> LearnedDrift:
    drift = config.drift
    if drift is None or config.drift_thresholds != "learned":
        return LearnedDrift()
    if not chunks:
        raise ConfigError(f"{where}: learned drift thresholds need reference chunks: {reason}")
    types = _wanted_types(config)
    columns = [c for c in (config.drift_columns or types) if c in table.column_names]
    return learn_drift_limits(
        table, chunks, columns=columns, schema={c: types[c] for c in columns}, config=drift
    )


def _performance(
    config: ModelConfig,
    table: pa.Table,
    classes: ClassSet | None,
    chunks: Sequence[Chunk],
    reason: str | None,
    where: str,
) -> tuple[PerformanceConfig | None, list[str]]:
    performance = config.performance
    if performance is None:
        return None, []
    performance = replace(performance, positive_label=_positive(performance, classes, where))
    schema = config.schema
    mode = config.performance_thresholds
    if schema.target not in table.column_names or schema.prediction not in table.column_names:
        if mode == "learned":
            raise ConfigError(
                f"{where}: learned performance thresholds need the reference's "
                f"{schema.target!r} and {schema.prediction!r} columns"
            )
        return performance, []
    y_true, y_pred, extra = performance_inputs(config, table, schema.target, classes)
    measured = measure(performance, y_true, y_pred, **extra)
    missing = [c for c in schema.score_columns if c not in table.column_names]
    warnings = [
        f"the reference's {metric}: {why}"
        for metric, why in measured.problems.items()
        if not (missing and metric in ("roc_auc", "log_loss"))
    ]
    if missing and any(m in performance.metrics for m in ("roc_auc", "log_loss")):
        warnings.append(
            f"the reference has no {', '.join(missing)} column: roc_auc and log_loss have no "
            "baseline from it"
        )
    if mode == "fixed":
        baseline = {**measured.values, **performance.baseline}
        return replace(performance, baseline=baseline), warnings
    if not chunks:
        if mode == "learned":
            raise ConfigError(f"{where}: learned performance thresholds need chunks: {reason}")
        return performance, warnings  # auto: only the baselines given are judged

    def inputs(chunk: Chunk) -> tuple[list[object], list[object], dict[str, object]]:
        return performance_inputs(config, chunk.rows_of(table), schema.target, classes)

    # A metric with a baseline given is judged against it; the others by learned limits.
    learnable = tuple(m for m in performance.metrics if m not in performance.baseline)
    if not learnable:
        return performance, warnings
    limits = learn_performance_limits(replace(performance, metrics=learnable), chunks, inputs)
    return replace(performance, limits=limits), warnings


def _estimator(
    config: ModelConfig,
    table: pa.Table,
    classes: ClassSet | None,
    chunks: Sequence[Chunk],
    where: str,
) -> PerformanceEstimator | None:
    estimation = config.estimation
    if estimation is None:
        return None
    needed = [estimation.target, estimation.prediction]
    if estimation.task == "classification":
        needed += config.schema.score_columns
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise ConfigError(
            f"{where}: checks.estimation learns from the reference's labels and scores, and "
            f"the reference has no {', '.join(map(repr, missing))} column; add "
            f"{'it' if len(missing) == 1 else 'them'} to the reference or remove "
            "checks.estimation"
        )
    return PerformanceEstimator.fit(table, estimation, chunks=chunks or None, classes=classes)


def _multivariate(
    config: ModelConfig, table: pa.Table, chunks: Sequence[Chunk]
) -> MultivariateDetector | None:
    multivariate = config.multivariate
    if multivariate is None:
        return None
    types = config.column_types
    wanted = config.multivariate_columns or tuple(config.schema.features)
    columns = [c for c in wanted if c in table.column_names]
    return MultivariateDetector.fit(
        table,
        columns=columns,
        schema={c: types[c] for c in columns},
        config=multivariate,
        chunks=chunks or None,
    )


def build_reference(config: ModelConfig, table: pa.Table, *, where: str) -> Reference:
    """Everything learned once from a model's reference rows (already conformed).

    Raises
    ------
    ConfigError
        When learned thresholds are asked for but the reference cannot be chunked, or
        the positive label is not one of the reference's classes.
    """
    classes = _classes(config, table)
    chunks, reason = reference_chunks(config, table)
    learned = _drift(config, table, chunks, reason, where)
    performance, warnings = _performance(config, table, classes, chunks, reason, where)
    estimator = _estimator(config, table, classes, chunks, where)
    if estimator is not None:
        warnings.extend(f"estimation: {w}" for w in estimator.warnings)
    for warning in warnings:
        _log.warning("%s: %s", where, warning)
    outcomes = learn_outcome_limits(outcomes_of(config.schema.outcomes), table, chunks)
    # The outcomes were read to learn their limits; they are no data to drift-check.
    kept_out = (config.schema.timestamp, *config.schema.outcomes)
    data = table.drop_columns([c for c in kept_out if c in table.column_names])
    types = _wanted_types(config)
    return Reference(
        table=data,
        profile=profile_table(data),
        prepared=prepare_reference(
            data, schema={c: types[c] for c in data.column_names if c in types}
        ),
        classes=classes,
        learned_drift=learned,
        performance=performance,
        warnings=tuple(warnings),
        estimator=estimator,
        multivariate=_multivariate(config, data, chunks),
        segments=segment_references(config, data),
        outcomes=outcomes,
    )


FileIdentity = tuple[int, int]
"""A file's size and modification time (nanoseconds): a replaced file changes it."""


def file_identity(path: Path) -> FileIdentity | None:
    """``path``'s :data:`FileIdentity`, or ``None`` when it is not a readable file."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def _fingerprint(config: ModelConfig, path: Path) -> tuple[str, int, int, str]:
    """What a file reference's build depends on: the file's identity and the options."""
    status = path.stat()
    # The model's name only labels messages; every other option may change the build.
    return str(path.resolve()), status.st_size, status.st_mtime_ns, repr(replace(config, name=""))


def file_references(models: Mapping[str, ModelConfig], source: str) -> dict[str, Reference | None]:
    """Each model's reference file, read and learned from at start-up (``None``: none).

    Models whose reference is the same file, unchanged, with the same options share
    one build: a thousand models of one template cost one reference, in time and
    memory.

    Raises
    ------
    ConfigError
        As :func:`conform_reference` and :func:`build_reference` do, naming the model.
    """
    built: dict[tuple[str, int, int, str], Reference] = {}
    return {
        name: file_reference(config, f"{source}: models.{name}: reference", built)
        for name, config in models.items()
    }


def file_reference(
    config: ModelConfig, where: str, built: dict[tuple[str, int, int, str], Reference]
) -> Reference | None:
    """The model's reference file, read and learned from, or the same build in ``built``.

    ``built`` holds the builds so far by the file's identity and the options (see
    :func:`file_references`); a new build is added to it. ``None``: no reference file.
    """
    path = config.reference_path
    if path is None:
        return None
    where = f"{where} {path}"
    key = _fingerprint(config, path) if path.is_file() else None
    reference = built.get(key) if key is not None else None
    if reference is None:
        table = conform_reference(config, open_table(path), where)
        reference = build_reference(config, table, where=where)
        if key is not None:
            built[key] = reference
    else:
        for warning in reference.warnings:
            _log.warning("%s: %s", where, warning)
    return reference
