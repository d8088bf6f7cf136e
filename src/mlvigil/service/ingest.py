"""Turn request bodies into typed Arrow tables that match a model's schema.

Bodies: JSON (``{"records": [...]}`` or a bare list; each record flat or with its
features under ``"features"``, as the SDK's prediction logger sends them), Arrow IPC
(stream or file) and Parquet, both with one column per field.

A batch is all or nothing: if any record is bad, the whole batch is rejected with the
problems listed (row number, field, what is wrong, the first :data:`MAX_PROBLEMS`),
and nothing is stored. The client fixes or drops those rows and sends again; no row is
ever half-accepted. A feature missing from a record is stored as null (missing values
are what data-quality checks are for), and fields the schema does not name are ignored.
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
    if value is None or type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"expected text, got {_show(value)}")


def _boolean(value: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise ValueError(f"expected true or false, got {_show(value)}")


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


_CONVERTERS: dict[ColumnType, tuple[Callable[[Any], Any], pa.DataType]] = {
    ColumnType.NUMERICAL: (_number, pa.float64()),
    ColumnType.CATEGORICAL: (_text, pa.string()),
    ColumnType.TEXT: (_text, pa.string()),
    ColumnType.BOOLEAN: (_boolean, pa.bool_()),
    ColumnType.DATETIME: (_moment, pa.timestamp("us", tz="UTC")),
}
_TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class _Field:
    name: str
    convert: Callable[[Any], Any]
    arrow_type: pa.DataType
    required: bool
    in_features: bool


def _prediction_fields(config: ModelConfig) -> list[_Field]:
    schema = config.schema
    fields = [
        _Field(schema.id, _text, pa.string(), True, False),
        _Field(schema.timestamp, _moment, _TIMESTAMP_TYPE, True, False),
        _Field("model_version", _text, pa.string(), False, False),
        _Field("latency_ms", _number, pa.float64(), False, False),
    ]
    for name, kind in config.column_types.items():
        convert, arrow_type = _CONVERTERS[kind]
        fields.append(
            _Field(name, convert, arrow_type, name == schema.prediction, name in schema.features)
        )
    return fields


def _label_fields(config: ModelConfig) -> list[_Field]:
    convert, arrow_type = _CONVERTERS[config.target_type]
    return [
        _Field("id", _text, pa.string(), True, False),
        _Field("label", convert, arrow_type, True, False),
        _Field("timestamp", _moment, _TIMESTAMP_TYPE, False, False),
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
        for row, record in enumerate(flat):
            raw = record.get(field.name)
            if row in not_objects:
                values.append(None)
                continue
            if raw is None and field.required:
                problems.append(Problem(row, field.name, "required field is missing or null"))
                values.append(None)
                continue
            try:
                values.append(field.convert(raw))
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
        if field.name not in table.column_names:
            if field.required:
                problems.append(Problem(None, field.name, "required column is missing"))
            else:
                columns[field.name] = pa.nulls(table.num_rows, field.arrow_type)
            continue
        column = table.column(field.name)
        try:
            column = column.cast(field.arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            problems.append(
                Problem(None, field.name, f"cannot read {column.type} as {field.arrow_type}")
            )
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
    now = pa.scalar(datetime.now(UTC), _TIMESTAMP_TYPE)
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
