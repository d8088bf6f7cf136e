"""Saving evaluated windows: their records, profiles and results, a batch at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pyarrow as pa

from mlvigil.checks.result import CheckResult, plain_details
from mlvigil.service.change_log import ChangeLog
from mlvigil.service.store_base import insert_columns, registered
from mlvigil.service.windows import EvaluatedWindow, WindowRecord, profile_key

__all__ = ["WindowSaves"]


class WindowSaves(ChangeLog):
    """Window writes on a store's connection."""

    def save_window(
        self,
        model: str,
        window: WindowRecord,
        profile: bytes | None,
        results: Sequence[CheckResult],
    ) -> None:
        """Record an evaluated window and its results, replacing an earlier evaluation."""
        self.save_windows([EvaluatedWindow(model, window, profile, tuple(results))])

    def save_windows(
        self, evaluated: Sequence[EvaluatedWindow], cleared: Mapping[str, int] | None = None
    ) -> None:
        """Record evaluated windows (of any models) in one transaction.

        Each replaces its window's earlier evaluation. ``cleared`` maps models to the
        last change id their evaluations handled, forgotten
        in the same transaction: a crash before it commits loses neither a window nor
        the changes that call for it. A statement costs DuckDB about a millisecond, so
        a pass over thousands of models writes its windows a batch at a time.
        """
        cleared = dict(cleared or {})
        if not evaluated and not cleared:
            return
        stamp = pa.timestamp("us", tz="UTC")
        windows = [e.window for e in evaluated]
        results = [(e.model, e.window, r) for e in evaluated for r in e.results]
        again = [e for e in evaluated if e.window.revision > 1]  # a first has nothing to replace
        profiles = [e for e in evaluated if e.profile is not None]
        with self._transaction() as cursor:
            if again:
                keys = pa.table(
                    {
                        "model": pa.array([e.model for e in again], pa.string()),
                        "window_start": pa.array([e.window.start for e in again], stamp),
                        "window_key": [profile_key(e.model, e.window.start) for e in again],
                    }
                )
                with registered(cursor, keys) as view:
                    cursor.execute(
                        f"DELETE FROM results WHERE (model, window_start) IN "
                        f"(SELECT model, window_start FROM {view})"
                    )
                    cursor.execute(  # a window evaluated again without a profile has none
                        f"DELETE FROM window_profiles WHERE window_key IN "
                        f"(SELECT window_key FROM {view})"
                    )
            rows = {
                "model": [e.model for e in evaluated],
                "window_start": pa.array([w.start for w in windows], stamp),
                "window_end": pa.array([w.end for w in windows], stamp),
                "rows": pa.array([w.rows for w in windows], pa.int64()),
                "labelled": pa.array([w.labelled for w in windows], pa.int64()),
                "evaluated_at": pa.array([w.evaluated_at for w in windows], stamp),
                "labels_final": pa.array([w.labels_final for w in windows], pa.bool_()),
                "revision": pa.array([w.revision for w in windows], pa.int64()),
                "first_evaluated_at": pa.array(
                    [w.first_evaluated_at or w.evaluated_at for w in windows], stamp
                ),
                "late_rows": pa.array([w.late_rows for w in windows], pa.int64()),
                "late_labels": pa.array([w.late_labels for w in windows], pa.int64()),
                "changes_seen": pa.array([w.changes_seen for w in windows], pa.int64()),
            }
            insert_columns(cursor, "windows", rows, replace=True)
            insert_columns(
                cursor,
                "window_profiles",
                {
                    "window_key": [profile_key(e.model, e.window.start) for e in profiles],
                    "profile": pa.array([e.profile for e in profiles], pa.binary()),
                },
                replace=True,
            )
            insert_columns(cursor, "results", _result_columns(results))
            for model, through in cleared.items():
                cursor.execute(
                    "DELETE FROM data_changes WHERE model = ? AND id <= ?", [model, through]
                )
        for model in {e.model for e in evaluated}:
            self._written("windows", model)
        for model in cleared:
            self._written("changes", model)


def _result_columns(
    rows: Sequence[tuple[str, WindowRecord, CheckResult]],
) -> dict[str, pa.Array | list[Any]]:
    """The ``results`` table's columns for ``(model, window, result)`` rows."""
    stamp = pa.timestamp("us", tz="UTC")
    return {
        "model": [model for model, _, _ in rows],
        "window_start": pa.array([w.start for _, w, _ in rows], stamp),
        "window_end": pa.array([w.end for _, w, _ in rows], stamp),
        "check": pa.array([r.check.value for _, _, r in rows], pa.string()),
        "metric": pa.array([r.metric for _, _, r in rows], pa.string()),
        "column": pa.array([r.column for _, _, r in rows], pa.string()),
        "value": pa.array([_number(r.value) for _, _, r in rows], pa.float64()),
        "threshold": pa.array([_number(r.threshold) for _, _, r in rows], pa.float64()),
        "status": pa.array([r.status.value for _, _, r in rows], pa.string()),
        "severity": pa.array([r.severity.value for _, _, r in rows], pa.string()),
        "message": pa.array([r.message for _, _, r in rows], pa.string()),
        "details": pa.array(
            [orjson.dumps(plain_details(r.details), default=str).decode() for _, _, r in rows],
            pa.string(),
        ),
        "evaluated_at": pa.array([w.evaluated_at for _, w, _ in rows], stamp),
        "segment": pa.array([r.segment for _, _, r in rows], pa.string()),
        "score": pa.array([_number(r.score) for _, _, r in rows], pa.float64()),
    }


def _number(value: float | None) -> float | None:
    return None if value is None or value != value else float(value)
