"""Drift between two profiles, with the engine's rules and result types.

:func:`profile_drift` answers what :func:`mlvigil.detect_drift` answers, from
profiles instead of data: the same :class:`DriftReport`, the same default
methods, statuses and missing-rate signal. Categorical columns are tested
exactly on their category counts. Numerical columns use the KLL sketches
(:mod:`mlvigil.profile.estimates`), each result stating its error bound in
``approximation_error``; while both sketches still hold every value the
engine's exact methods run on those values (error 0). Methods that need the
raw values (``anderson``, ``cramer_von_mises``, ``energy``) give status ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from mlvigil.checks.drift import DriftConfig
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
from mlvigil.profile.column import ColumnProfile, Label, ValueKind
from mlvigil.profile.dataset import DatasetProfile
from mlvigil.profile.estimates import (
    BINNED_METHODS,
    NumericSide,
    binned_divergence,
    ks_from_sketches,
    wasserstein_from_sketches,
)
from mlvigil.schema import ColumnType
from mlvigil.stats.correction import parse_correction
from mlvigil.stats.registry import DriftMethod, get_method
from mlvigil.stats.result import StatTestResult
from mlvigil.stats.samples import (
    CategoryCounts,
    DegenerateInputError,
    SortedSample,
    category_counts,
)

__all__ = ["RAW_DATA_METHODS", "profile_drift"]

#: Methods that need every raw value, which a profile does not keep.
RAW_DATA_METHODS = frozenset({"anderson", "cramer_von_mises", "energy"})


@dataclass(frozen=True, slots=True)
class _Side:
    """One side of one column, as the tests see it."""

    rows: int
    nulls: int
    infinite: int = 0
    size: int = 0
    counts: dict[Label, int] | None = None
    numeric: NumericSide | None = None


def _string_label(label: Label) -> str:
    # As Arrow casts values to strings, which is what the engine compares then.
    if isinstance(label, bool):
        return "true" if label else "false"
    return str(label)


class _ProfileColumnJob:
    """Compare one column of two profiles, as the engine's ``_ColumnJob`` does for data."""

    def __init__(
        self,
        name: str,
        reference: ColumnProfile,
        current: ColumnProfile,
        declared: ColumnType | None,
        config: DriftConfig,
    ) -> None:
        self.name = name
        self.reference = reference
        self.current = current
        self.config = config
        self.type = declared or reference.type
        if self.type is ColumnType.UNKNOWN:
            self.type = current.type

    def _base(
        self, status: ColumnStatus, message: str | None, ref: _Side, cur: _Side
    ) -> ColumnDrift:
        return base_result(self.config, self.name, self.type, status, message, ref, cur)

    def _unprepared(self, status: ColumnStatus, message: str) -> ColumnDrift:
        ref = _Side(self.reference.count, self.reference.nulls)
        cur = _Side(self.current.count, self.current.nulls)
        return self._base(status, message, ref, cur)

    def run(self) -> ColumnDrift:
        ref_kind, cur_kind = self.reference.kind, self.current.kind
        if self.reference.count == 0 or self.current.count == 0:
            side = "reference" if self.reference.count == 0 else "current"
            return self._unprepared(ColumnStatus.EMPTY, f"{side} has no rows")
        if self.type in (ColumnType.DATETIME, ColumnType.TEXT):
            return self._unprepared(
                ColumnStatus.SKIPPED,
                f"{self.type.value} columns are not tested for drift; declare the column "
                "categorical or numerical in the schema to test it",
            )
        as_strings = False
        if ValueKind.NULL not in (ref_kind, cur_kind) and ref_kind is not cur_kind:
            if not self.type.is_categorical:
                return self._unprepared(
                    ColumnStatus.TYPE_MISMATCH,
                    f"reference holds {ref_kind.value} values but current holds {cur_kind.value}",
                )
            as_strings = True
        prepare = self._categorical if self.type.is_categorical else self._numerical
        ref, ref_problem = prepare(self.reference, as_strings)
        cur, cur_problem = prepare(self.current, as_strings)
        problem = ref_problem or cur_problem
        if problem is not None and ref.size and cur.size:
            return self._base(problem[0], problem[1], ref, cur)
        return self._test(ref, cur)

    def _categorical(
        self, profile: ColumnProfile, as_strings: bool
    ) -> tuple[_Side, tuple[ColumnStatus, str] | None]:
        side = _Side(profile.count, profile.nulls + profile.nan, size=profile.present - profile.nan)
        counts = profile.counts
        if counts is None:
            if profile.categories_capped:
                reason = (
                    f"about {profile.distinct:,} categories, more than the profile keeps exact "
                    "counts for; profile with a higher ProfileConfig.max_categories to test it"
                )
            else:
                reason = f"the profile holds no category counts for its {profile.kind.value} values"
            return side, (ColumnStatus.ERROR, reason)
        if as_strings:
            counts = {_string_label(k): v for k, v in counts.items()}
        return _Side(side.rows, side.nulls, size=sum(counts.values()), counts=counts), None

    def _numerical(
        self, profile: ColumnProfile, as_strings: bool
    ) -> tuple[_Side, tuple[ColumnStatus, str] | None]:
        del as_strings  # numerical columns of different kinds never reach this
        nulls = profile.nulls + profile.nan
        if profile.quantiles is None or profile.moments is None:
            side = _Side(profile.count, nulls, size=profile.present)
            if profile.kind is ValueKind.NULL:
                return _Side(profile.count, nulls), None
            message = (
                f"cannot read values as numerical: the profile holds {profile.kind.value} values"
            )
            return side, (ColumnStatus.TYPE_MISMATCH, message)
        numeric = NumericSide(profile.quantiles, profile.moments)
        return _Side(profile.count, nulls, profile.inf, profile.moments.n, numeric=numeric), None

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
        if method.name in RAW_DATA_METHODS:
            return self._base(
                ColumnStatus.ERROR,
                f"{method.name} needs the raw values and cannot be computed from a profile; "
                "use ks, wasserstein, psi, jensenshannon, hellinger or kl_div",
                ref,
                cur,
            )
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
        try:
            result = self._run_method(method, ref, cur)
        except DegenerateInputError as error:
            if self.type is not ColumnType.NUMERICAL:
                return self._base(ColumnStatus.ERROR, str(error), ref, cur)
            reason = "a constant reference" if constant else str(error)
            messages.append(f"{method.name} is undefined on {reason}; compared with ks instead")
            result = self._run_method(get_method("ks"), ref, cur)
        if result.note:
            messages.append(result.note)
        base = self._base(status, "; ".join(messages) or None, ref, cur)
        return with_result(base, result)

    def _run_method(self, method: DriftMethod, ref: _Side, cur: _Side) -> StatTestResult:
        threshold = column_threshold(self.config, self.name)
        if ref.counts is not None and cur.counts is not None:
            return method(ref.counts, cur.counts, threshold=threshold)
        assert ref.numeric is not None
        assert cur.numeric is not None
        ref_sketch, cur_sketch = ref.numeric.sketch, cur.numeric.sketch
        if ref_sketch.is_exact and cur_sketch.is_exact:
            # The sketches still hold every value: the engine's exact method, no error.
            exact = method(
                SortedSample(ref_sketch.values()),
                SortedSample(cur_sketch.values()),
                threshold=threshold,
            )
            return replace(exact, approximation_error=0.0)
        chosen = method.default_threshold if threshold is None else threshold
        if method.name == "ks":
            return ks_from_sketches(ref.numeric, cur.numeric, threshold=chosen)
        if method.name == "wasserstein":
            return wasserstein_from_sketches(ref.numeric, cur.numeric, threshold=chosen)
        assert method.name in BINNED_METHODS, method.name
        return binned_divergence(method.name, ref.numeric, cur.numeric, threshold=chosen)

    @staticmethod
    def _constant_reference(ref: _Side, counts: CategoryCounts | None) -> str | None:
        moments = ref.numeric.moments if ref.numeric is not None else None
        if moments is not None and moments.n and moments.minimum == moments.maximum:
            return f"reference is constant ({moments.minimum:g})"
        if counts is not None and int((counts.reference > 0).sum()) == 1:
            return "reference holds a single category"
        return None


def _resolve_columns(
    reference: DatasetProfile, current: DatasetProfile, columns: Sequence[str] | None
) -> list[str]:
    ref_names, cur_names = list(reference.columns), list(current.columns)
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
    return ref_names


def profile_drift(
    reference: DatasetProfile,
    current: DatasetProfile,
    *,
    columns: Sequence[str] | None = None,
    schema: Mapping[str, ColumnType | str] | None = None,
    config: DriftConfig | None = None,
) -> DriftReport:
    """Compare the columns of two profiles, as :func:`mlvigil.detect_drift` compares data.

    Parameters
    ----------
    reference, current
        Profiles from :func:`mlvigil.profile.profile_table` (or merges, or loaded).
    columns
        Compare only these columns. Without it, both must have the same columns.
    schema
        Column types that override the profiles' own, e.g. ``{"zip": "categorical"}``.
    config
        Methods, thresholds and the dataset rule, as for ``detect_drift``.

    Returns
    -------
    DriftReport
        The engine's report type. Results estimated from sketches carry a bound
        on their statistic's error in ``approximation_error`` (0 when exact,
        ``None`` for categorical tests on exact counts).

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
    config = config or DriftConfig()
    declared = {
        name: parse_column_type(f"the schema of column {name!r}", kind)
        for name, kind in (schema or {}).items()
    }
    names = _resolve_columns(reference, current, columns)
    unknown = sorted(
        (set(declared) | set(config.column_methods) | set(config.column_thresholds)) - set(names)
    )
    if unknown:
        raise ConfigError(f"options name columns that are not compared: {', '.join(unknown)}")
    results = [
        _ProfileColumnJob(
            name, reference.columns[name], current.columns[name], declared.get(name), config
        ).run()
        for name in names
    ]
    correction = parse_correction(config.correction) if config.correction is not None else None
    return DriftReport(
        columns=tuple(apply_correction(results, correction)),
        drift_share_threshold=config.drift_share,
        correction=correction,
    )
