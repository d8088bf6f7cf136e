"""Retention: every table of the store keeps its rows for a bounded time.

:meth:`Pruning.prune` deletes, in one step the scheduler runs once per pass:

- windows that ended more than ``retention.windows`` ago, oldest first and up to the
  first one whose labels are not final yet, with their results, profiles and raw
  predictions and labels; the scheduler's walk over time windows then starts after them
  (:meth:`Pruning.pruned_until`), so a pruned window is never evaluated again;
- window profiles (the largest table: 2.9 MB a window at 500 columns) of final windows
  that ended more than ``retention.profiles`` ago;
- raw predictions and labels older than a model's own ``retention``;
- alert events; notifications delivered, or superseded by a newer one of their group;
  idempotency keys; and silences that ended; each after its retention.

A window whose labels are not final is never pruned, nor its rows: it is still waiting
for them. Nor are the windows a model's reference is built from (``reference:
{first_windows: N}``) or their rows: the reference is rebuilt from them at every start.
An undelivered notification is never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from mlvigil.service.change_log import ChangeLog
from mlvigil.service.config import ModelConfig
from mlvigil.service.policies import Retention
from mlvigil.service.row_tables import RowTables
from mlvigil.service.store_base import quote, utc
from mlvigil.service.windows import profile_key

__all__ = ["Pruned", "Pruning"]


@dataclass(frozen=True)
class Pruned:
    """How many rows one :meth:`Pruning.prune` deleted, per table."""

    windows: int = 0
    results: int = 0
    profiles: int = 0
    predictions: int = 0
    labels: int = 0
    alert_events: int = 0
    notifications: int = 0
    ingest_batches: int = 0
    silences: int = 0

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def total(self) -> int:
        """Rows deleted in all tables."""
        return sum(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime
    rows: int
    final: bool


class Pruning(ChangeLog):
    """Deleting what is older than its retention, on a store's connection."""

    #: The configured models and their (predictions, labels) tables (set by the store).
    models: dict[str, ModelConfig]
    _rows: dict[str, RowTables]
    _spans: dict[str, tuple[datetime, datetime] | None]

    def prune(self, now: datetime, retention: Retention) -> Pruned:
        """Delete every row older than its table's retention (see the module's notes).

        One transaction per model (its windows, results, profiles and rows go together),
        then one for the alerting and ingest tables.
        """
        pruned = Pruned()
        for name in self.models:
            pruned += self._prune_model(name, now, retention)
        return pruned + self._prune_shared(now, retention)

    def delete_before(self, model: str, cutoff: datetime) -> int:
        """Delete predictions older than ``cutoff`` and their labels; windows stay.

        The rows of the windows the model's reference is built from are kept.

        Returns
        -------
        How many predictions were deleted.
        """
        keep = _span(self._reference_windows(model, self._window_list(model)))
        with self._transaction() as cursor:
            return self._delete_rows(cursor, model, cutoff, keep)[0]

    # -- one model ---------------------------------------------------------------

    def _prune_model(self, model: str, now: datetime, retention: Retention) -> Pruned:
        windows = self._window_list(model)
        kept = set(self._reference_windows(model, windows))
        windows_cut, profiles_cut = now - retention.windows, now - retention.profiles
        # Windows go oldest first, up to the first one that must stay (not final yet, or
        # too recent), and their rows with them: the scheduler walks time windows from
        # the oldest row, so a pruned window must leave no older row (or hole) behind.
        doomed: list[_Window] = []
        for window in windows:
            if window in kept:
                continue
            if not window.final or window.end >= windows_cut:
                break
            doomed.append(window)
        stale = [w for w in windows if w.final and w.end < profiles_cut and w not in kept]
        # Rows before the newest pruned window (late rows for it) are never evaluated.
        marks = [m for m in (doomed[-1].end if doomed else None, self.pruned_until(model)) if m]
        cutoff = max(marks) if marks else None
        own = self.models[model].retention
        if own is not None:
            cutoff = now - own if cutoff is None else max(cutoff, now - own)
        if not stale and cutoff is None:
            return Pruned()
        with self._transaction() as cursor:
            predictions, labels = (
                self._delete_rows(cursor, model, cutoff, _span(kept)) if cutoff else (0, 0)
            )
            profiles = _delete_in(
                cursor,
                "window_profiles",
                "window_key",
                pa.array([profile_key(model, w.start) for w in stale], pa.string()),
            )
            starts = pa.array([w.start for w in doomed], pa.timestamp("us", tz="UTC"))
            results = _delete_in(cursor, "results", "window_start", starts, model)
            # A pruned window's pushed profiles go with it (they are its data).
            _delete_in(cursor, "pushed_profiles", "window_start", starts, model)
            _delete_in(cursor, "pushed_performance", "window_start", starts, model)
            deleted = _delete_in(cursor, "windows", "window_start", starts, model)
            if doomed:
                cursor.execute(
                    "UPDATE models SET pruned_until = greatest(coalesce(pruned_until, ?), ?) "
                    "WHERE name = ?",
                    [doomed[-1].end, doomed[-1].end, model],
                )
        self._written("pruned_until", model)
        self._written("windows", model)
        return Pruned(deleted, results, profiles, predictions, labels)

    def pruned_until(self, model: str) -> datetime | None:
        """End of the newest window of ``model`` pruned so far (its older rows are gone).

        The scheduler starts its walk over time windows there, so it never evaluates a
        pruned window again.
        """
        hit, cached = self._answer("pruned_until", model, self._every_models_pruned_until, None)
        if hit:
            return cached
        row = self._read("SELECT pruned_until FROM models WHERE name = ?", [model]).fetchone()
        return utc(row[0]) if row and row[0] is not None else None

    def _every_models_pruned_until(self) -> dict[str, datetime | None]:
        rows = self._read("SELECT name, pruned_until FROM models").fetchall()
        return {name: utc(moment) if moment is not None else None for name, moment in rows}

    def _window_list(self, model: str) -> list[_Window]:
        rows = self._read(
            "SELECT window_start, window_end, rows, labels_final FROM windows "
            "WHERE model = ? ORDER BY window_start",
            [model],
        ).fetchall()
        return [_Window(utc(a), utc(b), int(n), bool(final)) for a, b, n, final in rows]

    def _reference_windows(self, model: str, windows: list[_Window]) -> list[_Window]:
        """The windows the model's reference is built from (``first_windows``), if any."""
        count = self.models[model].reference_windows
        if not count or self.models[model].reference_path is not None:
            return []
        return [w for w in windows if w.rows][:count]

    def _delete_rows(
        self,
        cursor: duckdb.DuckDBPyConnection,
        model: str,
        cutoff: datetime,
        keep: tuple[datetime, datetime] | None,
    ) -> tuple[int, int]:
        """Delete predictions timed before ``cutoff`` (outside ``keep``) and their labels.

        Labels go with their predictions; a label matching no prediction goes once its
        own timestamp is before ``cutoff`` (looked for only when predictions went: it
        joins every label with every prediction).
        """
        self._spans.pop(model, None)  # its earliest row may go: read it again
        tables = self._rows[model]
        predictions, labels = tables.predictions, tables.labels
        schema = self.models[model].schema
        column, id_column = quote(schema.timestamp), quote(schema.id)
        doomed = f"{tables.mine()} AND {column} < ?"
        params: list[object] = [cutoff]
        if keep is not None:
            doomed += f" AND NOT ({column} >= ? AND {column} < ?)"
            params += list(keep)
        label_rows = cursor.execute(
            f"DELETE FROM {labels} WHERE {tables.mine()} AND id IN "
            f"(SELECT {id_column} FROM {predictions} WHERE {doomed})",
            params,
        ).fetchone()
        rows = _count(
            cursor.execute(f"DELETE FROM {predictions} WHERE {doomed}", params).fetchone()
        )
        orphans = 0
        if rows:
            orphans = _count(
                cursor.execute(
                    f"DELETE FROM {labels} l WHERE {tables.mine('l')} AND l.timestamp < ? "
                    f"AND NOT EXISTS (SELECT 1 FROM {predictions} p "
                    f"WHERE {tables.mine('p')} AND p.{id_column} = l.id)",
                    [cutoff],
                ).fetchone()
            )
        return rows, _count(label_rows) + orphans

    # -- alerting and ingest -----------------------------------------------------

    def _prune_shared(self, now: datetime, retention: Retention) -> Pruned:
        ended = [
            silence["id"]
            for silence in self.silences()
            if _silence_end(silence) < now - retention.silences
        ]
        with self._transaction() as cursor:
            events = cursor.execute(
                "DELETE FROM alert_events WHERE happened_at < ?", [now - retention.alert_events]
            ).fetchone()
            # Delivered, or superseded by a newer one of its group (never to be sent): an
            # undelivered notification is never lost.
            cutoff = now - retention.notifications
            notifications = cursor.execute(
                "DELETE FROM outbox WHERE delivered_at < ? OR superseded_at < ?", [cutoff, cutoff]
            ).fetchone()
            # Keys are stamped by DuckDB's clock (received_at's default), so aged by it.
            batches = cursor.execute(
                "DELETE FROM ingest_batches WHERE received_at < now() - ?",
                [retention.ingest_batches],
            ).fetchone()
            silences = _delete_in(cursor, "silences", "id", pa.array(ended, pa.string()))
        return Pruned(
            alert_events=_count(events),
            notifications=_count(notifications),
            ingest_batches=_count(batches),
            silences=silences,
        )


def _delete_in(
    cursor: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    values: pa.Array,
    model: str | None = None,
) -> int:
    """Delete the rows of ``table`` whose ``column`` is one of ``values`` (of ``model``)."""
    if not len(values):
        return 0
    cursor.register("doomed", pa.table({"value": values}))
    try:
        where = "model = ? AND " if model is not None else ""
        row = cursor.execute(
            f"DELETE FROM {table} WHERE {where}{quote(column)} IN (SELECT value FROM doomed)",
            [model] if model is not None else [],
        ).fetchone()
    finally:
        cursor.unregister("doomed")
    return _count(row)


def _span(windows: set[_Window] | list[_Window]) -> tuple[datetime, datetime] | None:
    """The time range ``[first start, last end)`` of some windows, if any."""
    if not windows:
        return None
    return min(w.start for w in windows), max(w.end for w in windows)


def _silence_end(silence: dict[str, Any]) -> datetime:
    """When a stored silence stopped muting: its end, or when it was expired if earlier."""
    ends = [
        datetime.fromisoformat(str(silence[key]))
        for key in ("ends_at", "expired_at")
        if silence.get(key)
    ]
    return min(utc(moment) for moment in ends)


def _count(row: tuple[Any, ...] | None) -> int:
    return int(row[0]) if row and row[0] is not None else 0
