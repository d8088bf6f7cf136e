"""The alerting half of the store: alert states, events, groups, silences, the outbox.

Alert states, their events, notification groups and queued notifications are saved in
one transaction (:meth:`AlertStore.save_alerts`), so a crash can neither record a
"fired" without its notification nor send a notification twice.

The outbox keeps, per notification, its receiver and group (``group_key``), its
delivery attempts and, once a newer notification of the same receiver and group was
queued before it was delivered, ``superseded_by``: a superseded notification is never
sent, and a notification is due only when no older one of its group is still
undelivered (:mod:`mlvigil.alerts.outbox`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from mlvigil.alerts.outbox import group_key, supersede
from mlvigil.service.pass_reads import PassReads
from mlvigil.service.store_base import insert_columns, utc

__all__ = ["AlertStore"]


class AlertStore(PassReads):
    """Alert persistence on a store's connection."""

    def save_alerts(
        self,
        states: Mapping[str, dict[str, Any]] | None,
        events: Sequence[tuple[str, str, dict[str, Any]]],
        notifications: Sequence[tuple[str, dict[str, Any]]],
        groups: Mapping[str, dict[str, Any]],
        *,
        now: datetime,
    ) -> None:
        """Save alert states, events, notification groups and queued notifications at once.

        States (unless ``None``) and groups replace the previous ones; events
        ``(key, kind, alert)`` and notifications ``(receiver, notification)`` are
        appended, each superseding the undelivered ones of its receiver and group. A
        crash can neither record a transition or a group's "notified" without its
        notification nor the reverse. ``now`` is the service's clock: events are
        stamped with it and notifications are due from it.
        """
        with self._transaction() as cursor:
            for receiver, notification in notifications:
                self._queue(cursor, receiver, notification, now)
            if states is not None:
                cursor.execute("DELETE FROM alert_state")
                insert_columns(
                    cursor,
                    "alert_state",
                    {
                        "alert_key": pa.array(list(states), pa.string()),
                        "state": _json(states.values()),
                        "updated_at": _times(now, len(states)),
                    },
                )
            cursor.execute("DELETE FROM alert_groups")
            insert_columns(
                cursor,
                "alert_groups",
                {"group_id": pa.array(list(groups), pa.string()), "state": _json(groups.values())},
            )
            insert_columns(
                cursor,
                "alert_events",
                {
                    "happened_at": _times(now, len(events)),
                    "alert_key": pa.array([key for key, _, _ in events], pa.string()),
                    "kind": pa.array([kind for _, kind, _ in events], pa.string()),
                    "alert": _json(alert for _, _, alert in events),
                },
            )

    def _queue(
        self,
        cursor: duckdb.DuckDBPyConnection,
        receiver: str,
        notification: dict[str, Any],
        now: datetime,
    ) -> None:
        """Queue one notification; the undelivered ones of its group are superseded."""
        key = group_key(notification)
        older = cursor.execute(
            "SELECT id, notification FROM outbox WHERE receiver = ? AND group_key = ? "
            "AND delivered_at IS NULL AND superseded_by IS NULL ORDER BY id",
            [receiver, key],
        ).fetchall()
        if older:
            notification = supersede([orjson.loads(body) for _, body in older], notification)
        row = cursor.execute(
            "INSERT INTO outbox (receiver, group_key, notification, created_at, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            [receiver, key, orjson.dumps(notification).decode(), now, now],
        ).fetchone()
        assert row is not None
        if older:
            cursor.executemany(
                "UPDATE outbox SET superseded_by = ?, superseded_at = ? WHERE id = ?",
                [(row[0], now, old_id) for old_id, _ in older],
            )

    def alert_groups(self) -> dict[str, dict[str, Any]]:
        """Every notification group's state, by id."""
        rows = self._read("SELECT group_id, state FROM alert_groups").fetchall()
        return {key: orjson.loads(state) for key, state in rows}

    def save_silence(self, silence: dict[str, Any]) -> None:
        """Create or update a silence (as :meth:`Silence.to_dict` gives it)."""
        with self._transaction() as cursor:
            cursor.execute(
                "INSERT OR REPLACE INTO silences VALUES (?, ?)",
                [silence["id"], orjson.dumps(silence).decode()],
            )

    def silences(self) -> list[dict[str, Any]]:
        """Every silence ever created."""
        rows = self._read("SELECT silence FROM silences").fetchall()
        return [orjson.loads(row[0]) for row in rows]

    def due_notifications(self, now: datetime, limit: int = 100) -> list[tuple[int, str, Any, int]]:
        """Notifications to send now, oldest first: (id, receiver, body, attempts).

        Undelivered, not superseded, their next attempt due, and the oldest of their
        receiver and group still undelivered (a later one waits for it).
        """
        rows = self._read(
            "SELECT id, receiver, notification, attempts FROM outbox AS o "
            "WHERE delivered_at IS NULL AND superseded_by IS NULL AND next_attempt_at <= ? "
            "AND NOT EXISTS (SELECT 1 FROM outbox AS e WHERE e.receiver = o.receiver "
            "AND e.group_key = o.group_key AND e.id < o.id AND e.delivered_at IS NULL "
            "AND e.superseded_by IS NULL) ORDER BY id LIMIT ?",
            [now, limit],
        ).fetchall()
        return [(int(i), r, orjson.loads(n), int(a)) for i, r, n, a in rows]

    def still_to_send(self, notification_id: int) -> bool:
        """Whether notification ``notification_id`` is neither delivered nor superseded."""
        row = self._read(
            "SELECT delivered_at IS NULL AND superseded_by IS NULL FROM outbox WHERE id = ?",
            [notification_id],
        ).fetchone()
        return bool(row and row[0])

    def mark_delivered(self, notification_id: int, when: datetime) -> None:
        """Record that the receiver accepted notification ``notification_id``."""
        with self._transaction() as cursor:
            cursor.execute(
                "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
                [when, notification_id],
            )

    def retry_later(self, notification_id: int, when: datetime, error: str) -> None:
        """Schedule another attempt of notification ``notification_id``."""
        with self._transaction() as cursor:
            cursor.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                "WHERE id = ?",
                [when, error, notification_id],
            )

    def outbox(self) -> list[dict[str, Any]]:
        """Every queued notification with its delivery state, oldest first."""
        cursor = self._read(
            "SELECT id, receiver, group_key, created_at, attempts, next_attempt_at, delivered_at, "
            "superseded_by, superseded_at, last_error FROM outbox ORDER BY id"
        )
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def alert_states(self) -> dict[str, dict[str, Any]]:
        """Every alert's last saved state, by key."""
        rows = self._read("SELECT alert_key, state FROM alert_state").fetchall()
        return {key: orjson.loads(state) for key, state in rows}

    def alert_events(self, limit: int = 1_000) -> list[dict[str, Any]]:
        """The latest alert events (firing, resolved), newest first."""
        rows = self._read(
            "SELECT happened_at, kind, alert FROM alert_events ORDER BY happened_at DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [
            {"at": utc(at).isoformat(), "kind": kind, "alert": orjson.loads(alert)}
            for at, kind, alert in rows
        ]


def _json(values: Iterable[Any]) -> pa.Array:
    return pa.array([orjson.dumps(value).decode() for value in values], pa.string())


def _times(moment: datetime, count: int) -> pa.Array:
    return pa.array([moment] * count, pa.timestamp("us", tz="UTC"))
