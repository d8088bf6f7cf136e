"""What the prediction logger ships, and the contract of the sinks that receive it.

The records, their ids, the :class:`Sink` protocol and the two errors a sink raises
live here, below both :mod:`~mlvigil.telemetry.prediction_log` (which queues records
and sends them) and :mod:`~mlvigil.telemetry.sinks` (which delivers them), so neither
of the two imports the other to know what a record is. Importing this module costs
nothing: no HTTP client, no Arrow.

A sink raises :class:`TransientSinkError` when trying again later may succeed (the
logger keeps the batch and retries with backoff) and :class:`RejectedBatchError` when it
never will (the logger drops the batch, counted and logged).
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from mlvigil.exceptions import ReceiverError

__all__ = [
    "LabelRecord",
    "PredictionRecord",
    "RejectedBatchError",
    "Sink",
    "TransientSinkError",
    "new_prediction_id",
]


#: No business outcomes (read-only, so one instance serves every record).
NO_OUTCOMES: Mapping[str, float | None] = MappingProxyType({})


class PredictionRecord(NamedTuple):
    """One prediction as shipped: what went in, what came out, how long it took."""

    id: str
    timestamp: float
    """Seconds since the epoch (``time.time()``)."""
    model: str
    version: str
    features: Mapping[str, Any]
    prediction: Any
    score: float | None
    latency_ms: float | None
    outcomes: Mapping[str, float | None] = NO_OUTCOMES
    """Business outcomes known at prediction time (the schema's ``outcomes``)."""
    error: bool | None = None
    """Whether serving the request failed (a fallback answer was given); unknown: None."""


class LabelRecord(NamedTuple):
    """The true outcome of prediction ``id``, known later."""

    id: str
    model: str
    label: Any
    timestamp: float
    outcomes: Mapping[str, float | None] = NO_OUTCOMES
    """Business outcomes known with the label (revenue once a loan is repaid)."""


class TransientSinkError(ReceiverError):
    """The batch could not be delivered now; retrying later may succeed."""


class RejectedBatchError(ReceiverError):
    """The receiver refused the batch; retrying it would fail again."""


class Sink(Protocol):
    """Destination of prediction and label batches (one kind and one model per call)."""

    def write_predictions(self, records: Sequence[PredictionRecord]) -> None:
        """Deliver prediction records, all of one model."""

    def write_labels(self, records: Sequence[LabelRecord]) -> None:
        """Deliver label records, all of one model."""

    def close(self) -> None:
        """Release connections and files."""


# -- prediction ids: a random per-process prefix and a counter --------------------


def _new_id_source() -> tuple[str, itertools.count[int]]:
    return secrets.token_hex(6), itertools.count()


_id_prefix, _id_counter = _new_id_source()


def new_prediction_id() -> str:
    """A prediction id unique across processes: random prefix, then a counter.

    Much cheaper than a UUID; a forked worker gets a fresh prefix.

    Examples
    --------
    >>> first, second = new_prediction_id(), new_prediction_id()
    >>> first != second and first.split("-")[0] == second.split("-")[0]
    True
    """
    return f"{_id_prefix}-{next(_id_counter):x}"


def _fresh_ids_in_child() -> None:
    global _id_prefix, _id_counter
    _id_prefix, _id_counter = _new_id_source()


os.register_at_fork(after_in_child=_fresh_ids_in_child)
