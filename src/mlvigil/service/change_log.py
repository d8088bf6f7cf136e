"""The log of data that arrived for windows already evaluated, so they are evaluated again.

An ingest transaction that adds rows or labels for predictions timed before the end of
the latest evaluated window also writes a ``data_changes`` row, in the same
transaction; the scheduler reads the log and evaluates the windows it concerns again.
:meth:`ChangeLog.mark_evaluating` moves the mark before an evaluation reads a window,
under the store's lock, so data committing while the window is read is never missed.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from mlvigil.service.alert_store import AlertStore
from mlvigil.service.pass_reads import group_rows
from mlvigil.service.store_base import utc
from mlvigil.service.windows import DataChange

__all__ = ["ChangeLog"]


class ChangeLog(AlertStore):
    """The data-change log on a store's connection."""

    #: End of each model's latest evaluated window (set up by the store).
    _evaluated_until: dict[str, datetime | None]

    def _log_change(
        self,
        cursor: duckdb.DuckDBPyConnection,
        model: str,
        kind: str,
        first_at: datetime | None,
        last_at: datetime | None,
        rows: int,
    ) -> None:
        """Log data for predictions timed ``[first_at, last_at]`` if a window has them.

        Runs inside the data's transaction, under the store's lock, so it cannot slip
        between an evaluation's :meth:`mark_evaluating` and its read of the window.
        """
        until = self._evaluated_until[model]
        if first_at is None or last_at is None or until is None or first_at >= until:
            return  # only windows not evaluated yet: the usual case, nothing to log
        cursor.execute(
            "INSERT INTO data_changes (model, kind, first_at, last_at, rows) "
            "VALUES (?, ?, ?, ?, ?)",
            [model, kind, first_at, last_at, rows],
        )

    def mark_evaluating(self, model: str, end: datetime) -> int:
        """Record that a window ending at ``end`` is about to be read for evaluation.

        Data for earlier predictions that commits after this is logged as a change, so
        an evaluation never misses rows that arrive while it reads.

        Returns
        -------
        The newest change logged so far (the window's ``changes_seen``).
        """
        with self._lock:
            until = self._evaluated_until[model]
            self._evaluated_until[model] = end if until is None else max(until, end)
            # In a scheduler pass, the newest change when the pass began: a change logged
            # since then makes the window due once more, never missed.
            hit, newest = self._answer("newest_change", "", self._newest_change, 0)
            return newest if hit else self._newest_change()[""]

    def _newest_change(self) -> dict[str, int]:
        row = self._read("SELECT max(id) FROM data_changes").fetchone()
        return {"": int(row[0]) if row and row[0] is not None else 0}

    def changes(self, model: str) -> list[DataChange]:
        """Logged changes of ``model`` not yet cleared, oldest first."""
        hit, cached = self._answer("changes", model, self._every_models_changes, list[DataChange]())
        if hit:
            return cached
        rows = self._read(
            "SELECT id, kind, first_at, last_at, rows FROM data_changes WHERE model = ? "
            "ORDER BY id",
            [model],
        ).fetchall()
        return [DataChange(int(i), k, utc(a), utc(b), int(n)) for i, k, a, b, n in rows]

    def _every_models_changes(self) -> dict[str, list[DataChange]]:
        rows = self._read(
            "SELECT model, id, kind, first_at, last_at, rows FROM data_changes ORDER BY model, id"
        ).fetchall()
        return {
            model: [DataChange(int(i), k, utc(a), utc(b), int(n)) for i, k, a, b, n in group]
            for model, group in group_rows(rows).items()
        }
