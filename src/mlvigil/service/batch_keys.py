"""What makes a batch or a row the same as one stored before: idempotency keys and ids.

- **A batch** sent with an ``Idempotency-Key`` is stored once: the key is kept with a
  hash of the body (:func:`body_digest`), and the same key again is a no-op when the
  body is the same (a retry) and refused with :class:`IdempotencyConflictError` (409)
  when it is not: a client that reuses a key for new rows would otherwise lose them.
- **A prediction** is its id at its timestamp by its model version: sent again (a
  retry without a key, a replayed file), it replaces the stored one, so it is counted
  once. The same id at another time is another prediction (a model scoring the same
  loan every day), and so is another version's (a shadow scoring the same rows).
- **A label** is the label of an id: a newer one replaces the stored one, and within
  one batch the last one for an id wins (:func:`last_per_key`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from mlvigil.exceptions import InputError

__all__ = [
    "IdempotencyConflictError",
    "PredictionOutcome",
    "body_digest",
    "claim_key",
    "last_per_key",
]


class IdempotencyConflictError(InputError):
    """An idempotency key already used for a different body; nothing was stored."""

    def __init__(self, kind: str, key: str) -> None:
        shown = key if len(key) <= 80 else key[:77] + "..."
        super().__init__(
            f"Idempotency-Key {shown!r} was already used for a different {kind} batch; "
            "nothing was stored: send new rows under a new key, and a retry with the "
            "same body as the first attempt"
        )


@dataclass(frozen=True)
class PredictionOutcome:
    """What a prediction batch did.

    Attributes
    ----------
    stored
        Rows stored: the batch's, less the earlier of rows it repeated.
    replaced
        Stored predictions it replaced (the same id and timestamp sent again).
    duplicate
        Whether it repeated an acknowledged batch (same idempotency key and body), in
        which case nothing was stored again.
    """

    stored: int
    replaced: int = 0
    duplicate: bool = False


def body_digest(body: bytes, kind: str) -> str:
    """The hash an idempotency key is kept with: of the body and its media type.

    Examples
    --------
    >>> body_digest(b'{"records": []}', "json")[:16]
    '0e2f4411beca2257'
    """
    return hashlib.sha256(kind.encode() + b"\n" + body).hexdigest()


def claim_key(
    cursor: duckdb.DuckDBPyConnection,
    *,
    model: str,
    kind: str,
    key: str | None,
    digest: str | None,
    rows: int,
) -> bool:
    """Record ``key`` for this batch, in its transaction; whether it was seen before.

    Raises
    ------
    IdempotencyConflictError
        When the key was used for a body with another digest (keys stored before
        digests were kept match any body, as they did then).
    """
    if key is None:
        return False
    known = cursor.execute(
        "SELECT body_hash FROM ingest_batches WHERE model = ? AND kind = ? AND idempotency_key = ?",
        [model, kind, key],
    ).fetchone()
    if known is not None:
        if known[0] is not None and digest is not None and known[0] != digest:
            raise IdempotencyConflictError(kind, key)
        return True
    cursor.execute(
        "INSERT INTO ingest_batches (model, kind, idempotency_key, rows, body_hash) "
        "VALUES (?, ?, ?, ?, ?)",
        [model, kind, key, rows, digest],
    )
    return False


def last_per_key(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """``table`` with only the last row of each value of ``keys``, in order.

    Examples
    --------
    >>> rows = pa.table({"id": ["a", "b", "a"], "label": [0, 1, 1]})
    >>> last_per_key(rows, ["id"]).to_pylist()
    [{'id': 'b', 'label': 1}, {'id': 'a', 'label': 1}]
    """
    if table.num_rows < 2:
        return table
    if any(_increasing(table.column(k)) for k in keys):
        return table  # the usual batch, in time order: its keys are distinct
    order = "__mlvigil_row"
    indexed = table.select(list(keys)).append_column(order, pa.array(np.arange(table.num_rows)))
    last = indexed.group_by(list(keys), use_threads=False).aggregate([(order, "max")])
    if last.num_rows == table.num_rows:
        return table
    return table.take(np.sort(last.column(f"{order}_max").to_numpy()))


def _increasing(column: pa.ChunkedArray) -> bool:
    """Whether a timestamp column without nulls strictly increases (then its values differ)."""
    if not pa.types.is_timestamp(column.type) or column.null_count:
        return False
    values = column.cast(pa.int64()).to_numpy()
    return bool(np.all(values[1:] > values[:-1]))
