"""The service's embedded store: one DuckDB file, one writer (the service).

Tables, created by numbered migrations (``schema_migrations`` records what ran):

- ``models``: each configured model, its key in the row tables and which pair it uses;
- ``predictions_g<n>``: the predictions of up to 100 models of one layout (see
  :mod:`mlvigil.service.row_tables`), a column per schema field (typed), plus
  ``model_version``, ``latency_ms``, ``error`` and ``received_at``, keyed by model;
- ``labels_g<n>``: those models' latest label per prediction id;
- ``row_tables``: the layout of each pair;
- ``ingest_batches``: idempotency keys of acknowledged batches, so a retried batch is
  not stored twice;
- ``windows``: every evaluated window, with its revision (how often it was evaluated)
  and the rows and labels that arrived after it was final;
- ``data_changes``: a log of rows and labels that arrived for windows already
  evaluated (written in the same transaction as the data), which the scheduler reads
  to re-evaluate those windows;
- ``window_profiles``: each window's profile, under a one-column key so that reading
  one is an index lookup (a filter on ``windows`` would scan every profile);
- ``results``: the :class:`~mlvigil.checks.result.CheckResult` rows of every window.

Every table keeps its rows for its retention (:meth:`Store.prune`, in
:mod:`mlvigil.service.pruning`).

Every write is one transaction; a method returns only after DuckDB committed it, so
an acknowledged write survives the process being killed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from mlvigil.checks.details import typed_details
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.service.batch_keys import IdempotencyConflictError, PredictionOutcome
from mlvigil.service.config import MODEL_KEY_COLUMN, ModelConfig
from mlvigil.service.migrations import MIGRATIONS
from mlvigil.service.pass_reads import group_rows
from mlvigil.service.pruning import Pruned, Pruning
from mlvigil.service.pushed import PushedProfiles
from mlvigil.service.row_tables import place_models
from mlvigil.service.row_writes import LabelOutcome, RowWrites
from mlvigil.service.store_base import quote, utc
from mlvigil.service.window_saves import WindowSaves
from mlvigil.service.windows import DataChange, EvaluatedWindow, WindowRecord, profile_key

__all__ = [
    "LABEL_COLUMN",
    "DataChange",
    "EvaluatedWindow",
    "IdempotencyConflictError",
    "LabelOutcome",
    "PredictionOutcome",
    "Pruned",
    "Store",
    "WindowRecord",
    "quote",
]

#: Name of the label column :meth:`Store.window_table` adds to each prediction.
LABEL_COLUMN = "__label"


class Store(RowWrites, Pruning, PushedProfiles, WindowSaves):
    """The DuckDB store of one service.

    Parameters
    ----------
    path
        The database file (created when missing); ``":memory:"`` for tests.
    models
        The configured models; their tables are created or extended to match.
    """

    def __init__(
        self,
        path: Path | str,
        models: Mapping[str, ModelConfig],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        memory_limit_bytes: int | None = None,
    ) -> None:
        super().__init__(path, memory_limit_bytes=memory_limit_bytes)
        self.clock = clock
        self.models = dict(models)
        self._migrate()
        with self._transaction() as cursor:
            self._rows, new = place_models(cursor, models)
        # Latest prediction time per model, read at its first insert; earliest and
        # latest, once read. A model registered now has no rows yet.
        self._newest = dict.fromkeys(new)
        self._spans = dict.fromkeys(new)
        # End of each model's latest evaluated window: data timed before it concerns an
        # evaluated window and is logged as a change (see ``mark_evaluating``).
        ends = dict(
            self._read("SELECT model, max(window_end) FROM windows GROUP BY model").fetchall()
        )
        self._evaluated_until: dict[str, datetime | None] = {
            name: utc(ends[name]) if ends.get(name) is not None else None for name in models
        }

    # -- schema ------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            row = cursor.execute("SELECT max(version) FROM schema_migrations").fetchone()
            done = row[0] if row and row[0] is not None else 0
            for version, sql in enumerate(MIGRATIONS[done:], start=done + 1):
                cursor.execute(sql)
                cursor.execute("INSERT INTO schema_migrations (version) VALUES (?)", [version])

    @property
    def schema_version(self) -> int:
        """How many migrations the database has run."""
        row = self._read("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    # -- rows ----------------------------------------------------------------------

    def label_lag(self, model: str, recent: int = 10_000) -> float | None:
        """Median seconds from prediction to label, over the ``recent`` latest labels."""
        rows = self._rows[model]
        schema = self.models[model].schema
        row = self._read(
            f"SELECT median(epoch(l.timestamp) - epoch(p.{quote(schema.timestamp)})) FROM "
            f"(SELECT * FROM {rows.labels} WHERE {rows.mine()} ORDER BY timestamp DESC "
            f"LIMIT ?) l JOIN {rows.predictions} p ON {rows.mine('p')} "
            f"AND p.{quote(schema.id)} = l.id",
            [recent],
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def window_table(self, model: str, start: datetime, end: datetime) -> pa.Table:
        """Predictions with ``start <= timestamp < end``, with their label (if any).

        An outcome posted with the label replaces the one sent with the prediction.
        """
        rows = self._rows[model]
        schema = self.models[model].schema
        later = ", ".join(
            f"coalesce(l.{quote(name)}, p.{quote(name)}) AS {quote(name)}"
            for name in schema.outcomes
        )
        columns = f"p.* EXCLUDE ({MODEL_KEY_COLUMN})" + (f" REPLACE ({later})" if later else "")
        time = f"p.{quote(schema.timestamp)}"
        cursor = self._connection.cursor()
        try:
            return cursor.sql(
                f"SELECT {columns}, l.label AS {quote(LABEL_COLUMN)} FROM {rows.predictions} p "
                f"LEFT JOIN {rows.labels} l ON {rows.mine('l')} AND l.id = p.{quote(schema.id)} "
                f"WHERE {rows.mine('p')} AND {time} >= ? AND {time} < ?",
                params=[start, end],
            ).to_arrow_table()
        finally:
            cursor.close()

    def data_range(self, model: str) -> tuple[datetime, datetime] | None:
        """Earliest and latest prediction timestamps of ``model``.

        Read once (for every model sharing its tables: one scan of them), then kept up
        to date by inserts and forgotten when rows are deleted: the scheduler asks for
        every model at every pass.
        """
        if model in self._spans:
            return self._spans[model]
        rows = self._rows[model]
        column = quote(self.models[model].schema.timestamp)
        with self._lock:  # not while an insert is between its commit and its update
            spans = {
                key: (utc(first), utc(last))
                for key, first, last in self._read(
                    f"SELECT {MODEL_KEY_COLUMN}, min({column}), max({column}) "
                    f"FROM {rows.predictions} GROUP BY {MODEL_KEY_COLUMN}"
                ).fetchall()
            }
            for name, tables in self._rows.items():
                if tables.predictions == rows.predictions and name not in self._spans:
                    self._spans[name] = spans.get(tables.key)
        return self._spans[model]

    def row_window_end(
        self, model: str, start: datetime, rows: int, *, partial: bool
    ) -> datetime | None:
        """End (exclusive) of the row-counted window of ``rows`` rows starting at ``start``.

        The timestamp of the next row once the window is full (just after its last row
        when no row follows yet); ``None`` while it has fewer rows, unless ``partial``,
        which closes it with the rows it has (``None`` only when it has none).
        """
        tables = self._rows[model]
        column = quote(self.models[model].schema.timestamp)
        mine = f"FROM {tables.predictions} WHERE {tables.mine()} AND {column} >= ?"
        row = self._read(
            f"SELECT {column} {mine} ORDER BY {column} LIMIT 1 OFFSET ?", [start, rows]
        ).fetchone()
        if row is not None:
            return utc(row[0])
        row = self._read(f"SELECT count(*), max({column}) {mine}", [start]).fetchone()
        count, last = (int(row[0]), row[1]) if row else (0, None)
        if last is None or (count < rows and not partial):
            return None
        return utc(last) + timedelta(microseconds=1)

    def rows_between(self, model: str, start: datetime, end: datetime) -> int:
        """Predictions of ``model`` with ``start <= timestamp < end``."""
        rows = self._rows[model]
        column = quote(self.models[model].schema.timestamp)
        row = self._read(
            f"SELECT count(*) FROM {rows.predictions} "
            f"WHERE {rows.mine()} AND {column} >= ? AND {column} < ?",
            [start, end],
        ).fetchone()
        return int(row[0]) if row else 0

    def counts(self, model: str) -> tuple[int, int]:
        """Predictions and labels stored for ``model``."""
        rows = self._rows[model]
        row = self._read(
            f"SELECT (SELECT count(*) FROM {rows.predictions} WHERE {rows.mine()}), "
            f"(SELECT count(*) FROM {rows.labels} WHERE {rows.mine()})"
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def windows(self, model: str) -> list[WindowRecord]:
        """Evaluated windows of ``model``, oldest first."""
        hit, cached = self._answer(
            "windows", model, self._every_models_windows, list[WindowRecord]()
        )
        if hit:
            return cached
        rows = self._read(
            f"SELECT {_WINDOW_COLUMNS} FROM windows WHERE model = ? ORDER BY window_start",
            [model],
        ).fetchall()
        return [_window_record(row) for row in rows]

    def _every_models_windows(self) -> dict[str, list[WindowRecord]]:
        rows = self._read(
            f"SELECT model, {_WINDOW_COLUMNS} FROM windows ORDER BY model, window_start"
        ).fetchall()
        return {
            model: [_window_record(row) for row in group]
            for model, group in group_rows(rows).items()
        }

    def last_received(self, model: str) -> datetime | None:
        """When the newest prediction of ``model`` arrived (store clock)."""
        rows = self._rows[model]
        row = self._read(
            f"SELECT max(received_at) FROM {rows.predictions} WHERE {rows.mine()}"
        ).fetchone()
        return None if row is None or row[0] is None else utc(row[0])

    def profile(self, model: str, start: datetime) -> bytes | None:
        """The stored profile of the window starting at ``start``."""
        row = self._read(
            "SELECT profile FROM window_profiles WHERE window_key = ?",
            [profile_key(model, start)],
        ).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def results(
        self,
        model: str,
        *,
        check: str | None = None,
        column: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        latest_only: bool = False,
        labels_final: bool = False,
        after: tuple[datetime, int] | None = None,
        limit: int | None = None,
    ) -> list[CheckResult]:
        """Stored results, oldest window first, stamped with their model and window.

        ``latest_only`` keeps the most recent evaluated window; with ``labels_final``,
        the most recent one whose labels have matured. A page: at most ``limit`` rows,
        ``after`` ``(window_start, n)`` those of windows from ``window_start`` on, less
        the first ``n`` (of that window, given on earlier pages).
        """
        where = ["model = ?"]
        params: list[Any] = [model]
        for sql, value in (
            ('"check" = ?', check),
            ('"column" = ?', column),
            ("window_start >= ?", start),
            ("window_end <= ?", end),
        ):
            if value is not None:
                where.append(sql)
                params.append(value)
        if latest_only:
            final = " AND labels_final" if labels_final else ""
            where.append(
                f"window_start = (SELECT max(window_start) FROM windows WHERE model = ?{final})"
            )
            params.append(model)
        if after is not None:
            where.append("window_start >= ?")
            params.append(after[0])
        page = f" LIMIT {int(limit)}" if limit is not None else ""
        page += f" OFFSET {int(after[1])}" if after is not None else ""
        cursor = self._read(
            'SELECT window_start, window_end, "check", metric, "column", value, threshold, '
            "status, severity, message, details, evaluated_at, segment, score FROM results WHERE "
            + " AND ".join(where)
            + ' ORDER BY window_start, "check", metric, "column", segment NULLS FIRST, rowid'
            + page,
            params,
        )
        return [_result(model, row) for row in cursor.fetchall()]

    def latest_results(self, model: str | None = None) -> list[CheckResult]:
        """Every model's current results (or ``model``'s), for alert rules and gauges.

        Those of its most recent evaluated window, except performance: a window's
        metrics count once its labels have matured, so they come from the most recent
        window whose labels are final (the latest window rarely has labels yet).
        """
        rows: list[CheckResult] = []
        for name in self.models if model is None else [model]:
            latest = self.results(name, latest_only=True)
            final = self.results(name, check="performance", latest_only=True, labels_final=True)
            rows.extend(r for r in latest if r.check is not CheckKind.PERFORMANCE)
            rows.extend(final)
        return rows


_WINDOW_COLUMNS = (
    "window_start, window_end, rows, labelled, evaluated_at, labels_final, "
    "revision, first_evaluated_at, late_rows, late_labels, changes_seen"
)


def _window_record(row: Sequence[Any]) -> WindowRecord:
    a, b, n, labelled, at, final, revision, first, late_rows, late_labels, seen = row
    return WindowRecord(
        utc(a),
        utc(b),
        int(n),
        int(labelled),
        utc(at),
        bool(final),
        int(revision),
        utc(first) if first else None,
        int(late_rows),
        int(late_labels),
        int(seen),
    )


def _result(model: str, row: tuple[Any, ...]) -> CheckResult:
    """A stored result row (as :meth:`Store.results` selects it) as the result it was."""
    start, end, check, metric, column, value, threshold = row[:7]
    status, severity, message, details, evaluated_at, segment, score = row[7:]
    return CheckResult(
        check=check,
        metric=metric,
        column=column,
        value=value,
        threshold=threshold,
        status=CheckStatus(status),
        severity=Severity(severity),
        message=message,
        details=typed_details(
            check, metric, column, status, orjson.loads(details) if details else {}
        ),
        timestamp=utc(evaluated_at),
        segment=segment,
        score=score,
        model=model,
        window_start=utc(start),
        window_end=utc(end),
    )
