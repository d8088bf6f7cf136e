"""Where the prediction logger's batches go: the mlvigil service, or local Parquet files.

A sink (the :class:`~mlvigil.telemetry.records.Sink` protocol) receives records of one
kind and one model per call. It raises
:class:`~mlvigil.telemetry.records.TransientSinkError` when trying again later may
succeed (the logger keeps the batch and retries with backoff) and
:class:`~mlvigil.telemetry.records.RejectedBatchError` when it never will (the logger
drops the batch, counted and logged).
"""

from __future__ import annotations

import hashlib
import math
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from mlvigil.telemetry.records import (
    LabelRecord,
    PredictionRecord,
    RejectedBatchError,
    TransientSinkError,
)

_R = TypeVar("_R")
_TRANSIENT_STATUS = frozenset({408, 425, 429})
#: The environment variable holding the service token the sink sends by default.
TOKEN_ENV = "MLVIGIL_TOKEN"
_RESERVED_COLUMNS = (
    "id",
    "timestamp",
    "model_version",
    "prediction",
    "score",
    "latency_ms",
    "error",
)


def iso_utc(timestamp: float) -> str:
    """ISO 8601 UTC with microseconds and a ``Z``.

    Examples
    --------
    >>> iso_utc(0.5)
    '1970-01-01T00:00:00.500000Z'
    """
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def batch_key(model: str, ids: Iterable[str]) -> str:
    """A key naming one batch: the same records always give the same key.

    Used as the ``Idempotency-Key`` so a receiver can recognise a retried batch whose
    first attempt was committed but whose response was lost.
    """
    digest = hashlib.sha256(model.encode())
    for record_id in ids:
        digest.update(b"\0" + record_id.encode())
    return digest.hexdigest()[:32]


class HttpSink:
    """Post batches as JSON to an mlvigil service.

    Predictions go to ``POST {base_url}/api/v1/models/{model}/predictions`` as
    ``{"records": [{"id", "timestamp", "model_version", "features", "prediction",
    "score", "latency_ms"}]}``, labels to ``.../labels`` as ``{"records": [{"id",
    "label", "timestamp"}]}``; timestamps are ISO 8601 UTC, NaN becomes null, numpy
    values are accepted.

    Parameters
    ----------
    base_url
        The service, e.g. ``http://mlvigil:8000``.
    client
        An ``httpx.Client`` to send with (it is not closed by the sink); a new one is
        created (and closed) otherwise.
    timeout
        Seconds per request when the sink creates the client.
    headers
        Extra headers on every request.
    token
        The service token (a token with the ``ingest`` scope), sent as
        ``Authorization: Bearer``; by default ``$MLVIGIL_TOKEN``, when set. A service
        with tokens refuses batches without one (401), and the logger drops them,
        counted as rejected and logged with the reason.

    Notes
    -----
    With several instances sharing the models (``shards`` in ``mlvigil.yaml``), any
    instance will do as ``base_url``: one that does not serve a model answers 421 with
    the instance that does, and the sink re-sends the batch there and sends that
    model's later batches there directly (with the same token).
    """

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        #: The instance serving each model, as a sharded service said (421 answers).
        self._instances: dict[str, str] = {}
        self._own_client = client is None
        self._client = httpx.Client(timeout=timeout) if client is None else client
        secret = (os.environ.get(TOKEN_ENV, "") if token is None else token).strip()
        bearer = {"Authorization": f"Bearer {secret}"} if secret else {}
        self._headers = {"Content-Type": "application/json", **bearer, **(headers or {})}

    def write_predictions(self, records: Sequence[PredictionRecord]) -> None:
        """Post one model's prediction records."""
        payload = [
            {
                "id": r.id,
                "timestamp": iso_utc(r.timestamp),
                "model_version": r.version,
                "features": r.features,
                "prediction": r.prediction,
                "score": r.score,
                "latency_ms": r.latency_ms,
                **({"error": r.error} if r.error is not None else {}),
                **r.outcomes,
            }
            for r in records
        ]
        self._post(records[0].model, "predictions", payload, (r.id for r in records))

    def write_labels(self, records: Sequence[LabelRecord]) -> None:
        """Post one model's label records."""
        payload = [
            {"id": r.id, "label": r.label, "timestamp": iso_utc(r.timestamp), **r.outcomes}
            for r in records
        ]
        self._post(records[0].model, "labels", payload, (f"label:{r.id}" for r in records))

    def close(self) -> None:
        """Close the HTTP client if the sink created it."""
        if self._own_client:
            self._client.close()

    def _post(
        self, model: str, kind: str, payload: list[dict[str, Any]], ids: Iterable[str]
    ) -> None:
        body = orjson.dumps(
            {"records": payload}, option=orjson.OPT_SERIALIZE_NUMPY, default=_jsonable
        )
        headers = {**self._headers, "Idempotency-Key": batch_key(model, ids)}
        url, response = self._send(model, kind, body, headers)
        instance = _other_instance(response)
        if instance is not None:  # a sharded service: the model is served there
            self._instances[model] = instance
            url, response = self._send(model, kind, body, headers)
        status = response.status_code
        if status < 300:
            return
        message = f"POST {url} answered {status}: {response.text[:500]}"
        if status in _TRANSIENT_STATUS or status >= 500:
            raise TransientSinkError(message)
        if status in (401, 403):
            message += f" (give the logger a token with the ingest scope: token= or ${TOKEN_ENV})"
        raise RejectedBatchError(message)

    def _send(
        self, model: str, kind: str, body: bytes, headers: dict[str, str]
    ) -> tuple[str, httpx.Response]:
        base = self._instances.get(model, self.base_url)
        url = f"{base}/api/v1/models/{quote(model, safe='')}/{kind}"
        try:
            return url, self._client.post(url, content=body, headers=headers)
        except httpx.TransportError as error:
            raise TransientSinkError(f"POST {url} failed: {error!r}") from error


def _other_instance(response: httpx.Response) -> str | None:
    """The instance a ``421 Misdirected Request`` names (see ``mlvigil.service.shards``)."""
    if response.status_code != 421:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    instance = data.get("instance") if isinstance(data, dict) else None
    if not isinstance(instance, str) or not instance.startswith(("http://", "https://")):
        return None
    return instance.rstrip("/")


def _jsonable(value: object) -> object:
    """Fallback for orjson: numpy scalars it does not know, sets, anything else as text."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


class ParquetSink:
    """Write batches as Parquet files partitioned by model, date and hour (UTC).

    Predictions land in ``directory/model=<m>/date=YYYY-MM-DD/hour=HH/`` and labels in
    ``directory/labels/model=<m>/...``, one file per batch and partition, written under
    a temporary name and renamed so a reader never sees a partial file. Read them back
    with ``pyarrow.dataset.dataset(directory, partitioning="hive")`` or DuckDB's
    ``read_parquet('directory/**/*.parquet', hive_partitioning = true)``.

    Prediction files hold ``id``, ``timestamp`` (UTC), ``model_version``,
    ``prediction``, ``score``, ``latency_ms`` and one column per feature; a feature
    named like one of those is written as ``feature.<name>``; business outcomes follow,
    one column each (``outcome.<name>`` on a clash), in label files too. A column whose values
    mix types (say numbers and strings) is written as strings rather than lost.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        # The first Parquet write imports modules lazily (pandas metadata support,
        # concurrent.futures); done at interpreter exit, that import fails, so do it now.
        pq.write_table(_table({"id": ["warm-up"]}), pa.BufferOutputStream())

    def write_predictions(self, records: Sequence[PredictionRecord]) -> None:
        """Write one model's prediction records, one file per hour they fall in."""
        for (date, hour), part in _by_hour(records, lambda r: r.timestamp).items():
            columns: dict[str, list[Any]] = {
                "id": [r.id for r in part],
                "timestamp": [_utc(r.timestamp) for r in part],
                "model_version": [r.version for r in part],
                "prediction": [r.prediction for r in part],
                "score": [r.score for r in part],
                "latency_ms": [r.latency_ms for r in part],
            }
            if any(r.error is not None for r in part):
                columns["error"] = [r.error for r in part]
            features = dict.fromkeys(name for r in part for name in r.features)
            for name in features:
                column = f"feature.{name}" if name in _RESERVED_COLUMNS else name
                columns[column] = [r.features.get(name) for r in part]
            _add_outcomes(columns, part)
            folder = self.directory / _partition(records[0].model, date, hour)
            _write_atomically(_table(columns), folder, "predictions")

    def write_labels(self, records: Sequence[LabelRecord]) -> None:
        """Write one model's label records under ``labels/``."""
        for (date, hour), part in _by_hour(records, lambda r: r.timestamp).items():
            columns: dict[str, list[Any]] = {
                "id": [r.id for r in part],
                "label": [r.label for r in part],
                "timestamp": [_utc(r.timestamp) for r in part],
            }
            _add_outcomes(columns, part)
            folder = self.directory / "labels" / _partition(records[0].model, date, hour)
            _write_atomically(_table(columns), folder, "labels")

    def close(self) -> None:
        """Nothing to release: every batch is a complete file."""


def _add_outcomes(
    columns: dict[str, list[Any]], part: Sequence[PredictionRecord | LabelRecord]
) -> None:
    """One column per business outcome; ``outcome.<name>`` where a column has its name."""
    for name in dict.fromkeys(name for r in part for name in r.outcomes):
        column = f"outcome.{name}" if name in columns else name
        columns[column] = [r.outcomes.get(name) for r in part]


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _by_hour(
    records: Sequence[_R], timestamp: Callable[[_R], float]
) -> dict[tuple[str, str], list[_R]]:
    parts: dict[tuple[str, str], list[_R]] = {}
    for record in records:
        moment = _utc(timestamp(record))
        key = (moment.strftime("%Y-%m-%d"), moment.strftime("%H"))
        parts.setdefault(key, []).append(record)
    return parts


def _partition(model: str, date: str, hour: str) -> Path:
    return Path(f"model={quote(model, safe='')}", f"date={date}", f"hour={hour}")


def _table(columns: Mapping[str, list[Any]]) -> pa.Table:
    return pa.table({name: _array(values) for name, values in columns.items()})


def _array(values: list[Any]) -> pa.Array:
    """Arrow array of ``values``; mixed types become strings; NaN stays a float."""
    try:
        return pa.array(values, from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else _text(v) for v in values], pa.string())


def _text(value: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value if isinstance(value, str) else str(value)


def _write_atomically(table: pa.Table, folder: Path, stem: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{stem}-{uuid.uuid4().hex}.parquet"
    partial = folder / f".{name}.tmp"
    pq.write_table(table, partial)
    os.replace(partial, folder / name)
