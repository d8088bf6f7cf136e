"""The outcome of a quality run: :class:`QualityReport`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from mlvigil.checks.result import CheckResult, CheckStatus

__all__ = ["QualityReport"]


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Every result of one quality run, and whether the run passed.

    Attributes
    ----------
    results
        One result per check, column and metric, in the order the checks ran.

    Examples
    --------
    >>> from mlvigil.checks.result import Severity
    >>> warn = CheckResult("outliers", "outlier_rate", "x", 0.2, 0.01, CheckStatus.FAILED,
    ...                    severity=Severity.WARNING)
    >>> report = QualityReport((warn,))
    >>> report.passed, len(report.failures)
    (True, 1)
    >>> report.to_dict()["results"][0]["check"]
    'outliers'
    """

    results: tuple[CheckResult, ...]

    def __iter__(self) -> Iterator[CheckResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def passed(self) -> bool:
        """False when a check of severity error or critical failed or could not run."""
        return not any(r.severity.blocks and not r.passed for r in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """Results that failed or could not run, whatever their severity."""
        return tuple(r for r in self.results if not r.passed)

    @property
    def errors(self) -> tuple[CheckResult, ...]:
        """Results of checks that could not run (missing column, bad input...)."""
        return tuple(r for r in self.results if r.status is CheckStatus.ERROR)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view: ``{"passed": bool, "results": [CheckResult.to_dict(), ...]}``."""
        return {"passed": self.passed, "results": [r.to_dict() for r in self.results]}

    def to_json(self, *, indent: bool = False) -> str:
        """JSON text of :meth:`to_dict`."""
        option = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(self.to_dict(), option=option).decode()
