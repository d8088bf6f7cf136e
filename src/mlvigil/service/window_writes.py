"""Evaluated windows saved a batch at a time during a scheduler pass.

A DuckDB statement costs about a millisecond and a commit more, so saving each window
on its own (its record, profile, results and the changes it handled) cost more than
evaluating it once a service has thousands of models. A pass hands its evaluations to
:class:`PendingWindows`, which saves up to :data:`BATCH` windows of different models in
one transaction (:meth:`~mlvigil.service.store.Store.save_windows`).

What the batch delays, it cannot lose: a window is saved before the next window of its
model is evaluated (a model's reference may be built from its first windows), the
changes its evaluation handled are cleared in the same transaction as the window, and
a window not saved (a crash, a failed write) is still due at the next pass.
"""

from __future__ import annotations

import logging

from mlvigil.service.store import EvaluatedWindow, Store

__all__ = ["BATCH", "PendingWindows"]

_log = logging.getLogger(__name__)

#: Windows saved per transaction: large enough that a statement's cost is shared, small
#: enough that the dashboard sees a long pass progress.
BATCH = 100


class PendingWindows:
    """Evaluations of a pass not saved yet.

    Parameters
    ----------
    store
        Where they are saved.
    batch
        How many windows make a transaction (default :data:`BATCH`).
    """

    def __init__(self, store: Store, batch: int | None = None) -> None:
        self.store = store
        self.batch = BATCH if batch is None else batch
        self._windows: list[EvaluatedWindow] = []
        self._cleared: dict[str, int] = {}

    def add(self, evaluated: EvaluatedWindow) -> None:
        """Save ``evaluated`` with the next batch."""
        self._windows.append(evaluated)
        if len(self._windows) >= self.batch:
            self.flush()

    def handled(self, model: str, through: int) -> None:
        """Clear ``model``'s logged changes up to id ``through`` with the next batch."""
        self._cleared[model] = through

    def before_evaluating(self, model: str) -> None:
        """Save ``model``'s pending windows, so that its next evaluation sees them."""
        if any(e.model == model for e in self._windows):
            self.flush()

    def flush(self) -> None:
        """Save what is pending, in one transaction.

        A failure is logged, not raised: those windows stay due and are evaluated
        again at the next pass, and the other models' evaluations go on.
        """
        windows, cleared = self._windows, self._cleared
        self._windows, self._cleared = [], {}
        try:
            self.store.save_windows(windows, cleared)
        except Exception:
            _log.exception(
                "saving %d evaluated windows failed; they are evaluated again at the next pass",
                len(windows),
                extra={"models": sorted({e.model for e in windows} | set(cleared))},
            )
