"""Freshness: how old the newest timestamp of a table is.

Timestamps without a time zone are taken as UTC, as are naive reference clocks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.checks.quality._common import error_result, type_name
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.exceptions import ConfigError, InputError

__all__ = [
    "Clock",
    "check_freshness",
    "evaluate_freshness",
    "newest_timestamp",
    "parse_duration",
    "resolve_now",
]

CHECK, METRIC = CheckKind.FRESHNESS, "freshness_hours"

#: A reference time, or something that returns one when asked.
Clock = datetime | Callable[[], datetime]

_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS_PER_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1}


def parse_duration(value: str | float | timedelta) -> timedelta:
    """Read a duration: ``"24h"``, ``"30m"``, ``"2d"``, ``"1h30m"``, ``"1w"``, or seconds.

    Raises
    ------
    ConfigError
        When the value is not a positive duration.

    Examples
    --------
    >>> parse_duration("1h30m"), parse_duration(90)
    (datetime.timedelta(seconds=5400), datetime.timedelta(seconds=90))
    >>> parse_duration("24 hours")
    Traceback (most recent call last):
    ...
    mlvigil.exceptions.ConfigError: cannot read '24 hours' as a duration; write e.g. 24h, ...
    """
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        duration = timedelta(seconds=value)
    elif isinstance(value, str) and re.fullmatch(r"\d+(?:\.\d+)?", value.strip()):
        duration = timedelta(seconds=float(value))
    elif isinstance(value, str) and re.fullmatch(r"(\s*\d+(?:\.\d+)?\s*[wdhms])+\s*", value):
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(value))
        duration = timedelta(seconds=seconds)
    else:
        raise ConfigError(
            f"cannot read {value!r} as a duration; write e.g. 24h, 30m, 2d, 1h30m "
            "or a number of seconds"
        )
    if duration <= timedelta(0):
        raise ConfigError(f"a duration must be positive, got {value!r}")
    return duration


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def resolve_now(now: Clock | None) -> datetime:
    """The reference time: ``now`` itself, ``now()`` if it is callable, or the clock.

    Naive datetimes are taken as UTC.

    Examples
    --------
    >>> from datetime import datetime
    >>> resolve_now(lambda: datetime(2024, 1, 1)).isoformat()
    '2024-01-01T00:00:00+00:00'
    """
    if now is None:
        return datetime.now(UTC)
    return _utc(now() if callable(now) else now)


def newest_timestamp(values: pa.ChunkedArray | pa.Array) -> datetime | None:
    """The latest timestamp of a column, in UTC; ``None`` when there is none.

    Accepts timestamps, dates and ISO 8601 strings.

    Raises
    ------
    InputError
        When the column holds something else.

    Examples
    --------
    >>> import pyarrow as pa
    >>> newest_timestamp(pa.array(["2024-05-01T10:00:00Z", "2024-05-02T08:30:00+02:00"]))
    datetime.datetime(2024, 5, 2, 6, 30, tzinfo=datetime.timezone.utc)
    """
    kind = values.type
    if pa.types.is_null(kind):  # e.g. a CSV column with no values at all
        return None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = _parse_strings(values)
        kind = values.type
    if pa.types.is_date(kind):
        newest = pc.max(values).as_py()
        return None if newest is None else datetime.combine(newest, datetime.min.time(), UTC)
    if not pa.types.is_timestamp(kind):
        raise InputError(f"holds {type_name(kind)} values, not timestamps")
    newest_raw = pc.max(values).value
    if newest_raw is None:
        return None
    micros = newest_raw // 1_000 if kind.unit == "ns" else newest_raw * _MICROS_PER_UNIT[kind.unit]
    return _EPOCH + timedelta(microseconds=micros)


def _parse_strings(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    # Arrow parses strings with a zone offset only into a zoned type, and without only
    # into a naive one; try both.
    errors = []
    for target in (pa.timestamp("us", tz="UTC"), pa.timestamp("us")):
        try:
            return values.cast(target)
        except pa.ArrowInvalid as error:
            errors.append(str(error))
    raise InputError(f"holds strings that are not ISO 8601 timestamps ({errors[-1]})")


def evaluate_freshness(
    column: str,
    *,
    newest: datetime | date | None,
    now: datetime,
    max_age: timedelta,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Judge the age of the newest timestamp (from data or a profile's maximum).

    Parameters
    ----------
    column
        The timestamp column.
    newest
        Its latest value; ``None`` when it has none (an error result).
    now
        The reference time.
    max_age
        Largest allowed age.
    severity
        Severity of a failure.

    Returns
    -------
    CheckResult
        Metric ``freshness_hours``: the age in hours; the threshold is
        ``max_age`` in hours. Timestamps in the future pass, with a note.

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> now = datetime(2024, 5, 2, 12, tzinfo=UTC)
    >>> r = evaluate_freshness("t", newest=datetime(2024, 5, 1, 6, tzinfo=UTC), now=now,
    ...                        max_age=timedelta(hours=24))
    >>> r.value, r.threshold, r.passed
    (30.0, 24.0, False)
    """
    limit = max_age.total_seconds() / 3600
    if newest is None:
        return error_result(
            CHECK,
            METRIC,
            column,
            "no timestamps: every value is missing or there are no rows",
            severity=severity,
            threshold=limit,
        )
    if not isinstance(newest, datetime):
        newest = datetime.combine(newest, datetime.min.time(), UTC)
    newest, now = _utc(newest), _utc(now)
    hours = (now - newest).total_seconds() / 3600
    if hours < 0:
        message = f"newest timestamp is {-hours:.3g}h in the future: check the clocks"
    else:
        message = f"newest timestamp is {hours:.3g}h old (max {limit:.3g}h)"
    return CheckResult(
        check=CHECK,
        metric=METRIC,
        column=column,
        value=hours,
        threshold=limit,
        status=CheckStatus.PASSED if hours <= limit else CheckStatus.FAILED,
        severity=severity,
        message=message,
        details={"newest": newest.isoformat(), "now": now.isoformat()},
    )


def check_freshness(
    values: pa.ChunkedArray | pa.Array,
    *,
    column: str,
    max_age: timedelta | str | float,
    now: Clock | None = None,
    severity: Severity = Severity.ERROR,
) -> CheckResult:
    """Age of the newest timestamp in a column against ``max_age``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from datetime import datetime, UTC
    >>> times = pa.array([datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 11, 30)])
    >>> r = check_freshness(times, column="event_time", max_age="1h",
    ...                     now=datetime(2024, 5, 1, 12, tzinfo=UTC))
    >>> r.value, r.passed
    (0.5, True)
    """
    duration = parse_duration(max_age)
    try:
        newest = newest_timestamp(values)
    except InputError as error:
        return error_result(
            CHECK,
            METRIC,
            column,
            f"{error}; freshness needs timestamps",
            severity=severity,
            threshold=duration.total_seconds() / 3600,
        )
    return evaluate_freshness(
        column, newest=newest, now=resolve_now(now), max_age=duration, severity=severity
    )
