"""What ingest admits beyond types: finite numbers, strings within the cap, times near now.

Checked on a batch once its values have their stored types (:mod:`mlvigil.service.ingest`),
the same way for JSON, Arrow and Parquet; every refused value is a problem naming its
row and field, and refuses the batch:

- numbers: NaN is a missing value (stored as null, as pandas means it, so completeness
  counts it); ``inf`` and ``-inf`` are refused: no check can use them, and a quantile
  or mean over them is no measurement;
- strings (ids, categories, text, labels, model versions): at most
  ``limits.max_string_length`` characters;
- timestamps (a prediction's, a label's): within ``[now - max_age, now + max_future]``
  of the service's clock (``accept``; ``max_age`` is the model's ``retention`` when that
  is shorter, since older rows would be deleted anyway). A row from year 1 would have
  the scheduler walk every window since; one from year 9999 shows a negative data age.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.schema import ColumnType
from mlvigil.service.batch_errors import ProblemLog
from mlvigil.service.policies import Accept, Limits
from mlvigil.service.startup_checks import format_duration

__all__ = ["Admission", "admit"]

_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Admission:
    """The bounds one batch is held to; all ``None``: types only (library use).

    Attributes
    ----------
    now
        The service's clock when the batch arrived (labels without a time get it).
    earliest, latest
        The accepted range of row timestamps.
    max_string_length
        The longest string accepted, in characters.
    max_age, age_key
        How far back ``earliest`` is, and the key that sets it (for messages).
    """

    now: datetime | None = None
    earliest: datetime | None = None
    latest: datetime | None = None
    max_string_length: int | None = None
    max_age: timedelta | None = None
    age_key: str = "accept.max_age"

    @classmethod
    def around(
        cls, now: datetime, *, accept: Accept, limits: Limits, retention: timedelta | None
    ) -> Admission:
        """The bounds at ``now`` of a model kept for ``retention`` (``None``: for ever).

        Examples
        --------
        >>> now = datetime(2026, 12, 1, tzinfo=UTC)
        >>> bounds = Admission.around(now, accept=Accept(), limits=Limits(),
        ...                           retention=timedelta(days=7))
        >>> bounds.earliest.isoformat(), bounds.latest.isoformat(), bounds.age_key
        ('2026-11-24T00:00:00+00:00', '2026-12-01T00:05:00+00:00', 'retention')
        """
        max_age, key = accept.max_age, "accept.max_age"
        if retention is not None and retention < max_age:
            max_age, key = retention, "retention"
        return cls(
            now=now,
            earliest=_shifted(now, -max_age),
            latest=_shifted(now, accept.max_future),
            max_string_length=limits.max_string_length,
            max_age=max_age,
            age_key=key,
        )


def _shifted(moment: datetime, by: timedelta) -> datetime:
    try:
        return moment + by
    except OverflowError:  # a max_age of ten thousand years: no bound
        return _EARLIEST if by < timedelta(0) else _LATEST


def admit(
    table: pa.Table,
    log: ProblemLog,
    *,
    kinds: Mapping[str, ColumnType],
    times: Sequence[str],
    admission: Admission,
) -> None:
    """Log every value of ``table`` that ``admission`` refuses.

    ``kinds`` are the stored types of the columns to check (those in ``table``), and
    ``times`` the columns held to the accepted range.
    """
    for name, kind in kinds.items():
        if name not in table.column_names:
            continue
        column = table.column(name)
        if kind is ColumnType.NUMERICAL:
            _finite(column, name, log)
        elif kind in (ColumnType.CATEGORICAL, ColumnType.TEXT):
            _short(column, name, log, admission.max_string_length)
        elif kind is ColumnType.EMBEDDING:
            _finite_vectors(column, name, log)
    for name in times:
        if name in table.column_names:
            _in_range(table.column(name), name, log, admission)


def _rows(mask: pa.ChunkedArray | pa.Array) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Indices where ``mask`` is true (null is false)."""
    flags = pc.fill_null(mask, False)
    return np.flatnonzero(np.asarray(flags.to_numpy(zero_copy_only=False), dtype=bool))


def _finite(column: pa.ChunkedArray, name: str, log: ProblemLog) -> None:
    if not pa.types.is_floating(column.type):
        return
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    log.add_rows(
        _rows(pc.is_inf(values)),
        name,
        lambda row: (
            f"{values[row].as_py()} is not a finite number; send a finite value, "
            "or null (NaN) for a missing one"
        ),
        "not_finite",
    )


def _finite_vectors(column: pa.ChunkedArray, name: str, log: ProblemLog) -> None:
    if not pa.types.is_list(column.type):
        return
    vectors = column.combine_chunks()
    bad = pc.fill_null(pc.invert(pc.is_finite(vectors.flatten())), True)
    if not pc.any(bad).as_py():
        return
    rows = pc.list_parent_indices(vectors).filter(bad).to_numpy()
    log.add_rows(
        np.unique(rows).astype(np.intp),
        name,
        lambda row: (
            "the vector holds a missing, NaN or infinite value; send finite values, "
            "or null for a missing vector"
        ),
        "not_finite",
    )


def _short(column: pa.ChunkedArray, name: str, log: ProblemLog, limit: int | None) -> None:
    if limit is None or not pa.types.is_string(column.type):
        return
    lengths = pc.utf8_length(column).combine_chunks()
    log.add_rows(
        _rows(pc.greater(lengths, limit)),
        name,
        lambda row: (
            f"a string of {lengths[row].as_py()} characters is over the limit of "
            f"{limit} (limits.max_string_length)"
        ),
        "too_long",
    )


def _in_range(column: pa.ChunkedArray, name: str, log: ProblemLog, admission: Admission) -> None:
    earliest, latest = admission.earliest, admission.latest
    if not pa.types.is_timestamp(column.type):
        return
    values = column.combine_chunks()
    if earliest is not None and earliest > _EARLIEST:
        age = format_duration(admission.max_age) if admission.max_age else "?"
        log.add_rows(
            _rows(pc.less(values, pa.scalar(earliest, values.type))),
            name,
            lambda row: (
                f"{_text(values[row])} is older than rows are accepted: send rows "
                f"timed after {earliest.isoformat()} (now - {age}, {admission.age_key})"
            ),
            "too_old",
        )
    if latest is not None and latest < _LATEST:
        log.add_rows(
            _rows(pc.greater(values, pa.scalar(latest, values.type))),
            name,
            lambda row: (
                f"{_text(values[row])} is ahead of the service's clock: send rows "
                f"timed before {latest.isoformat()} (accept.max_future); is the client's "
                "clock or timestamp unit right?"
            ),
            "in_future",
        )


def _text(value: pa.Scalar) -> str:
    """A stored time as ISO 8601 (even beyond what ``datetime`` holds)."""
    try:
        return str(value.as_py().isoformat())
    except (ValueError, OverflowError):
        return f"{value.cast(pa.int64()).as_py()} microseconds from 1970"
