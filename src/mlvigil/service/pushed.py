"""Profiles pushed for a window, by source: what a Spark job sends instead of rows.

A window's data may arrive as profiles computed where the data is (``mlvigil spark
profile --push``). Each push names its window and its source (a job, a partition of
the lake); a push again from the same source replaces that source's profile, so a job
that is retried does not count its rows twice, and the window's profile is the merge
of every source's. A window's performance state (confusion counts, error sums, score
histograms: :class:`~mlvigil.checks.performance_state.PerformanceState`) is pushed and
merged the same way. A window with rows is judged on its rows; pushed summaries speak
for windows without any.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from mlvigil.checks.performance_state import PerformanceState
from mlvigil.profile import DatasetProfile
from mlvigil.service.change_log import ChangeLog

__all__ = ["PushedProfiles"]


class PushedProfiles(ChangeLog):
    """Pushed window profiles on a store's connection (set up by the store)."""

    clock: Callable[[], datetime]

    def save_pushed_profile(
        self, model: str, start: datetime, source: str, profile: DatasetProfile
    ) -> int:
        """Store ``source``'s profile of ``model``'s window at ``start``, replacing its last.

        Returns
        -------
        How many sources the window has now.
        """
        with self._transaction() as cursor:
            cursor.execute(
                "INSERT OR REPLACE INTO pushed_profiles "
                "(model, window_start, source, profile, rows, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [model, start, source, profile.serialize(), profile.row_count, self.clock()],
            )
            row = cursor.execute(
                "SELECT count(*) FROM pushed_profiles WHERE model = ? AND window_start = ?",
                [model, start],
            ).fetchone()
        return int(row[0]) if row else 0

    def pushed_profile(
        self, model: str, start: datetime, *, besides: str | None = None
    ) -> DatasetProfile | None:
        """The merge of every source's profile of the window (but ``besides``), or None."""
        rows = self._read(
            "SELECT profile FROM pushed_profiles WHERE model = ? AND window_start = ? "
            "AND source IS DISTINCT FROM ? ORDER BY source",
            [model, start, besides],
        ).fetchall()
        merged: DatasetProfile | None = None
        for (data,) in rows:
            profile = DatasetProfile.deserialize(bytes(data))
            merged = profile if merged is None else merged.merge(profile)
        return merged

    def save_pushed_performance(
        self, model: str, start: datetime, source: str, state: PerformanceState
    ) -> int:
        """Store ``source``'s performance state of a window, replacing its last.

        Returns
        -------
        How many sources the window's performance state has now.
        """
        with self._transaction() as cursor:
            cursor.execute(
                "INSERT OR REPLACE INTO pushed_performance "
                "(model, window_start, source, state, labelled, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [model, start, source, state.serialize(), state.labelled, self.clock()],
            )
            row = cursor.execute(
                "SELECT count(*) FROM pushed_performance WHERE model = ? AND window_start = ?",
                [model, start],
            ).fetchone()
        return int(row[0]) if row else 0

    def pushed_performance(
        self, model: str, start: datetime, *, besides: str | None = None
    ) -> PerformanceState | None:
        """The merge of every source's performance state of the window (but ``besides``)."""
        rows = self._read(
            "SELECT state FROM pushed_performance WHERE model = ? AND window_start = ? "
            "AND source IS DISTINCT FROM ? ORDER BY source",
            [model, start, besides],
        ).fetchall()
        merged: PerformanceState | None = None
        for (data,) in rows:
            state = PerformanceState.deserialize(bytes(data))
            merged = state if merged is None else merged.merge(state)
        return merged
