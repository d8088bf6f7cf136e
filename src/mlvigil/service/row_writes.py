"""The store's ingest writes: prediction and label batches, each one transaction.

A batch is committed whole or not at all, with its idempotency key and its entry in
the data-change log (:mod:`mlvigil.service.change_log`), so an acknowledged batch is
stored once and the windows it concerns are evaluated again. Which rows are the same
as stored ones is :mod:`mlvigil.service.batch_keys`'s rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.service.batch_keys import PredictionOutcome, claim_key, last_per_key
from mlvigil.service.change_log import ChangeLog
from mlvigil.service.config import MODEL_KEY_COLUMN, VERSION_COLUMN, ModelConfig
from mlvigil.service.row_tables import RowTables
from mlvigil.service.store_base import quote, utc

__all__ = ["LabelOutcome", "RowWrites"]


@dataclass(frozen=True)
class LabelOutcome:
    """What a label batch did."""

    stored: int
    unknown_ids: int
    duplicate: bool = False


class RowWrites(ChangeLog):
    """Prediction and label writes on a store's connection (set up by the store)."""

    models: dict[str, ModelConfig]
    clock: Callable[[], datetime]
    #: Each model's prediction and label tables, and its key in them.
    _rows: dict[str, RowTables]
    #: Each model's latest prediction timestamp, once read (see ``_newest_prediction``).
    _newest: dict[str, datetime | None]
    #: Each model's earliest and latest prediction timestamps, once read (``data_range``).
    _spans: dict[str, tuple[datetime, datetime] | None]

    def insert_predictions(
        self,
        model: str,
        table: pa.Table,
        *,
        idempotency_key: str | None = None,
        body_hash: str | None = None,
    ) -> PredictionOutcome:
        """Store prediction rows (columns named as in the schema), committed on return.

        A prediction is its id at its timestamp by its ``model_version``: one sent again
        replaces the stored one (and within the batch, the last of repeated rows is
        kept); see :mod:`mlvigil.service.batch_keys`.

        Raises
        ------
        IdempotencyConflictError
            When ``idempotency_key`` was used for a body of another ``body_hash``.
        """
        tables = self._rows[model]
        schema = self.models[model].schema
        # In the table's order first: every stored column is there, model_version too.
        key = [schema.id, schema.timestamp, VERSION_COLUMN]
        rows = last_per_key(self._in_table_order(model, table), key)
        times = pc.min_max(rows.column(schema.timestamp))
        first, last = times["min"].as_py(), times["max"].as_py()
        id_column, time_column = quote(schema.id), quote(schema.timestamp)
        keys = pa.table(
            {
                "id": rows.column(schema.id),
                "ts": rows.column(schema.timestamp),
                "version": rows.column(VERSION_COLUMN),
            }
        )
        with self._transaction() as cursor:
            if claim_key(
                cursor,
                model=model,
                kind="predictions",
                key=idempotency_key,
                digest=body_hash,
                rows=table.num_rows,
            ):
                return PredictionOutcome(0, duplicate=True)
            replaced = 0
            newest = self._newest_prediction(cursor, model)
            if newest is not None and first <= newest:  # else no stored row can repeat one
                cursor.register("incoming_keys", keys)
                # The time range first, so DuckDB reads only the row groups of that range
                # (by their min/max), not every id stored.
                deleted = cursor.execute(
                    f"DELETE FROM {tables.predictions} p USING incoming_keys k "
                    f"WHERE {tables.mine('p')} AND p.{time_column} BETWEEN ? AND ? "
                    f"AND p.{time_column} = k.ts AND p.{id_column} = k.id "
                    f"AND p.{VERSION_COLUMN} IS NOT DISTINCT FROM k.version",
                    [first, last],
                ).fetchone()
                cursor.unregister("incoming_keys")
                replaced = int(deleted[0]) if deleted else 0
            # The relation API skips the SQL planner: a one-row batch commits in about
            # half the time of INSERT ... SELECT from a registered table.
            cursor.from_arrow(rows).insert_into(tables.predictions)
            self._newest[model] = last if newest is None else max(newest, last)
            self._log_change(cursor, model, "predictions", first, last, len(rows))
        with self._lock:  # committed: the known range of the model's rows grows
            if model in self._spans:
                span = self._spans[model]
                self._spans[model] = (
                    (first, last) if span is None else (min(span[0], first), max(span[1], last))
                )
        return PredictionOutcome(rows.num_rows, replaced)

    def _newest_prediction(self, cursor: duckdb.DuckDBPyConnection, model: str) -> datetime | None:
        """The latest prediction timestamp of ``model``, read once, then kept up to date.

        Only ever too late (a batch rolled back after raising it), which costs a useless
        search for repeated rows, never a missed one; deletions only remove older rows.
        """
        if model not in self._newest:
            tables = self._rows[model]
            column = quote(self.models[model].schema.timestamp)
            rows = cursor.execute(
                f"SELECT max({column}) FROM {tables.predictions} WHERE {tables.mine()}"
            ).fetchall()
            newest = rows[0][0] if rows else None
            self._newest[model] = utc(newest) if newest is not None else None
        return self._newest[model]

    def _in_table_order(self, model: str, table: pa.Table) -> pa.Table:
        """``table`` with every stored column, in the table's order, stamped now."""
        now = pa.scalar(self.clock(), pa.timestamp("us", tz="UTC"))
        size = table.num_rows
        arrays = []
        tables = self._rows[model]
        layout = tables.arrow_layout
        for name, arrow_type in layout:
            if name == MODEL_KEY_COLUMN:
                arrays.append(pa.repeat(pa.scalar(tables.key, arrow_type), size))
            elif name == "received_at":
                arrays.append(pa.repeat(now, size))
            elif name in table.column_names:
                arrays.append(table.column(name).cast(arrow_type))
            else:
                arrays.append(pa.nulls(size, arrow_type))
        return pa.table(arrays, names=[name for name, _ in layout])

    def insert_labels(
        self,
        model: str,
        table: pa.Table,
        *,
        idempotency_key: str | None = None,
        body_hash: str | None = None,
    ) -> LabelOutcome:
        """Store labels (columns ``id``, ``label``, ``timestamp``); a newer label replaces.

        Within the batch too: the last label of an id is the one stored. Outcome
        columns of the schema, when the table has them, are stored with the label.

        Raises
        ------
        IdempotencyConflictError
            When ``idempotency_key`` was used for a body of another ``body_hash``.
        """
        tables = self._rows[model]
        schema = self.models[model].schema
        id_column, time_column = quote(schema.id), quote(schema.timestamp)
        received = table.num_rows
        table = last_per_key(table, ["id"])
        with self._transaction() as cursor:
            if claim_key(
                cursor,
                model=model,
                kind="labels",
                key=idempotency_key,
                digest=body_hash,
                rows=received,
            ):
                return LabelOutcome(0, 0, duplicate=True)
            cursor.register("incoming", table)
            # One join says which ids are unknown and which predictions the labels concern.
            row = cursor.execute(
                f"SELECT count(*) FILTER (WHERE p.{id_column} IS NULL), min(p.{time_column}), "
                f"max(p.{time_column}) FROM incoming i "
                f"LEFT JOIN {tables.predictions} p ON {tables.mine('p')} AND p.{id_column} = i.id"
            ).fetchone()
            outcomes = "".join(
                f", {quote(name)}" for name in schema.outcomes if name in table.column_names
            )
            cursor.execute(
                f"INSERT OR REPLACE INTO {tables.labels} "
                f"({MODEL_KEY_COLUMN}, id, label, timestamp, received_at{outcomes}) "
                f"SELECT ?, id, label, timestamp, ?{outcomes} FROM incoming",
                [tables.key, self.clock()],
            )
            cursor.unregister("incoming")
            unknown, first_at, last_at = row if row else (0, None, None)
            self._log_change(
                cursor,
                model,
                "labels",
                utc(first_at) if first_at else None,
                utc(last_at) if last_at else None,
                table.num_rows,
            )
        return LabelOutcome(table.num_rows, int(unknown or 0))
