"""A model's rows as the performance checks take them: labels, predictions, scores.

One function serves a window (its labels joined from the store) and the reference (its
target column), so both are measured the same way: classes as canonical text mapped
onto the reference's classes, scores as floats (a missing score is NaN).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.classes import ClassSet
from mlvigil.io.conform import as_category_text, category_text
from mlvigil.service.config import ModelConfig

__all__ = ["PerformanceInputs", "performance_inputs"]

PerformanceInputs = tuple[list[Any], list[Any], dict[str, Any]]
"""Labels, predictions, and the other keyword arguments of ``measure``."""


def _floats(values: pa.ChunkedArray) -> list[float]:
    return list(pc.fill_null(values.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False))


def _classes(values: pa.ChunkedArray, classes: ClassSet | None) -> list[Any]:
    mapped = classes.map_column(values) if classes is not None else as_category_text(values)
    return list(mapped.to_pylist())


def performance_inputs(
    config: ModelConfig, table: pa.Table, label_column: str, classes: ClassSet | None
) -> PerformanceInputs:
    """The labelled rows of ``table`` (whose labels are in ``label_column``), ready to measure.

    Parameters
    ----------
    config
        The model: task, prediction and score columns.
    table
        Rows with the model's columns.
    label_column
        The column holding each row's label (null when it has none).
    classes
        The reference's classes, onto which labels and predictions are mapped.
    """
    schema = config.schema
    labelled = table.filter(pc.is_valid(table.column(label_column)))
    labels, predictions = labelled.column(label_column), labelled.column(schema.prediction)
    if config.performance is not None and config.performance.task == "regression":
        return _floats(labels), _floats(predictions), {}
    extra: dict[str, Any] = {"classes": classes}
    if schema.probabilities:
        extra["probabilities"] = {
            classes.canonical(name) if classes is not None else category_text(name): _floats(
                labelled.column(column)
            )
            for name, column in schema.probabilities.items()
            if column in labelled.column_names
        } or None
    elif schema.score is not None and schema.score in labelled.column_names:
        extra["y_score"] = _floats(labelled.column(schema.score))
    return _classes(labels, classes), _classes(predictions, classes), extra
