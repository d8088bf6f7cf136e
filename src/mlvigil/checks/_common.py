"""Helpers every check shares: the error result, name hints, rates, profile paths."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity

__all__ = ["PROFILE_SUFFIX", "did_you_mean", "error_result", "is_profile_path", "percent"]

#: File suffix of saved profiles; such paths are read as profiles, not data.
PROFILE_SUFFIX = ".profile"


def is_profile_path(data: object) -> bool:
    """Whether ``data`` names a saved profile (a path ending in ``.profile``).

    Examples
    --------
    >>> is_profile_path("reference.profile"), is_profile_path("reference.parquet")
    (True, False)
    """
    return isinstance(data, str | os.PathLike) and Path(data).suffix.lower() == PROFILE_SUFFIX


def error_result(
    check: CheckKind | str,
    metric: str,
    column: str | None,
    message: str,
    *,
    severity: Severity,
    threshold: float | None = None,
    **details: Any,
) -> CheckResult:
    """The result of a check that could not be evaluated; every error result is built here.

    ``check`` is a :class:`~mlvigil.checks.result.CheckKind` or its text.

    Examples
    --------
    >>> result = error_result("drift", "drift_share", None, "no column to compare",
    ...                       severity=Severity.WARNING)
    >>> result.status.value, result.value, result.message
    ('error', None, 'no column to compare')
    """
    return CheckResult(
        check=CheckKind(check),
        metric=metric,
        column=column,
        value=None,
        threshold=threshold,
        status=CheckStatus.ERROR,
        severity=severity,
        message=message,
        details=details,
    )


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a known name is close, else ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def percent(rate: float) -> str:
    """A rate as a short percentage: ``0.0512`` → ``5.12%``."""
    return f"{100 * rate:.3g}%"
