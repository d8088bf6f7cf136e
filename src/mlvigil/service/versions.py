"""A window's model versions: each one's results, the comparisons, the canary verdicts.

When a window holds rows of two or more versions (the records' ``model_version``),
each version gets its own results of every check (performance, serving, business
outcomes, drift, quality: ``each_version`` in :mod:`mlvigil.service.evaluation`), and
every version but the baseline is compared with it (:mod:`mlvigil.experiments`), with a
canary verdict when guards are configured. Results about a version carry the segment
``model_version=<version>``, as a segment value's results carry theirs: one result
type, so they are stored, exported as gauges (``segment`` label), alerted on and
drawn like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks._common import error_result
from mlvigil.checks.classes import ClassSet
from mlvigil.checks.performance import PerformanceConfig
from mlvigil.checks.result import CheckKind, CheckResult, Severity
from mlvigil.exceptions import InputError
from mlvigil.experiments import (
    Arm,
    CanaryVerdict,
    Comparison,
    ComparisonConfig,
    Labelled,
    Paired,
    compare_arms,
    judge_canary,
    pair,
)
from mlvigil.io.conform import as_category_text
from mlvigil.service.config import ERROR_COLUMN, VERSION_COLUMN, ModelConfig
from mlvigil.service.rows import performance_inputs
from mlvigil.service.store import LABEL_COLUMN
from mlvigil.service.versions_config import VersionsConfig

__all__ = [
    "SHADOW",
    "VERSION_COLUMN",
    "canary_between",
    "compare_versions",
    "served_rows",
    "version_results",
    "versions_of",
]

#: The experiment arm whose rows were scored but not served (a shadow deployment).
SHADOW = "shadow"


def served_rows(config: ModelConfig, table: pa.Table) -> pa.Table:
    """``table`` without the shadow arm's rows: what users were actually served.

    Every check of the window reads these; the versions' comparison reads every row.
    """
    arm = config.schema.experiment_arm
    if arm is None or arm not in table.column_names:
        return table
    shadow = pc.fill_null(pc.equal(table.column(arm), SHADOW), False)
    return table.filter(pc.invert(shadow)) if pc.any(shadow).as_py() else table


def version_segment(version: str) -> str:
    """The segment of a version's results: ``model_version=<version>``."""
    return f"{VERSION_COLUMN}={version}"


def versions_of(table: pa.Table) -> list[tuple[str, int]]:
    """The versions in ``table`` with their rows, most rows first (then by name)."""
    if VERSION_COLUMN not in table.column_names:
        return []
    counts = pc.value_counts(table.column(VERSION_COLUMN)).to_pylist()
    present = [(c["values"], int(c["counts"])) for c in counts if c["values"] is not None]
    return sorted(present, key=lambda entry: (-entry[1], entry[0]))


def rows_of(table: pa.Table, version: str) -> pa.Table:
    """The rows of one version."""
    return table.filter(pc.equal(table.column(VERSION_COLUMN), version))


def _floats(values: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(
        pc.fill_null(values.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    )


def _values(config: ModelConfig, column: pa.ChunkedArray, classes: ClassSet | None) -> Any:
    """Predictions (or labels) as compared: class text for classes, else floats."""
    if config.versions is not None and config.versions.comparison.categorical_predictions:
        mapped = classes.map_column(column) if classes else as_category_text(column)
        return mapped.to_pylist()
    return _floats(column)


def _arm(
    config: ModelConfig,
    performance: PerformanceConfig | None,
    version: str,
    rows: pa.Table,
    classes: ClassSet | None,
) -> Arm:
    """One version's rows, as the comparison reads them."""
    schema = config.schema
    labelled = None
    if performance is not None and rows.column(LABEL_COLUMN).null_count < rows.num_rows:
        truth, predicted, extra = performance_inputs(config, rows, LABEL_COLUMN, classes)
        labelled = Labelled(
            truth,
            predicted,
            score=extra.get("y_score"),
            probabilities=extra.get("probabilities"),
            classes=extra.get("classes"),
        )
    predictions = _values(config, rows.column(schema.prediction), classes)
    return Arm(
        version,
        rows.num_rows,
        labelled,
        predictions=predictions,
        latency_ms=_floats(rows.column("latency_ms"))
        if "latency_ms" in rows.column_names
        else None,
        outcomes={c: _floats(rows.column(c)) for c in schema.outcomes if c in rows.column_names},
        errors=_floats(rows.column(ERROR_COLUMN)) if ERROR_COLUMN in rows.column_names else None,
    )


def compare_versions(
    config: ModelConfig,
    versions: VersionsConfig,
    table: pa.Table,
    baseline: str,
    candidate: str,
    *,
    performance: PerformanceConfig | None,
    classes: ClassSet | None,
) -> Comparison:
    """``candidate``'s rows of ``table`` against ``baseline``'s (paired where they share ids)."""
    rows = [rows_of(table, version) for version in (baseline, candidate)]
    arms = [
        _arm(config, performance, v, r, classes)
        for v, r in zip((baseline, candidate), rows, strict=True)
    ]
    comparison = versions.comparison
    if performance is not comparison.performance:
        comparison = replace(comparison, performance=performance)
    paired = _paired(config, comparison, rows[0], rows[1], classes)
    return compare_arms(comparison, arms[0], arms[1], paired=paired)


def _paired(
    config: ModelConfig,
    comparison: ComparisonConfig,
    baseline: pa.Table,
    candidate: pa.Table,
    classes: ClassSet | None,
) -> Paired | None:
    """Both versions' predictions of the same ids (a shadow deployment), compared row by row.

    ``None`` unless they share at least ``min_rows`` ids.
    """
    id_column = config.schema.id
    shared = pc.sum(pc.is_in(candidate.column(id_column), value_set=baseline.column(id_column)))
    if (shared.as_py() or 0) < comparison.min_rows:
        return None
    labelled = baseline.filter(pc.is_valid(baseline.column(LABEL_COLUMN)))
    prediction = config.schema.prediction
    return pair(
        "classification" if comparison.categorical_predictions else "regression",
        _ids_and(config, baseline, baseline.column(prediction), classes),
        _ids_and(config, candidate, candidate.column(prediction), classes),
        _ids_and(config, labelled, labelled.column(LABEL_COLUMN), classes),
        confidence=comparison.confidence,
    )


def _ids_and(
    config: ModelConfig, rows: pa.Table, values: pa.ChunkedArray, classes: ClassSet | None
) -> tuple[list[Any], Any]:
    return rows.column(config.schema.id).to_pylist(), _values(config, values, classes)


def version_results(
    config: ModelConfig,
    versions: VersionsConfig,
    table: pa.Table,
    *,
    performance: PerformanceConfig | None,
    classes: ClassSet | None,
    each_version: Callable[[pa.Table], list[CheckResult]],
    window_start: datetime,
) -> list[CheckResult]:
    """Each version's results (``each_version`` of its rows), then the comparisons.

    Nothing when the window holds one version or none: its results are the window's.
    """
    present = versions_of(table)
    if len(present) < 2:
        return []
    results: list[CheckResult] = []
    for version, _ in present:
        segment = version_segment(version)
        results.extend(replace(r, segment=segment) for r in each_version(rows_of(table, version)))
    names = [version for version, _ in present]
    baseline = versions.baseline or names[0]
    if baseline not in names:
        message = (
            f"the baseline version {baseline!r} has no rows in the window of "
            f"{window_start.isoformat()} (versions: {', '.join(names)})"
        )
        results.append(
            error_result(CheckKind.COMPARISON, "versions", None, message, severity=Severity.WARNING)
        )
        return results
    for candidate in names:
        if candidate == baseline:
            continue
        comparison = compare_versions(
            config, versions, table, baseline, candidate, performance=performance, classes=classes
        )
        found = comparison.results()
        if versions.guards:
            verdict = judge_canary(
                comparison, versions.guards, alpha=versions.alpha, correction=versions.correction
            )
            found.append(verdict.result())
        segment = version_segment(candidate)
        results.extend(replace(r, segment=segment) for r in found)
    return results


def canary_between(
    config: ModelConfig,
    table: pa.Table,
    reference_performance: PerformanceConfig | None,
    classes: ClassSet | None,
    *,
    baseline: str,
    candidate: str,
) -> tuple[Comparison, CanaryVerdict]:
    """The canary verdict of ``candidate`` against ``baseline`` on ``table``'s rows.

    Raises
    ------
    InputError
        When the model has no canary guards, or a version has no rows in ``table``.
    """
    versions = config.versions
    if versions is None or not versions.guards:
        raise InputError(
            f"model {config.name!r} has no canary guards: add checks.versions.canary.guards "
            "to its section of mlvigil.yaml"
        )
    present = dict(versions_of(table))
    missing = [v for v in (baseline, candidate) if v not in present]
    if missing:
        shown = ", ".join(f"{v} ({n} rows)" for v, n in present.items()) or "none"
        raise InputError(f"no rows of version {' or '.join(map(repr, missing))}; versions: {shown}")
    performance = reference_performance or config.performance
    comparison = compare_versions(
        config, versions, table, baseline, candidate, performance=performance, classes=classes
    )
    verdict = judge_canary(
        comparison, versions.guards, alpha=versions.alpha, correction=versions.correction
    )
    return comparison, verdict
