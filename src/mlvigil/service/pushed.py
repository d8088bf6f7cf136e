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
from typing import Any, Protocol, TypeVar, cast

from mlvigil.checks.performance_state import PerformanceState
from mlvigil.profile import DatasetProfile
from mlvigil.service.change_log import ChangeLog

__all__ = ["PushedProfiles"]


class _Summary(Protocol):
    """What a pushed summary is: bytes one way, mergeable the other."""

    def serialize(self) -> bytes: ...


S = TypeVar("S")

#: Each kind of summary: its table, its bytes' column and its count's column.
_TABLES = {
    "profile": ("pushed_profiles", "profile", "rows"),
    "performance": ("pushed_performance", "state", "labelled"),
}


class PushedProfiles(ChangeLog):
    """Pushed window profiles and performance states on a store's connection."""

    clock: Callable[[], datetime]

    def save_pushed_profile(
        self, model: str, start: datetime, source: str, profile: DatasetProfile
    ) -> int:
        """Store ``source``'s profile of ``model``'s window at ``start``, replacing its last.

        Returns
        -------
        How many sources the window has now.
        """
        return self._save("profile", model, start, source, profile, profile.row_count)

    def pushed_profile(
        self, model: str, start: datetime, *, besides: str | None = None
    ) -> DatasetProfile | None:
        """The merge of every source's profile of the window (but ``besides``), or None."""
        return self._merged("profile", model, start, besides, DatasetProfile.deserialize)

    def save_pushed_performance(
        self, model: str, start: datetime, source: str, state: PerformanceState
    ) -> int:
        """Store ``source``'s performance state of a window, replacing its last.

        Returns
        -------
        How many sources the window's performance state has now.
        """
        return self._save("performance", model, start, source, state, state.labelled)

    def pushed_performance(
        self, model: str, start: datetime, *, besides: str | None = None
    ) -> PerformanceState | None:
        """The merge of every source's performance state of the window (but ``besides``)."""
        return self._merged("performance", model, start, besides, PerformanceState.deserialize)

    def _save(
        self, kind: str, model: str, start: datetime, source: str, summary: _Summary, count: int
    ) -> int:
        table, data, counted = _TABLES[kind]
        with self._transaction() as cursor:
            cursor.execute(
                f"INSERT OR REPLACE INTO {table} "
                f"(model, window_start, source, {data}, {counted}, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [model, start, source, summary.serialize(), count, self.clock()],
            )
            row = cursor.execute(
                f"SELECT count(*) FROM {table} WHERE model = ? AND window_start = ?",
                [model, start],
            ).fetchone()
        return int(row[0]) if row else 0

    def _merged(
        self,
        kind: str,
        model: str,
        start: datetime,
        besides: str | None,
        read: Callable[[bytes], S],
    ) -> S | None:
        table, data, _ = _TABLES[kind]
        rows = self._read(
            f"SELECT {data} FROM {table} WHERE model = ? AND window_start = ? "
            "AND source IS DISTINCT FROM ? ORDER BY source",
            [model, start, besides],
        ).fetchall()
        merged: Any = None
        for (blob,) in rows:
            summary = read(bytes(blob))
            merged = summary if merged is None else merged.merge(summary)
        return cast("S | None", merged)
