"""Profiles pushed for a window, by source: what a Spark job sends instead of rows.

A window's data may arrive as profiles computed where the data is (``mlvigil spark
profile --push``). Each push names its window and its source (a job, a partition of
the lake); a push again from the same source replaces that source's profile, so a job
that is retried does not count its rows twice, and the window's profile is the merge
of every source's. A window with rows is judged on its rows; pushed profiles speak for
windows without any.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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
