"""Drift between a reference and a current dataset, column by column, from data or profiles.

:func:`detect_drift` compares data (files, tables), profiles, or one of each (the
data side is then profiled alike); :func:`profile_drift` compares two profiles. Both
run the one engine (:mod:`mlvigil.checks.drift_engine`) on the sides of each column
(:mod:`mlvigil.checks.drift_sides`): raw values are sorted or counted, profiles give
their sketches or exact counts. Columns run in parallel threads because the heavy
steps (Parquet decoding, sorting, counting) release the GIL.

A reference compared with many current tables (the chunks of a file, the windows
of a service) is prepared once: :func:`prepare_reference` returns a
:class:`PreparedReference` that keeps each column's prepared side, and
:func:`detect_drift` accepts it in place of the reference.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from mlvigil.checks._common import PROFILE_SUFFIX, is_profile_path
from mlvigil.checks.drift_engine import compare_columns
from mlvigil.checks.drift_report import ColumnDrift, DriftReport
from mlvigil.checks.drift_rules import parse_column_type
from mlvigil.checks.drift_sides import ColumnInput, DataColumn, ProfileColumn, ReferenceColumn
from mlvigil.exceptions import ColumnMismatchError, ConfigError, InputError
from mlvigil.io.tables import ArrowSource, ParquetSource, TableLike, TableSource, open_table
from mlvigil.profile.config import ProfileConfig
from mlvigil.profile.dataset import DatasetProfile, profile_table
from mlvigil.schema import ColumnType
from mlvigil.stats.correction import Correction, parse_correction
from mlvigil.stats.registry import get_method
from mlvigil.stats.selection import SMALL_SAMPLE_SIZE

__all__ = [
    "PROFILE_SUFFIX",
    "DriftConfig",
    "PreparedReference",
    "detect_drift",
    "prepare_reference",
    "profile_drift",
]


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
        Threads comparing columns in parallel; default: one per CPU when the
        current side has at least :data:`~mlvigil.profile.config.PARALLEL_MIN_ROWS`
        rows, else one (below that, threads cost more than they save).

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
        self._columns: dict[str, ReferenceColumn] = {}

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

    def _column(self, name: str) -> ReferenceColumn:
        with self._lock:
            column = self._columns.get(name)
            if column is None:
                column = ReferenceColumn(name, self._source, self._schema.get(name))
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


# ---------------------------------------------------------------- the comparison


def _is_profile(data: TableLike) -> bool:
    return isinstance(data, DatasetProfile) or is_profile_path(data)


def _as_profile(data: TableLike, config: ProfileConfig | None) -> DatasetProfile:
    # Comparing a profile with raw data profiles the data alike: the same sketches.
    if isinstance(data, DatasetProfile):
        return data
    if is_profile_path(data):
        return DatasetProfile.load(data)
    if isinstance(data, PreparedReference):
        return profile_table(data._table(), config=config)
    if _is_source(data):
        table = pa.table({name: data.column(name) for name in data.column_names})
        return profile_table(table, config=config)
    return profile_table(data, config=config)


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


def _check_options(
    names: Sequence[str], declared: Mapping[str, ColumnType], config: DriftConfig
) -> None:
    unknown = sorted(
        (set(declared) | set(config.column_methods) | set(config.column_thresholds)) - set(names)
    )
    if unknown:
        raise ConfigError(f"options name columns that are not compared: {', '.join(unknown)}")


def _compare_profiles(
    reference: DatasetProfile,
    current: DatasetProfile,
    columns: Sequence[str] | None,
    exclude: Sequence[str],
    schema: Mapping[str, ColumnType | str] | None,
    config: DriftConfig,
    on_column: Callable[[ColumnDrift], None] | None,
) -> DriftReport:
    declared = _declared_types("schema", schema)
    names = _resolve_columns(list(reference.columns), list(current.columns), columns, exclude)
    _check_options(names, declared, config)

    def sides(name: str) -> tuple[ColumnInput, ColumnInput]:
        return ProfileColumn(reference.columns[name]), ProfileColumn(current.columns[name])

    return compare_columns(names, sides, declared=declared, config=config, on_column=on_column)


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
        :class:`~mlvigil.profile.DatasetProfile`), compared as
        :func:`profile_drift` compares them (the other side is profiled alike if it
        is data; methods that need raw values report an error). ``reference`` may be
        a :class:`PreparedReference` (:func:`prepare_reference`), which prepares each
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
    config = config or DriftConfig()
    inputs = (reference, current)
    if _is_profile(reference) or _is_profile(current):
        # The data side, if any, is profiled as the profile side was (same sketch sizes).
        given = [_as_profile(side, None) if _is_profile(side) else None for side in inputs]
        like = next(p for p in given if p is not None).config
        ref_profile, cur_profile = (
            p if p is not None else _as_profile(side, like)
            for p, side in zip(given, inputs, strict=True)
        )
        return _compare_profiles(
            ref_profile, cur_profile, columns, excluded, schema, config, on_column
        )
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
    _check_options(names, declared, config)
    if prepared is not None:
        declared = {**{n: t for n, t in prepared.schema.items() if n in names}, **declared}

    def sides(name: str) -> tuple[ColumnInput, ColumnInput]:
        if prepared is not None:
            reference_column = prepared._column(name)
        else:
            # Used once: nothing outlives the comparison of its column.
            reference_column = ReferenceColumn(name, ref_source, declared.get(name))
        return reference_column, DataColumn(cur_source.column(name))

    return compare_columns(
        names,
        sides,
        declared=declared,
        config=config,
        on_column=on_column,
        rows=cur_source.num_rows,
    )


def profile_drift(
    reference: DatasetProfile,
    current: DatasetProfile,
    *,
    columns: Sequence[str] | None = None,
    schema: Mapping[str, ColumnType | str] | None = None,
    config: DriftConfig | None = None,
) -> DriftReport:
    """Compare the columns of two profiles, as :func:`detect_drift` compares data.

    Categorical columns are tested exactly on their category counts. Numerical
    columns use the KLL sketches with the estimate each method declares
    (:attr:`~mlvigil.stats.registry.DriftMethod.from_sketches`), each result
    stating its error bound in ``approximation_error``; while both sketches still
    hold every value the methods run on those values (error 0). Methods that need
    the raw values (``anderson``, ``cramer_von_mises``, ``energy``) give status
    ``error``.

    Parameters
    ----------
    reference, current
        Profiles from :func:`mlvigil.profile.profile_table` (or merges, or loaded).
    columns
        Compare only these columns. Without it, both must have the same columns.
    schema
        Column types that override the profiles' own, e.g. ``{"zip": "categorical"}``.
    config
        Methods, thresholds and the dataset rule, as for :func:`detect_drift`.

    Returns
    -------
    DriftReport
        The same report as :func:`detect_drift`'s. Results estimated from sketches
        carry a bound on their statistic's error in ``approximation_error`` (0 when
        exact, ``None`` for categorical tests on exact counts).

    Raises
    ------
    InputError
        When the columns do not match.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from mlvigil.profile import profile_table
    >>> reference = profile_table(pa.table({"c": list("aabbc") * 40}))
    >>> current = profile_table(pa.table({"c": list("abccc") * 40}))
    >>> result = profile_drift(reference, current)["c"]
    >>> result.method, result.drifted
    ('chisquare', True)
    """
    return _compare_profiles(reference, current, columns, (), schema, config or DriftConfig(), None)
