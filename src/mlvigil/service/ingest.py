"""Turn request bodies into typed Arrow tables that match a model's schema.

Bodies: JSON (``{"records": [...]}`` or a bare list; each record flat or with its
features under ``"features"``, as the SDK's prediction logger sends them), Arrow IPC
(stream or file) and Parquet, both with one column per field.

A batch is all or nothing: if any record is bad, the whole batch is rejected with the
problems listed (row number, field, what is wrong, the first :data:`MAX_PROBLEMS`),
and nothing is stored. The client fixes or drops those rows and sends again; no row is
ever half-accepted. A feature missing from a record is stored as null (missing values
are what data-quality checks are for), and fields the schema does not name are ignored.

Values take their column's declared type the same way on every path
(:mod:`mlvigil.io.conform`): a class ``1``, ``1.0`` or ``"1"`` is stored as ``"1"``,
timestamps may be ISO 8601 text in JSON, Arrow and Parquet alike. Records name their
fields as the schema names the columns (e.g. ``loan_id``, ``default``), or by their
role, as the SDK sends them: ``id``, ``timestamp``, ``prediction``, ``score`` and, for
labels, ``label``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from mlvigil.exceptions import InputError
from mlvigil.io.conform import STORED_TYPES, ConformError, as_boolean, category_text, conform_column
from mlvigil.schema import ColumnType
from mlvigil.service.config import ModelConfig

MAX_PROBLEMS = 20

JSON_TYPES = ("application/json",)
ARROW_TYPES = ("application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file")
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")


@dataclass(frozen=True)
class Problem:
    """One bad value: its row (0-based, ``None`` for the whole body), field and why."""

    row: int | None
    field: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON view for error responses."""
        return {"row": self.row, "field": self.field, "message": self.message}


class BadBatchError(InputError):
    """A batch with bad records; nothing of it was stored."""

    def __init__(self, problems: Sequence[Problem], total: int | None = None) -> None:
        self.problems = list(problems)[:MAX_PROBLEMS]
        self.total = len(problems) if total is None else total
        first = self.problems[0]
        where = f"row {first.row}" if first.row is not None else "body"
        field = f", field {first.field!r}" if first.field else ""
        more = f" (and {self.total - 1} more problems)" if self.total > 1 else ""
        super().__init__(f"{where}{field}: {first.message}{more}; nothing was stored")


# -- value converters: return the stored value, or raise ValueError saying why ---------


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if type(value) is bool or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {_show(value)}")
    return float(value)


def _text(value: Any) -> str | None:
    if isinstance(value, dict | list):
        raise ValueError(f"expected text, got {_show(value)}")
    return category_text(value)


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        if isinstance(value, int | float) and type(value) is not bool and math.isfinite(value):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise ValueError(
        f"expected an ISO 8601 time (e.g. 2026-11-24T12:00:00Z) or epoch seconds between "
        f"years 1 and 9999, got {_show(value)}"
    )


def _show(value: Any) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 40 else text[:37] + "..."


_CONVERTERS: dict[ColumnType, Callable[[Any], Any]] = {
    ColumnType.NUMERICAL: _number,
    ColumnType.CATEGORICAL: _text,
    ColumnType.TEXT: _text,
    ColumnType.BOOLEAN: as_boolean,
    ColumnType.DATETIME: _moment,
}


@dataclass(frozen=True)
class _Field:
    name: str
    kind: ColumnType
    required: bool
    aliases: tuple[str, ...] = ()
    """Other names the field may have in a record or column (the first present wins)."""

    @property
    def convert(self) -> Callable[[Any], Any]:
        return _CONVERTERS[self.kind]

    @property
    def arrow_type(self) -> pa.DataType:
        return STORED_TYPES[self.kind]

    def pick(self, names: Sequence[str] | Mapping[str, Any]) -> str | None:
        """The name this field has among ``names``, if any."""
        return next((n for n in (self.name, *self.aliases) if n in names), None)


def _role_names(name: str, role: str) -> tuple[str, ...]:
    """The generic name of a role (what the SDK sends) when the schema renamed it."""
    return () if name == role else (role,)


def _prediction_fields(config: ModelConfig) -> list[_Field]:
    schema = config.schema
    fields = [
        _Field(schema.id, ColumnType.TEXT, True, _role_names(schema.id, "id")),
        _Field(
            schema.timestamp, ColumnType.DATETIME, True, _role_names(schema.timestamp, "timestamp")
        ),
        _Field("model_version", ColumnType.TEXT, False),
        _Field("latency_ms", ColumnType.NUMERICAL, False),
    ]
    roles = {schema.prediction: "prediction"}
    if schema.score is not None:
        roles[schema.score] = "score"
    fields.extend(
        _Field(name, kind, name == schema.prediction, _role_names(name, roles.get(name, name)))
        for name, kind in config.column_types.items()
    )
    return fields


def _label_fields(config: ModelConfig) -> list[_Field]:
    schema = config.schema
    return [
        _Field("id", ColumnType.TEXT, True, (schema.id,)),
        _Field("label", config.target_type, True, (schema.target,)),
        _Field("timestamp", ColumnType.DATETIME, False, (schema.timestamp,)),
    ]


# -- JSON --------------------------------------------------------------------------


def _json_records(body: bytes) -> list[Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadBatchError([Problem(None, None, f"malformed JSON: {error}")]) from None
    records = data.get("records") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise BadBatchError(
            [Problem(None, None, 'expected {"records": [...]} or a JSON list of records')]
        )
    if not records:
        raise BadBatchError([Problem(None, None, "the batch has no records")])
    return records


def _from_records(records: list[Any], fields: Sequence[_Field]) -> pa.Table:
    problems: list[Problem] = []
    flat: list[Mapping[str, Any]] = []
    not_objects: set[int] = set()
    for row, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append(Problem(row, None, f"expected an object, got {_show(record)}"))
            not_objects.add(row)
            flat.append({})
            continue
        features = record.get("features")
        flat.append({**features, **record} if isinstance(features, dict) else record)
    columns: dict[str, pa.Array] = {}
    for field in fields:
        values: list[Any] = []
        convert, aliases = field.convert, field.aliases
        for row, record in enumerate(flat):
            raw = record.get(field.name)
            if raw is None and aliases:
                name = field.pick(record)
                raw = record.get(name) if name is not None else None
            if row in not_objects:
                values.append(None)
                continue
            if raw is None and field.required:
                problems.append(Problem(row, field.name, "required field is missing or null"))
                values.append(None)
                continue
            try:
                values.append(convert(raw))
            except ValueError as error:
                problems.append(Problem(row, field.name, str(error)))
                values.append(None)
        columns[field.name] = pa.array(values, field.arrow_type)
    if problems:
        problems.sort(key=lambda p: p.row if p.row is not None else -1)
        raise BadBatchError(problems)
    return pa.table(columns)


def predictions_from_json(body: bytes, config: ModelConfig) -> pa.Table:
    """Prediction records from a JSON body, typed as the schema says.

    Raises
    ------
    BadBatchError
        Listing malformed JSON, missing required fields and mistyped values.
    """
    return _from_records(_json_records(body), _prediction_fields(config))


def labels_from_json(body: bytes, config: ModelConfig) -> pa.Table:
    """Label records (``id``, ``label``, optional ``timestamp``) from a JSON body."""
    table = _from_records(_json_records(body), _label_fields(config))
    return _default_label_time(table)


# -- Arrow and Parquet -------------------------------------------------------------


def read_columnar(body: bytes, content_type: str) -> pa.Table:
    """An Arrow IPC (stream or file) or Parquet body as a table."""
    try:
        if content_type in PARQUET_TYPES:
            return pq.read_table(io.BytesIO(body))
        try:
            return ipc.open_stream(pa.py_buffer(body)).read_all()
        except pa.ArrowInvalid:
            return ipc.open_file(pa.py_buffer(body)).read_all()
    except (pa.ArrowInvalid, OSError) as error:
        kind = "Parquet" if content_type in PARQUET_TYPES else "Arrow IPC"
        raise BadBatchError([Problem(None, None, f"unreadable {kind} body: {error}")]) from None


def _conform(table: pa.Table, fields: Sequence[_Field]) -> pa.Table:
    if table.num_rows == 0:
        raise BadBatchError([Problem(None, None, "the batch has no records")])
    problems: list[Problem] = []
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for field in fields:
        name = field.pick(table.column_names)
        if name is None:
            if field.required:
                problems.append(Problem(None, field.name, "required column is missing"))
            else:
                columns[field.name] = pa.nulls(table.num_rows, field.arrow_type)
            continue
        raw = table.column(name)
        try:
            column = conform_column(raw, field.kind)
        except ConformError as error:
            message = f"cannot read {raw.type} as {field.arrow_type}: {error}"
            problems.append(Problem(None, name, message))
            continue
        if field.required and column.null_count:
            first = column.is_null().to_pylist().index(True)
            problems.append(Problem(first, field.name, "required field is null"))
        columns[field.name] = column
    if problems:
        raise BadBatchError(problems)
    return pa.table(columns)


def predictions_from_columnar(body: bytes, content_type: str, config: ModelConfig) -> pa.Table:
    """Prediction rows from an Arrow IPC or Parquet body, cast to the schema's types."""
    return _conform(read_columnar(body, content_type), _prediction_fields(config))


def labels_from_columnar(body: bytes, content_type: str, config: ModelConfig) -> pa.Table:
    """Label rows from an Arrow IPC or Parquet body."""
    table = _conform(read_columnar(body, content_type), _label_fields(config))
    return _default_label_time(table)


def _default_label_time(table: pa.Table) -> pa.Table:
    """Labels without a time get the time they arrived."""
    times = table.column("timestamp")
    if not times.null_count:
        return table
    now = pa.scalar(datetime.now(UTC), STORED_TYPES[ColumnType.DATETIME])
    filled = pc.coalesce(times, now)
    return table.set_column(table.column_names.index("timestamp"), "timestamp", filled)


def read_predictions(body: bytes, kind: str, config: ModelConfig) -> pa.Table:
    """Prediction rows from a body of ``kind``: ``"json"`` or a columnar media type."""
    if kind == "json":
        return predictions_from_json(body, config)
    return predictions_from_columnar(body, kind, config)


def read_labels(body: bytes, kind: str, config: ModelConfig) -> pa.Table:
    """Label rows from a body of ``kind``: ``"json"`` or a columnar media type."""
    if kind == "json":
        return labels_from_json(body, config)
    return labels_from_columnar(body, kind, config)
