"""Drift per segment: each frequent value of a segment column against its reference slice.

A shift confined to one region (``region=west``) can leave the whole window looking
fine. For each of the schema's segment columns, the reference's most frequent values
are prepared once (:func:`segment_references`); in each window, every such value with
enough rows on both sides is compared with its own slice of the reference
(:func:`segment_drift`). Results carry ``segment="region=west"``, so alert rules can
scope to a segment. Segments are judged by each method's fixed threshold (limits
learned on whole-window chunks do not fit a slice's size), with the p-values of each
slice corrected for its many columns (Bonferroni, unless the drift section names a
correction): several slices of a window are tested every time, and uncorrected they
would raise a false alarm on many healthy windows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.drift import DriftConfig, PreparedReference, detect_drift, prepare_reference
from mlvigil.checks.drift_results import drift_check_results
from mlvigil.checks.result import CheckResult
from mlvigil.io.conform import as_category_text
from mlvigil.schema import ColumnType
from mlvigil.service.config import ModelConfig

__all__ = ["MIN_SEGMENT_ROWS", "segment_drift", "segment_references"]

#: Rows a segment value needs on each side before its drift is tested.
MIN_SEGMENT_ROWS = 50


def _key(column: str, value: object) -> str:
    return f"{column}={value}"


def _text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return as_category_text(values)


def _frequent(values: pa.ChunkedArray, limit: int) -> list[str]:
    counts = pc.value_counts(_text(values)).to_pylist()
    counts = [c for c in counts if c["values"] is not None and c["counts"] >= MIN_SEGMENT_ROWS]
    counts.sort(key=lambda c: (-int(c["counts"]), str(c["values"])))
    return [str(c["values"]) for c in counts[:limit]]


def _columns(config: ModelConfig, table: pa.Table) -> list[str]:
    types = config.column_types
    wanted = config.drift_columns or tuple(types)
    return [c for c in wanted if c in table.column_names]


def segment_references(config: ModelConfig, table: pa.Table) -> dict[str, PreparedReference]:
    """The reference prepared per frequent value of each segment column (``column=value``)."""
    limit = config.segment_drift_values
    if config.drift is None or limit == 0:
        return {}
    types = config.column_types
    columns = _columns(config, table)
    prepared = {}
    for segment in config.schema.segments:
        if segment not in table.column_names:
            continue
        keys = _text(table.column(segment))
        for value in _frequent(table.column(segment), limit):
            rows = table.filter(pc.equal(keys, value)).select(columns)
            prepared[_key(segment, value)] = prepare_reference(
                rows, schema={c: types[c] for c in columns}
            )
    return prepared


def segment_drift(
    config: ModelConfig,
    drift: DriftConfig,
    references: Mapping[str, PreparedReference],
    table: pa.Table,
    current: pa.Table,
) -> list[CheckResult]:
    """Drift of each segment value of a window that its reference slice has, as results.

    ``table`` is the window's rows (for the segment columns), ``current`` the same rows'
    compared columns as the whole window's drift reads them.
    """
    types: Mapping[str, ColumnType] = config.column_types
    if drift.correction is None:
        drift = replace(drift, correction="bonferroni")
    results: list[CheckResult] = []
    for segment in config.schema.segments:
        if segment not in table.column_names:
            continue
        keys = _text(table.column(segment))
        for value in _frequent(table.column(segment), config.segment_drift_values):
            reference = references.get(_key(segment, value))
            if reference is None:
                continue  # a value the reference hardly has: nothing to compare with
            columns = [c for c in reference.column_names if c in current.column_names]
            rows = current.filter(pc.equal(keys, value)).select(columns)
            report = detect_drift(
                reference, rows, columns=columns, schema={c: types[c] for c in columns},
                config=drift,
            )  # fmt: skip
            key = _key(segment, value)
            results.extend(replace(r, segment=key) for r in drift_check_results(report))
    return results
