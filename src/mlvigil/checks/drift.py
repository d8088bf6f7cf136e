"""Drift between a reference and a current dataset, column by column.

Each column is read once, prepared once (sorted for numerical columns, counted
for categorical ones) and handed to its method; columns run in parallel threads
because the heavy steps (Parquet decoding, sorting, counting) release the GIL.

A reference compared with many current tables (the chunks of a file, the windows
of a service) is prepared once: :func:`prepare_reference` returns a
:class:`PreparedReference` that keeps each column's prepared side, and
:func:`detect_drift` accepts it in place of the reference.
"""

from __future__ import annotations

import math
import os
import threading
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
from mlvigil.io.tables import ArrowSource, ParquetSource, TableLike, TableSource, open_table
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

__all__ = [
    "PROFILE_SUFFIX",
    "DriftConfig",
    "PreparedReference",
    "detect_drift",
    "prepare_reference",
]

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
    ordered = np.sort(array)
    ordered.flags.writeable = False  # a prepared reference shares it between comparisons
    return _Side(rows, nulls, infinite, sample=SortedSample(ordered))


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


#: How a side is prepared: ``(categorical, as_text)``. Categorical sides are counted
#: (as text when the other side holds another kind of value), the others sorted.
_Preparation = tuple[bool, bool]

_READ_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError)


def _prepare(values: pa.ChunkedArray, how: _Preparation) -> _Side:
    categorical, as_text = how
    if as_text:
        values = values.cast(pa.string())
    return _prepare_categorical(values) if categorical else _prepare_numerical(values)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a comparison needs to know of a reference column before preparing it."""

    rows: int
    nulls: int
    arrow_type: pa.DataType
    inferred: ColumnType


class _ReferenceColumn:
    """One reference column: read on first use, then prepared once per way it is compared.

    Only the prepared sides are kept; the raw values are dropped once a side exists
    (or at once for types that are not tested), and read again only if the column is
    ever prepared another way.
    """

    def __init__(self, name: str, source: TableSource, declared: ColumnType | None) -> None:
        self.name = name
        self._source = source
        self._declared = declared
        self._lock = threading.Lock()
        self._values: pa.ChunkedArray | None = None
        self._facts: _Facts | None = None
        self._sides: dict[_Preparation, _Side | str] = {}

    def prepared(
        self, plan: Callable[[_Facts], _Preparation | None]
    ) -> tuple[_Facts, _Side | str | None]:
        """The column's facts and its side prepared as ``plan`` decides from them.

        ``plan`` returns ``None`` when the column is not tested; the side is then
        ``None``. A side that cannot be prepared is the reason, as text.
        """
        with self._lock:
            if self._facts is None:
                values = self._source.column(self.name)
                self._facts = _Facts(
                    len(values), values.null_count, values.type, infer_column_type(values)
                )
                kind = self._declared or self._facts.inferred
                skipped = kind in (ColumnType.DATETIME, ColumnType.TEXT)
                self._values = None if skipped else values
            how = plan(self._facts)
            if how is None:
                return self._facts, None
            side = self._sides.get(how)
            if side is None:
                values = (
                    self._values if self._values is not None else self._source.column(self.name)
                )
                self._values = None
                try:
                    side = _prepare(values, how)
                except _READ_ERRORS as error:
                    side = str(error)
                self._sides[how] = side
            return self._facts, side


class PreparedReference:
    """A reference whose columns are read and prepared once, for many comparisons.

    Make one with :func:`prepare_reference` and pass it to
    :func:`detect_drift` as the reference, as often as needed. Each column is read
    and prepared (sorted, or counted) the first time a comparison needs it and kept
    in that form; later comparisons reuse it. Results are the same as with the raw
    reference. It is safe to share between threads.
    """

    def __init__(self, source: TableSource, schema: Mapping[str, ColumnType]) -> None:
        # Use prepare_reference(), which opens the input and checks the schema.
        self._source = source
        self._schema = dict(schema)
        self._lock = threading.Lock()
        self._columns: dict[str, _ReferenceColumn] = {}

    @property
    def column_names(self) -> list[str]:
        """Names of the reference's columns, in order."""
        return self._source.column_names

    @property
    def num_rows(self) -> int:
        """Rows of the reference."""
        return self._source.num_rows

    @property
    def schema(self) -> Mapping[str, ColumnType]:
        """Column types declared when it was prepared (the others are inferred)."""
        return dict(self._schema)

    def _column(self, name: str) -> _ReferenceColumn:
        with self._lock:
            column = self._columns.get(name)
            if column is None:
                column = _ReferenceColumn(name, self._source, self._schema.get(name))
                self._columns[name] = column
            return column

    def _table(self) -> pa.Table:
        # The raw reference, for comparisons with profiles.
        return self.table(self.column_names)

    def table(self, columns: Sequence[str]) -> pa.Table:
        """Some of the reference's columns as read (not prepared), e.g. to cut in chunks."""
        return pa.table({name: self._source.column(name) for name in columns})

    def __repr__(self) -> str:
        return (
            f"PreparedReference({self.num_rows} rows, {len(self.column_names)} columns, "
            f"{len(self._columns)} prepared)"
        )


def _is_source(data: object) -> bool:
    # A TableSource (from mlvigil.io.open_table, or the caller's own); Arrow tables have
    # the same attributes but are opened, which normalises their column types.
    if isinstance(data, ArrowSource | ParquetSource):
        return True
    if isinstance(data, pa.Table | pa.RecordBatch):
        return False
    return all(hasattr(data, name) for name in ("column_names", "num_rows", "column"))


def _open(data: TableLike) -> TableSource:
    if _is_source(data):
        source: TableSource = data
        return source
    return open_table(data)


def _declared_types(
    where: str, schema: Mapping[str, ColumnType | str] | None
) -> dict[str, ColumnType]:
    return {
        name: parse_column_type(f"the {where} of column {name!r}", kind)
        for name, kind in (schema or {}).items()
    }


def prepare_reference(
    reference: TableLike, *, schema: Mapping[str, ColumnType | str] | None = None
) -> PreparedReference:
    """Open a reference to compare many current tables with, preparing each column once.

    Parameters
    ----------
    reference
        A CSV or Parquet path, a pyarrow / pandas / polars table, or a
        :class:`~mlvigil.io.TableSource` such as :func:`~mlvigil.io.open_table` returns
        (not a profile: profiles are prepared already).
    schema
        Column types that override inference, e.g. ``{"zip": "categorical"}``; a
        ``schema`` given to :func:`detect_drift` wins over it.

    Returns
    -------
    PreparedReference
        Nothing is read but the column names (and a CSV file, which is parsed
        whole); columns are read and prepared when first compared.

    Raises
    ------
    InputError
        When the reference cannot be read, or is a profile.
    ConfigError
        When the schema names a column the reference lacks, or an unknown type.

    Examples
    --------
    >>> import pyarrow as pa
    >>> reference = prepare_reference(pa.table({"x": [1.0, 2.0, 3.0, 4.0, 5.0]}))
    >>> [detect_drift(reference, pa.table({"x": [s + 1.0, s + 2.0, s + 3.0]}))["x"].drifted
    ...  for s in (0.0, 10.0)]
    [False, True]
    """
    if _is_profile(reference):
        raise InputError(
            "prepare_reference needs data, not a profile: a profile is compared as it is "
            "(pass it to detect_drift)"
        )
    source = _open(reference)
    declared = _declared_types("schema", schema)
    unknown = [name for name in declared if name not in source.column_names]
    if unknown:
        raise ConfigError(
            f"the schema names columns the reference does not have: {', '.join(unknown)}"
        )
    return PreparedReference(source, declared)


# ---------------------------------------------------------------- one column


class _ColumnJob:
    """Everything needed to compare one column; :meth:`run` returns its result."""

    def __init__(
        self,
        name: str,
        reference: _ReferenceColumn,
        current: pa.ChunkedArray,
        declared: ColumnType | None,
        config: DriftConfig,
    ) -> None:
        self.name = name
        self.reference = reference
        self.current = current
        self.declared = declared
        self.config = config
        self.type = ColumnType.UNKNOWN
        self.facts = _Facts(0, 0, pa.null(), ColumnType.UNKNOWN)
        self.as_text = False
        # Set when the column ends before any test (empty, skipped, mismatched).
        self.outcome: ColumnDrift | None = None

    def _base(
        self, status: ColumnStatus, message: str | None, ref: _Side, cur: _Side
    ) -> ColumnDrift:
        return base_result(self.config, self.name, self.type, status, message, ref, cur)

    def _unprepared(self, status: ColumnStatus, message: str) -> ColumnDrift:
        ref = _Side(self.facts.rows, self.facts.nulls)
        cur = _Side(len(self.current), self.current.null_count)
        return self._base(status, message, ref, cur)

    def _plan(self, facts: _Facts) -> _Preparation | None:
        """Decide how to prepare both sides, or end the column (:attr:`outcome`)."""
        self.facts = facts
        self.type = self.declared or facts.inferred
        if self.type is ColumnType.UNKNOWN:
            self.type = infer_column_type(self.current)
        if facts.rows == 0 or len(self.current) == 0:
            side = "reference" if facts.rows == 0 else "current"
            self.outcome = self._unprepared(ColumnStatus.EMPTY, f"{side} has no rows")
            return None
        if self.type in (ColumnType.DATETIME, ColumnType.TEXT):
            self.outcome = self._unprepared(
                ColumnStatus.SKIPPED,
                f"{self.type.value} columns are not tested for drift; declare the column "
                "categorical or numerical in the schema to test it",
            )
            return None
        ref_family, cur_family = _family(facts.arrow_type), _family(self.current.type)
        # Categories of different kinds (1 and "1") are compared as text.
        self.as_text = "null" not in (ref_family, cur_family) and ref_family != cur_family
        if self.as_text and not self.type.is_categorical:
            self.outcome = self._unprepared(
                ColumnStatus.TYPE_MISMATCH,
                f"reference holds {ref_family} values but current holds {cur_family}",
            )
            return None
        return self.type.is_categorical, self.as_text

    def run(self) -> ColumnDrift:
        _, ref = self.reference.prepared(self._plan)
        if self.outcome is not None:
            return self.outcome
        assert ref is not None
        if isinstance(ref, str):
            return self._cannot_read(ref)
        try:
            cur = _prepare(self.current, (self.type.is_categorical, self.as_text))
        except _READ_ERRORS as error:
            return self._cannot_read(str(error))
        return self._test(ref, cur)

    def _cannot_read(self, reason: str) -> ColumnDrift:
        return self._unprepared(
            ColumnStatus.TYPE_MISMATCH, f"cannot read values as {self.type.value}: {reason}"
        )

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
    if isinstance(data, PreparedReference):
        return profile_table(data._table())
    if _is_source(data):
        return profile_table(pa.table({name: data.column(name) for name in data.column_names}))
    return profile_table(data)


def _resolve_columns(
    ref_names: Sequence[str],
    cur_names: Sequence[str],
    columns: Sequence[str] | None,
    exclude: Sequence[str] = (),
) -> list[str]:
    unknown = [c for c in exclude if c not in ref_names and c not in cur_names]
    if unknown:
        raise InputError(
            f"exclude names columns that neither side has: {', '.join(map(repr, unknown))}"
        )
    left_out = set(exclude)
    if columns is not None:
        missing = [c for c in columns if c not in ref_names or c not in cur_names]
        if missing:
            where = [f"{c!r} ({'reference' if c not in ref_names else 'current'})" for c in missing]
            raise InputError(f"columns not found: {', '.join(where)}")
        return [c for c in dict.fromkeys(columns) if c not in left_out]
    ref_kept = [c for c in ref_names if c not in left_out]
    cur_kept = [c for c in cur_names if c not in left_out]
    if set(ref_kept) != set(cur_kept):
        raise ColumnMismatchError(
            [c for c in ref_kept if c not in cur_kept],
            [c for c in cur_kept if c not in ref_kept],
        )
    return ref_kept


def detect_drift(
    reference: TableLike,
    current: TableLike,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    schema: Mapping[str, ColumnType | str] | None = None,
    config: DriftConfig | None = None,
    on_column: Callable[[ColumnDrift], None] | None = None,
) -> DriftReport:
    """Compare every column of ``current`` with ``reference``.

    Parameters
    ----------
    reference, current
        CSV or Parquet paths, pyarrow / pandas / polars tables, or
        :class:`~mlvigil.io.TableSource` objects (:func:`~mlvigil.io.open_table`);
        or saved profiles (``*.profile`` paths or
        :class:`~mlvigil.profile.DatasetProfile`), compared with
        :func:`~mlvigil.profile.profile_drift` (the other side is profiled if it is
        data; methods that need raw values report an error). ``reference`` may be a
        :class:`PreparedReference` (:func:`prepare_reference`), which prepares each
        column once for many comparisons.
    columns
        Compare only these columns. Without it, both sides must have the same
        columns (those in ``exclude`` aside).
    exclude
        Leave these columns out (ids, timestamps); each must exist on a side.
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
    >>> [c.column for c in detect_drift(reference, current, exclude=["c"])]
    ['x']
    """
    excluded = list(exclude or ())
    if _is_profile(reference) or _is_profile(current):
        from mlvigil.profile import profile_drift

        ref_profile, cur_profile = _as_profile(reference), _as_profile(current)
        if excluded:
            columns = _resolve_columns(
                list(ref_profile.columns), list(cur_profile.columns), columns, excluded
            )
        return profile_drift(
            ref_profile, cur_profile, columns=columns, schema=schema, config=config
        )
    config = config or DriftConfig()
    declared = _declared_types("schema", schema)
    if isinstance(reference, PreparedReference):
        prepared: PreparedReference | None = reference
        ref_names = reference.column_names
    else:
        prepared = None
        ref_source = _open(reference)
        ref_names = ref_source.column_names
    cur_source = _open(current)
    names = _resolve_columns(ref_names, cur_source.column_names, columns, excluded)
    unknown = sorted(
        (set(declared) | set(config.column_methods) | set(config.column_thresholds)) - set(names)
    )
    if unknown:
        raise ConfigError(f"options name columns that are not compared: {', '.join(unknown)}")
    if prepared is not None:
        declared = {**{n: t for n, t in prepared.schema.items() if n in names}, **declared}

    def reference_column(name: str) -> _ReferenceColumn:
        if prepared is not None:
            return prepared._column(name)
        # Used once: nothing outlives the comparison of its column.
        return _ReferenceColumn(name, ref_source, declared.get(name))

    def compare(name: str) -> ColumnDrift:
        job = _ColumnJob(
            name, reference_column(name), cur_source.column(name), declared.get(name), config
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
