"""The one drift engine: every column of every input compared one way.

:func:`compare_column` takes one column's two sides as adapters
(:mod:`mlvigil.checks.drift_sides`: raw values or profiles) and decides everything
else the same way for both: empty, skipped and mismatched columns, all-null,
constant and infinite sides, the method (:mod:`mlvigil.checks.drift_rules`), a
fallback to ``ks`` where a method is undefined, and the missing-rate signal.
Which inputs a method computes from is the method's own declaration
(:attr:`~mlvigil.stats.registry.DriftMethod.from_sketches`): a method that cannot
run on sketches gives such a column status ``error`` with the reason.
:func:`compare_columns` runs the columns in parallel threads and builds the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

from mlvigil.checks.drift_report import ColumnDrift, ColumnStatus, DriftReport
from mlvigil.checks.drift_rules import (
    apply_correction,
    base_result,
    choose_method,
    column_threshold,
    untestable,
    with_result,
)
from mlvigil.checks.drift_sides import ColumnInput, Side
from mlvigil.exceptions import ConfigError
from mlvigil.profile.config import threads_for
from mlvigil.profile.estimates import estimate_from_sketches
from mlvigil.schema import UNTESTED_TYPES, ColumnType
from mlvigil.stats.correction import parse_correction
from mlvigil.stats.registry import DriftMethod, get_method, sketch_methods
from mlvigil.stats.result import StatTestResult
from mlvigil.stats.samples import (
    CategoryCounts,
    DegenerateInputError,
    SortedSample,
    category_counts,
)

if TYPE_CHECKING:
    # The options' home is the entry points' module (mlvigil.checks.drift), which
    # imports this one.
    from mlvigil.checks.drift import DriftConfig

__all__ = ["compare_column", "compare_columns"]

#: The method that replaces one undefined on a column (a constant reference has no scale).
FALLBACK_METHOD = "ks"


class _Column:
    """One column's comparison; :meth:`run` returns its result."""

    def __init__(
        self,
        name: str,
        reference: ColumnInput,
        current: ColumnInput,
        declared: ColumnType | None,
        config: DriftConfig,
    ) -> None:
        self.name = name
        self.reference = reference
        self.current = current
        self.declared = declared
        self.config = config
        self.type = ColumnType.UNKNOWN

    def _base(self, status: ColumnStatus, message: str | None, ref: Side, cur: Side) -> ColumnDrift:
        return base_result(self.config, self.name, self.type, status, message, ref, cur)

    def run(self) -> ColumnDrift:
        ref_facts, cur_facts = self.reference.facts(), self.current.facts()
        self.type = self.declared or self.reference.inferred_type()
        if self.type is ColumnType.UNKNOWN:
            self.type = self.current.inferred_type()
        unprepared = (
            Side(ref_facts.rows, ref_facts.nulls),
            Side(cur_facts.rows, cur_facts.nulls),
        )
        if ref_facts.rows == 0 or cur_facts.rows == 0:
            side = "reference" if ref_facts.rows == 0 else "current"
            return self._base(ColumnStatus.EMPTY, f"{side} has no rows", *unprepared)
        if self.type is ColumnType.EMBEDDING:
            message = (
                "embedding columns are not tested one value at a time; the multivariate "
                "check tests them (MMD and a domain classifier)"
            )
            return self._base(ColumnStatus.SKIPPED, message, *unprepared)
        if self.type in UNTESTED_TYPES:
            message = (
                f"{self.type.value} columns are not tested for drift; declare the column "
                "categorical or numerical in the schema to test it"
            )
            return self._base(ColumnStatus.SKIPPED, message, *unprepared)
        families = (ref_facts.family, cur_facts.family)
        # Categories of different kinds (1 and "1") are compared as text.
        as_text = "null" not in families and families[0] != families[1]
        if as_text and not self.type.is_categorical:
            message = f"reference holds {families[0]} values but current holds {families[1]}"
            return self._base(ColumnStatus.TYPE_MISMATCH, message, *unprepared)
        ref = self.reference.prepare(self.type, as_text)
        cur = self.current.prepare(self.type, as_text)
        problem = ref.problem or cur.problem
        # A side with nothing to test says so first (untestable), whatever the other holds.
        if problem is not None and ref.size and cur.size:
            return self._base(*problem, ref, cur)
        return self._test(ref, cur)

    def _test(self, ref: Side, cur: Side) -> ColumnDrift:
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
        if counts is None and ref.sketch is not None and method.from_sketches is None:
            return self._base(ColumnStatus.ERROR, _needs_raw_values(method, self.type), ref, cur)
        status, messages = ColumnStatus.OK, []
        constant = _constant_reference(ref, counts)
        if constant is not None:
            status = ColumnStatus.CONSTANT
            messages.append(constant)
        if ref.infinite or cur.infinite:
            status = ColumnStatus.INFINITE
            messages.append(
                f"{ref.infinite} reference and {cur.infinite} current infinite values "
                "excluded from the test"
            )
        threshold = column_threshold(self.config, self.name)
        try:
            result = _run(method, ref, cur, threshold)
        except DegenerateInputError as error:
            if self.type is not ColumnType.NUMERICAL:
                return self._base(ColumnStatus.ERROR, str(error), ref, cur)
            # A constant reference has no scale; the KS test still compares the two.
            reason = "a constant reference" if constant else str(error)
            messages.append(
                f"{method.name} is undefined on {reason}; compared with {FALLBACK_METHOD} instead"
            )
            result = _run(get_method(FALLBACK_METHOD), ref, cur, threshold)
        if result.note:
            messages.append(result.note)
        return with_result(self._base(status, "; ".join(messages) or None, ref, cur), result)


def _needs_raw_values(method: DriftMethod, column_type: ColumnType) -> str:
    message = f"{method.name} needs the raw values and cannot be computed from a profile"
    usable = sketch_methods(column_type)
    if not usable:
        return message
    alternatives = " or ".join([", ".join(usable[:-1]), usable[-1]] if usable[:-1] else usable)
    return f"{message}; use {alternatives}"


def _constant_reference(ref: Side, counts: CategoryCounts | None) -> str | None:
    if ref.sample is not None and ref.sample.is_constant:
        return f"reference is constant ({ref.sample.values[0]:g})"
    moments = ref.sketch.moments if ref.sketch is not None else None
    if moments is not None and moments.n and moments.minimum == moments.maximum:
        return f"reference is constant ({moments.minimum:g})"
    if counts is not None and int((counts.reference > 0).sum()) == 1:
        return "reference holds a single category"
    return None


def _run(method: DriftMethod, ref: Side, cur: Side, threshold: float | None) -> StatTestResult:
    """Run ``method`` on what both sides hold: counts, sorted values, or sketches."""
    if ref.counts is not None and cur.counts is not None:
        return method(ref.counts, cur.counts, threshold=threshold)
    if ref.sample is not None and cur.sample is not None:
        return method(ref.sample, cur.sample, threshold=threshold)
    if ref.sketch is None or cur.sketch is None:
        raise ConfigError("the two sides of a column were prepared from different inputs")
    ref_sketch, cur_sketch = ref.sketch.sketch, cur.sketch.sketch
    if ref_sketch.is_exact and cur_sketch.is_exact:
        # The sketches still hold every value: the method on them, exactly.
        exact = method(
            SortedSample(ref_sketch.values()),
            SortedSample(cur_sketch.values()),
            threshold=threshold,
        )
        return replace(exact, approximation_error=0.0)
    return estimate_from_sketches(method, ref.sketch, cur.sketch, threshold=threshold)


def compare_column(
    name: str,
    reference: ColumnInput,
    current: ColumnInput,
    *,
    config: DriftConfig,
    declared: ColumnType | None = None,
) -> ColumnDrift:
    """Compare one column's two sides; never raises on degenerate input.

    Parameters
    ----------
    name
        The column's name, for its result and its per-column options.
    reference, current
        The column's sides (:mod:`mlvigil.checks.drift_sides`).
    config
        Methods, thresholds and the missing-rate rule.
    declared
        The column's declared type; default: inferred from the reference, else
        from the current side.

    Returns
    -------
    ColumnDrift
        Tested, or with an explicit status and message saying why not.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from mlvigil.checks.drift import DriftConfig
    >>> from mlvigil.checks.drift_sides import DataColumn
    >>> side = DataColumn(pa.chunked_array([[1.0, 2.0, 3.0, 4.0, 5.0]]))
    >>> result = compare_column("x", side, side, config=DriftConfig())
    >>> result.method, result.drifted, result.status.value
    ('ks', False, 'ok')
    """
    return _Column(name, reference, current, declared, config).run()


def compare_columns(
    names: Sequence[str],
    sides: Callable[[str], tuple[ColumnInput, ColumnInput]],
    *,
    declared: dict[str, ColumnType],
    config: DriftConfig,
    on_column: Callable[[ColumnDrift], None] | None = None,
    rows: int | None = None,
) -> DriftReport:
    """Compare the named columns (in parallel threads) and correct their p-values.

    ``sides(name)`` gives a column's reference and current sides when it is compared,
    so no column's values are held longer than its comparison needs. ``rows``, the
    current side's rows when known, keeps small comparisons in this thread (unless
    ``config.workers`` says otherwise).
    """

    def compare(name: str) -> ColumnDrift:
        reference, current = sides(name)
        result = _Column(name, reference, current, declared.get(name), config).run()
        if on_column is not None:
            on_column(result)
        return result

    workers = threads_for(config.workers, rows)
    if workers == 1 or len(names) <= 1:
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
