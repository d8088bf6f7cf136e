"""What the store records of a window: its evaluation, and the data that changed it since."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlvigil.checks.result import CheckResult

__all__ = ["DataChange", "EvaluatedWindow", "WindowRecord", "profile_key"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def profile_key(model: str, start: datetime) -> str:
    """Key of a window's profile: as ``model || '|' || epoch_us(window_start)`` in SQL.

    Examples
    --------
    >>> profile_key("credit", datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    'credit|1000000'
    """
    return f"{model}|{(start - _EPOCH) // timedelta(microseconds=1)}"


@dataclass(frozen=True)
class WindowRecord:
    """An evaluated window.

    Attributes
    ----------
    start, end
        The window ``[start, end)``.
    rows, labelled
        Predictions in it, and how many had a label, at its last evaluation.
    evaluated_at
        When it was last evaluated (service clock).
    labels_final
        Whether its labels were final then: ``label_delay`` after the later of its end
        and its first evaluation (so a backfill of old windows waits for labels too).
    revision
        How many times it was evaluated (1 the first time).
    first_evaluated_at
        When it was first evaluated.
    late_rows, late_labels
        Predictions and labels that arrived after it was final (it is evaluated
        again for them; they are counted so that late data is visible).
    changes_seen
        The newest logged data change when its evaluation began: later changes that
        concern it make it due again.
    """

    start: datetime
    end: datetime
    rows: int
    labelled: int
    evaluated_at: datetime
    labels_final: bool
    revision: int = 1
    first_evaluated_at: datetime | None = None
    late_rows: int = 0
    late_labels: int = 0
    changes_seen: int = 0


@dataclass(frozen=True)
class EvaluatedWindow:
    """A window's evaluation, as saved: its record, profile and results."""

    model: str
    window: WindowRecord
    profile: bytes | None
    results: tuple[CheckResult, ...]


@dataclass(frozen=True)
class DataChange:
    """Rows or labels that arrived for predictions timed ``[first_at, last_at]``."""

    id: int
    kind: str
    first_at: datetime
    last_at: datetime
    rows: int

    def concerns(self, window: WindowRecord) -> bool:
        """Whether the change came after the window's last evaluation and touches it."""
        return (
            self.id > window.changes_seen
            and self.first_at < window.end
            and self.last_at >= window.start
        )
