"""What is wrong with a refused batch: its problems, and its rows counted by reason.

A batch is all or nothing (:mod:`mlvigil.service.ingest`): one bad row refuses it
whole. :class:`ProblemLog` collects the problems of one batch as ingest finds them, row
by row (JSON) or a column at a time (Arrow, Parquet), and raises them at once as a
:class:`BadBatchError` naming the first :data:`MAX_PROBLEMS` by row and field. The error
also counts the batch's refused rows by reason (:data:`REASONS`), for
``mlvigil_rows_rejected_total{model,reason}``: each bad row under the reason of the
first problem found in it, the batch's other rows under ``batch``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np

from mlvigil.exceptions import InputError

__all__ = ["MAX_PROBLEMS", "REASONS", "BadBatchError", "Problem", "ProblemLog", "Reason"]

#: Problems listed in an error (every one is counted).
MAX_PROBLEMS = 20

Reason = Literal["invalid", "not_finite", "too_long", "too_old", "in_future", "batch"]
#: Why rows were refused: a value that cannot take its type or a missing field, an
#: infinite number, a string over ``limits.max_string_length``, a timestamp before or
#: after the accepted range (``accept``), or a good row refused with its batch.
REASONS: Final[tuple[Reason, ...]] = (
    "invalid",
    "not_finite",
    "too_long",
    "too_old",
    "in_future",
    "batch",
)
_CODE = {reason: code for code, reason in enumerate(REASONS, start=1)}


@dataclass(frozen=True)
class Problem:
    """One bad value: its row (0-based, ``None`` for the whole body), field and why."""

    row: int | None
    field: str | None
    message: str
    reason: Reason = "invalid"

    def to_dict(self) -> dict[str, Any]:
        """JSON view for error responses."""
        return {"row": self.row, "field": self.field, "message": self.message}


class BadBatchError(InputError):
    """A batch with bad records; nothing of it was stored.

    Attributes
    ----------
    problems
        The first :data:`MAX_PROBLEMS` problems, by row.
    total
        How many problems there were.
    rejected
        The batch's rows by reason (empty when the body could not be read as rows).
    """

    def __init__(
        self,
        problems: Sequence[Problem],
        total: int | None = None,
        *,
        rejected: Mapping[Reason, int] | None = None,
    ) -> None:
        self.problems = list(problems)[:MAX_PROBLEMS]
        self.total = len(problems) if total is None else total
        self.rejected: dict[Reason, int] = dict(rejected or {})
        first = self.problems[0]
        where = f"row {first.row}" if first.row is not None else "body"
        field = f", field {first.field!r}" if first.field else ""
        more = f" (and {self.total - 1} more problems)" if self.total > 1 else ""
        super().__init__(f"{where}{field}: {first.message}{more}; nothing was stored")


class ProblemLog:
    """The problems of one batch of ``rows`` rows (``None``: not known yet), as found.

    Examples
    --------
    >>> log = ProblemLog(3)
    >>> log.add(1, "score", "expected a number")
    >>> error = log.error()
    >>> print(error)
    row 1, field 'score': expected a number; nothing was stored
    >>> error.rejected
    {'invalid': 1, 'batch': 2}
    """

    def __init__(self, rows: int | None = None) -> None:
        self._problems: list[Problem] = []
        self._total = 0
        self._reasons = np.zeros(rows or 0, dtype=np.int8)  # 0: no problem (yet)
        self._rows = rows

    def __bool__(self) -> bool:
        return self._total > 0

    def add(
        self, row: int | None, field: str | None, message: str, reason: Reason = "invalid"
    ) -> None:
        """One problem; ``row`` ``None`` is one of the whole column (every row) or body."""
        self._total += 1
        self._problems.append(Problem(row, field, message, reason))
        if row is not None:
            if self._reasons[row] == 0:
                self._reasons[row] = _CODE[reason]
        elif field is not None:
            self._reasons[self._reasons == 0] = _CODE[reason]

    def add_rows(
        self,
        rows: np.ndarray[Any, np.dtype[np.intp]],
        field: str,
        message: Callable[[int], str],
        reason: Reason,
    ) -> None:
        """The same problem in each of ``rows`` (ascending); ``message(row)`` says it.

        Only the first :data:`MAX_PROBLEMS` are described: they are all the error can
        list, since it lists the first by row.
        """
        if not len(rows):
            return
        self._total += len(rows)
        self._problems.extend(
            Problem(int(row), field, message(int(row)), reason) for row in rows[:MAX_PROBLEMS]
        )
        unclaimed = rows[self._reasons[rows] == 0]
        self._reasons[unclaimed] = _CODE[reason]

    def error(self) -> BadBatchError:
        """The error listing the problems so far, by row (body problems first)."""
        problems = sorted(self._problems, key=lambda p: -1 if p.row is None else p.row)
        rejected: dict[Reason, int] = {}
        if self._rows:
            counts = np.bincount(self._reasons, minlength=len(REASONS) + 1)
            rejected = {r: int(counts[c]) for r, c in _CODE.items() if counts[c]}
            if counts[0]:
                rejected["batch"] = int(counts[0])
        return BadBatchError(problems, self._total, rejected=rejected)

    def raise_any(self) -> None:
        """Raise the problems found so far, if any.

        Raises
        ------
        BadBatchError
            When there was at least one problem.
        """
        if self:
            raise self.error()
