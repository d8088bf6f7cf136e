"""Drift between a reference and a current dataset, column by column.

Each column is read once, prepared once (sorted for numerical columns, counted
for categorical ones) and handed to its method; columns run in parallel threads
because the heavy steps (Parquet decoding, sorting, counting) release the GIL.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.drift_report import ColumnDrift, ColumnStatus, DriftReport
from mlvigil.checks.drift_rules import (
    apply_correction,
    base_result,
    choose_method,
    column_threshold,
    parse_column_type,
    untestable,
    with_result,
)
from mlvigil.exceptions import ColumnMismatchError, ConfigError, InputError
from mlvigil.io.tables import TableLike, TableSource, open_table
from mlvigil.schema import ColumnType, infer_column_type
from mlvigil.stats.correction import Correction, parse_correction
from mlvigil.stats.registry import get_method
from mlvigil.stats.samples import (
    CategoryCounts,
    DegenerateInputError,
    SortedSample,
    category_counts,
    value_counts,
)
from mlvigil.stats.selection import SMALL_SAMPLE_SIZE

if TYPE_CHECKING:
    from mlvigil.profile import DatasetProfile

__all__ = ["PROFILE_SUFFIX", "DriftConfig", "detect_drift"]

#: File suffix of saved profiles; such paths are read as profiles, not data.
PROFILE_SUFFIX = ".profile"


@dataclass(frozen=True)
class DriftConfig:
    """Options of a drift comparison; every field has a sensible default.

    Parameters
    ----------
    method
        Force this method on every column it applies to.
    type_methods
        Method per column type (``"numerical"``, ``"categorical"``, ``"boolean"``);
        a categorical method also covers boolean columns.
    column_methods
        Method per column; wins over ``type_methods`` and ``method``.
    threshold
        Threshold for every method (significance level or distance).
    column_thresholds
        Threshold per column; wins over ``threshold``.
    drift_share
        Share of drifted columns at which the dataset counts as drifted.
    correction
        Multiple-testing correction of p-values across columns
        (``"bonferroni"`` or ``"bh"``), or ``None``.
    small_sample_size
        Samples (the smaller side) up to this size get significance tests by default, larger
        ones get distances (see :mod:`mlvigil.stats.selection`).
    missing_rate_change
        Absolute change in a column's missing-value share that counts as a
        missing-rate signal (when also statistically significant).
    workers
        Threads comparing columns in parallel; default: one per CPU.

    Examples
    --------
    >>> DriftConfig(method="psi", drift_share=0.3).method
    'psi'
    >>> DriftConfig(method="nope")
    Traceback (most recent call last):
    ...
    mlvigil.exceptions.UnknownMethodError: unknown drift method 'nope'; choose one of: ...
    """

    method: str | None = None
    type_methods: Mapping[ColumnType | str, str] = field(default_factory=dict)
    column_methods: Mapping[str, str] = field(default_factory=dict)
    threshold: float | None = None
    column_thresholds: Mapping[str, float] = field(default_factory=dict)
    drift_share: float = 0.5
    correction: Correction | str | None = None
    small_sample_size: int = SMALL_SAMPLE_SIZE
    missing_rate_change: float = 0.05
    workers: int | None = None

    def __post_init__(self) -> None:
        for name in [self.method, *self.type_methods.values(), *self.column_methods.values()]:
            if name is not None:
                get_method(name)
        types = {parse_column_type("type_methods", k): v for k, v in self.type_methods.items()}
        object.__setattr__(self, "type_methods", types)
        if self.correction is not None:
            object.__setattr__(self, "correction", parse_correction(self.correction))
        if not 0.0 < self.drift_share <= 1.0:
            raise ConfigError(f"drift_share must be in (0, 1], got {self.drift_share}")
        for where, value in [("threshold", self.threshold), *self.column_thresholds.items()]:
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(
                    f"threshold for {where} must be a finite number >= 0, got {value}"
                )
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {self.workers}")


# ---------------------------------------------------------------- preparation


@dataclass(frozen=True, slots=True)
class _Side:
    """One side of one column, prepared for testing."""

    rows: int
    nulls: int
    infinite: int = 0
    sample: SortedSample | None = None
    counts: dict[Hashable, int] | None = None

    @property
    def size(self) -> int:
        if self.sample is not None:
            return len(self.sample)
        return sum(self.counts.values()) if self.counts else 0


def _nan_mask(values: pa.ChunkedArray) -> pa.ChunkedArray | None:
    return pc.is_nan(values) if pa.types.is_floating(values.type) else None


def _prepare_numerical(values: pa.ChunkedArray) -> _Side:
    rows, nulls = len(values), values.null_count
    present = pc.drop_null(values) if nulls else values
    array = present.cast(pa.float64()).to_numpy()
    finite = np.isfinite(array)
    infinite = 0
    if not finite.all():
        nans = int(np.isnan(array).sum())
        nulls += nans
        infinite = int((~finite).sum()) - nans
        array = array[finite]
    return _Side(rows, nulls, infinite, sample=SortedSample(np.sort(array)))


def _prepare_categorical(values: pa.ChunkedArray) -> _Side:
    rows = len(values)
    present = pc.drop_null(values)
    nan = _nan_mask(present)
    if nan is not None:
        present = present.filter(pc.invert(nan))
    if pa.types.is_dictionary(present.type):
        present = present.cast(present.type.value_type)
    return _Side(rows, rows - len(present), counts=value_counts(present))


def _family(kind: pa.DataType) -> str:
    if pa.types.is_dictionary(kind):
        return _family(kind.value_type)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_temporal(kind):
        return "datetime"
    if pa.types.is_null(kind):
        return "null"
    return "string"


# ---------------------------------------------------------------- one column


class _ColumnJob:
    """Everything needed to compare one column; :meth:`run` returns its result."""

    def __init__(
        self,
        name: str,
        reference: pa.ChunkedArray,
        current: pa.ChunkedArray,
        declared: ColumnType | None,
        config: DriftConfig,
    ) -> None:
        self.name = name
        self.reference = reference
        self.current = current
        self.config = config
        self.type = declared or infer_column_type(reference)
        if self.type is ColumnType.UNKNOWN:
            self.type = infer_column_type(current)

    def _base(
        self, status: ColumnStatus, message: str | None, ref: _Side, cur: _Side
    ) -> ColumnDrift:
        return base_result(self.config, self.name, self.type, status, message, ref, cur)

    def _unprepared(self, status: ColumnStatus, message: str) -> ColumnDrift:
        ref = _Side(len(self.reference), self.reference.null_count)
        cur = _Side(len(self.current), self.current.null_count)
        return self._base(status, message, ref, cur)

    def run(self) -> ColumnDrift:
        if len(self.reference) == 0 or len(self.current) == 0:
            side = "reference" if len(self.reference) == 0 else "current"
            return self._unprepared(ColumnStatus.EMPTY, f"{side} has no rows")
        if self.type in (ColumnType.DATETIME, ColumnType.TEXT):
            return self._unprepared(
                ColumnStatus.SKIPPED,
                f"{self.type.value} columns are not tested for drift; declare the column "
                "categorical or numerical in the schema to test it",
            )
        ref_family, cur_family = _family(self.reference.type), _family(self.current.type)
        if "null" not in (ref_family, cur_family) and ref_family != cur_family:
            if not self.type.is_categorical:
                return self._unprepared(
                    ColumnStatus.TYPE_MISMATCH,
                    f"reference holds {ref_family} values but current holds {cur_family}",
                )
            self.reference, self.current = (
                self.reference.cast(pa.string()),
                self.current.cast(pa.string()),
            )
        try:
            prepare = _prepare_categorical if self.type.is_categorical else _prepare_numerical
            ref, cur = prepare(self.reference), prepare(self.current)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            return self._unprepared(
                ColumnStatus.TYPE_MISMATCH, f"cannot read values as {self.type.value}: {error}"
            )
        return self._test(ref, cur)

    def _test(self, ref: _Side, cur: _Side) -> ColumnDrift:
        empty = untestable(ref, cur)
        if empty is not None:
            return self._base(*empty, ref, cur)
        counts = category_counts(ref.counts, cur.counts) if ref.counts is not None else None
        try:
            method = choose_method(
                self.config, self.name, self.type, min(ref.size, cur.size), counts
            )
        except ConfigError as error:
            return self._base(ColumnStatus.ERROR, str(error), ref, cur)
        status, messages = ColumnStatus.OK, []
        constant = self._constant_reference(ref, counts)
        if constant is not None:
            status = ColumnStatus.CONSTANT
            messages.append(constant)
        if ref.infinite or cur.infinite:
            status = ColumnStatus.INFINITE
            messages.append(
                f"{ref.infinite} reference and {cur.infinite} current infinite values "
                "excluded from the test"
            )
        data = (ref.counts, cur.counts) if counts is not None else (ref.sample, cur.sample)
        try:
            result = method(*data, threshold=column_threshold(self.config, self.name))
        except DegenerateInputError as error:
            if self.type is not ColumnType.NUMERICAL:
                return self._base(ColumnStatus.ERROR, str(error), ref, cur)
            # A constant reference has no scale; the KS test still compares the two.
            reason = "a constant reference" if constant else str(error)
            messages.append(f"{method.name} is undefined on {reason}; compared with ks instead")
            result = get_method("ks")(*data, threshold=column_threshold(self.config, self.name))
        if result.note:
            messages.append(result.note)
        return with_result(self._base(status, "; ".join(messages) or None, ref, cur), result)

    @staticmethod
    def _constant_reference(ref: _Side, counts: CategoryCounts | None) -> str | None:
        if ref.sample is not None and ref.sample.is_constant:
            return f"reference is constant ({ref.sample.values[0]:g})"
        if counts is not None and int((counts.reference > 0).sum()) == 1:
            return "reference holds a single category"
        return None


# ---------------------------------------------------------------- the report


def _is_profile(data: object) -> bool:
    if isinstance(data, str | Path):
        return Path(data).suffix.lower() == PROFILE_SUFFIX
    return type(data).__name__ == "DatasetProfile"


def _as_profile(data: TableLike) -> DatasetProfile:
    # Comparing a profile with raw data profiles the data: both sides must be alike.
    from mlvigil.profile import DatasetProfile, profile_table

    if isinstance(data, DatasetProfile):
        return data
    if _is_profile(data):
        return DatasetProfile.load(data)
    return profile_table(data)


def _resolve_columns(
    reference: TableSource, current: TableSource, columns: Sequence[str] | None
) -> list[str]:
    ref_names, cur_names = reference.column_names, current.column_names
    if columns is not None:
        missing = [c for c in columns if c not in ref_names or c not in cur_names]
        if missing:
            where = [f"{c!r} ({'reference' if c not in ref_names else 'current'})" for c in missing]
            raise InputError(f"columns not found: {', '.join(where)}")
        return list(dict.fromkeys(columns))
    if set(ref_names) != set(cur_names):
        raise ColumnMismatchError(
            [c for c in ref_names if c not in cur_names],
            [c for c in cur_names if c not in ref_names],
        )
    return list(ref_names)


def detect_drift(
    reference: TableLike,
    current: TableLike,
    *,
    columns: Sequence[str] | None = None,
    schema: Mapping[str, ColumnType | str] | None = None,
    config: DriftConfig | None = None,
    on_column: Callable[[ColumnDrift], None] | None = None,
) -> DriftReport:
    """Compare every column of ``current`` with ``reference``.

    Parameters
    ----------
    reference, current
        CSV or Parquet paths, or pyarrow / pandas / polars tables; or saved
        profiles (``*.profile`` paths or :class:`~mlvigil.profile.DatasetProfile`),
        compared with :func:`~mlvigil.profile.profile_drift` (the other side is
        profiled if it is data; methods that need raw values report an error).
    columns
        Compare only these columns. Without it, both sides must have the same
        columns.
    schema
        Column types that override inference, e.g. ``{"zip": "categorical"}``.
    config
        Methods, thresholds and the dataset rule; see :class:`DriftConfig`.
    on_column
        Called with each column's result as soon as it is ready (progress bars).

    Returns
    -------
    DriftReport
        Per-column results in table order, and the dataset verdict. Columns that
        cannot be tested get an explicit status and message; the report always
        completes.

    Raises
    ------
    InputError
        When an input cannot be read, or the columns do not match.

    Examples
    --------
    >>> import pyarrow as pa
    >>> reference = pa.table({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "c": list("aabbc")})
    >>> current = pa.table({"x": [6.0, 7.0, 8.0, 9.0, 10.0], "c": list("aabbc")})
    >>> report = detect_drift(reference, current)
    >>> report["x"].method, report["x"].drifted, report["c"].drifted
    ('ks', True, False)
    >>> report.drift_share, report.dataset_drift
    (0.5, True)
    """
    if _is_profile(reference) or _is_profile(current):
        from mlvigil.profile import profile_drift

        return profile_drift(
            _as_profile(reference),
            _as_profile(current),
            columns=columns,
            schema=schema,
            config=config,
        )
    config = config or DriftConfig()
    declared = {
        name: parse_column_type(f"the schema of column {name!r}", kind)
        for name, kind in (schema or {}).items()
    }
    ref_source, cur_source = open_table(reference), open_table(current)
    names = _resolve_columns(ref_source, cur_source, columns)
    unknown = sorted(
        (set(declared) | set(config.column_methods) | set(config.column_thresholds)) - set(names)
    )
    if unknown:
        raise ConfigError(f"options name columns that are not compared: {', '.join(unknown)}")

    def compare(name: str) -> ColumnDrift:
        job = _ColumnJob(
            name, ref_source.column(name), cur_source.column(name), declared.get(name), config
        )
        result = job.run()
        if on_column is not None:
            on_column(result)
        return result

    workers = config.workers or os.cpu_count() or 1
    if workers == 1 or len(names) == 1:
        results = [compare(name) for name in names]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(compare, names))
    correction = parse_correction(config.correction) if config.correction is not None else None
    return DriftReport(
        columns=tuple(apply_correction(results, correction)),
        drift_share_threshold=config.drift_share,
        correction=correction,
    )
