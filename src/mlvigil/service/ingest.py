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
timestamps may be ISO 8601 text in JSON, Arrow and Parquet alike, or epoch numbers in
the unit ``schema.timestamp_unit`` names (a number without a unit is refused). Then
the service's bounds apply (:mod:`mlvigil.service.admission`): NaN is a missing value,
infinities, strings over the length cap and timestamps outside the accepted range are
refused. Text must be UTF-8, and a column may appear once. Records name their
fields as the schema names the columns (e.g. ``loan_id``, ``default``), or by their
role, as the SDK sends them: ``id``, ``timestamp``, ``prediction``, ``score`` and, for
labels, ``label``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from mlvigil.io.conform import (
    NO_UNIT,
    STORED_TYPES,
    TIME_UNITS,
    ConformError,
    TimeUnit,
    as_boolean,
    category_text,
    conform_column,
)
from mlvigil.schema import ColumnType
from mlvigil.service.admission import Admission, admit
from mlvigil.service.batch_errors import MAX_PROBLEMS, BadBatchError, Problem, ProblemLog
from mlvigil.service.batch_keys import body_digest
from mlvigil.service.config import ERROR_COLUMN, ModelConfig

__all__ = [
    "ARROW_TYPES",
    "JSON_TYPES",
    "MAX_PROBLEMS",
    "PARQUET_TYPES",
    "PERFORMANCE_TYPE",
    "PROFILE_TYPE",
    "Admission",
    "BadBatchError",
    "Problem",
    "body_digest",
    "read_columnar",
    "read_labels",
    "read_predictions",
]

JSON_TYPES = ("application/json",)
ARROW_TYPES = ("application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file")
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")
#: A window's profile in mlvigil's versioned binary format (``DatasetProfile.serialize``).
PROFILE_TYPE = "application/vnd.mlvigil.profile"
#: A window's performance state (``PerformanceState.serialize``).
PERFORMANCE_TYPE = "application/vnd.mlvigil.performance"


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


def _vector(value: Any) -> list[float] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and type(v) is not bool for v in value
    ):
        raise ValueError(f"expected a list of numbers (an embedding), got {_show(value)}")
    return [float(v) for v in value]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_REQUIRED_NULL = "required field is null (or NaN)"


def _moment(value: Any, unit: TimeUnit | None = None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float) and type(value) is not bool:
        if unit is None:
            raise ValueError(f"{_show(value)} is an epoch number of no stated unit; {NO_UNIT}")
        return _from_epoch(value, unit)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except (ValueError, OverflowError):
            pass
    raise ValueError(f"expected an ISO 8601 time (e.g. 2026-11-24T12:00:00Z), got {_show(value)}")


def _from_epoch(value: float, unit: TimeUnit) -> datetime:
    """An epoch number in ``unit`` as a UTC time (exact for integers)."""
    try:
        if isinstance(value, int):
            micros = value // 1000 if unit == "ns" else value * int(TIME_UNITS[unit])
        else:
            micros = round(value * TIME_UNITS[unit])
        return _EPOCH + timedelta(microseconds=micros)
    except (OverflowError, ValueError):
        raise ValueError(f"epoch {_show(value)} {unit} is beyond years 1 to 9999") from None


def _show(value: Any) -> str:
    """A short view of a value for a message: containers by size, never whole.

    A value nested hundreds deep, or megabytes long, stays one short line.
    """
    if isinstance(value, dict):
        return f"an object of {len(value)} keys"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if isinstance(value, str) and len(value) > 40:
        value = value[:40]
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 40 else text[:37] + "..."


_CONVERTERS: dict[ColumnType, Callable[[Any], Any]] = {
    ColumnType.NUMERICAL: _number,
    ColumnType.CATEGORICAL: _text,
    ColumnType.TEXT: _text,
    ColumnType.BOOLEAN: as_boolean,
    ColumnType.DATETIME: _moment,
    ColumnType.EMBEDDING: _vector,
}


@dataclass(frozen=True)
class _Field:
    name: str
    kind: ColumnType
    required: bool
    aliases: tuple[str, ...] = ()
    """Other names the field may have in a record or column (the first present wins)."""
    unit: TimeUnit | None = None
    """The unit of epoch numbers, for a time (``schema.timestamp_unit``)."""

    @property
    def convert(self) -> Callable[[Any], Any]:
        if self.kind is ColumnType.DATETIME:
            return partial(_moment, unit=self.unit)
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
        _Field(ERROR_COLUMN, ColumnType.BOOLEAN, False),
    ]
    roles = {schema.prediction: "prediction"}
    if schema.score is not None:
        roles[schema.score] = "score"
    fields.extend(
        _Field(name, kind, name == schema.prediction, _role_names(name, roles.get(name, name)))
        for name, kind in config.column_types.items()
    )
    fields.extend(_Field(name, ColumnType.NUMERICAL, False) for name in schema.outcomes)
    if schema.experiment_arm is not None:
        fields.append(_Field(schema.experiment_arm, ColumnType.TEXT, False))
    return _with_unit(fields, config)


def _label_fields(config: ModelConfig) -> list[_Field]:
    schema = config.schema
    fields = [
        _Field("id", ColumnType.TEXT, True, (schema.id,)),
        _Field("label", config.target_type, True, (schema.target,)),
        _Field("timestamp", ColumnType.DATETIME, False, (schema.timestamp,)),
    ]
    fields.extend(_Field(name, ColumnType.NUMERICAL, False) for name in schema.outcomes)
    return _with_unit(fields, config)


def _with_unit(fields: list[_Field], config: ModelConfig) -> list[_Field]:
    """Times read epoch numbers in the schema's ``timestamp_unit`` (refused without)."""
    unit = config.schema.timestamp_unit
    return [replace(f, unit=unit) if f.kind is ColumnType.DATETIME else f for f in fields]


def _admit(
    table: pa.Table, fields: Sequence[_Field], times: str, log: ProblemLog, admission: Admission
) -> None:
    """Hold the typed ``table`` to the service's bounds (``times``: the row time)."""
    kinds = {f.name: f.kind for f in fields}
    admit(table, log, kinds=kinds, times=[times], admission=admission)


# -- JSON --------------------------------------------------------------------------


def _json_records(body: bytes) -> list[Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        hint = ""
        if b"NaN" in body or b"Infinity" in body or "infinity" in str(error):
            hint = "; JSON has no NaN or Infinity: send null for a missing value"
        raise BadBatchError([Problem(None, None, f"malformed JSON: {error}{hint}")]) from None
    records = data.get("records") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise BadBatchError(
            [Problem(None, None, 'expected {"records": [...]} or a JSON list of records')]
        )
    if not records:
        raise BadBatchError([Problem(None, None, "the batch has no records")])
    return records


def _from_records(records: list[Any], fields: Sequence[_Field], log: ProblemLog) -> pa.Table:
    """The records as a typed table; their problems go to ``log``."""
    flat: list[Mapping[str, Any]] = []
    not_objects: set[int] = set()
    for row, record in enumerate(records):
        if not isinstance(record, dict):
            log.add(row, None, f"expected an object, got {_show(record)}")
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
                log.add(row, field.name, "required field is missing or null")
                values.append(None)
                continue
            try:
                values.append(convert(raw))
            except ValueError as error:
                log.add(row, field.name, str(error))
                values.append(None)
        columns[field.name] = pa.array(values, field.arrow_type)
        if field.kind is ColumnType.EMBEDDING:
            _log_unequal_vectors(columns[field.name], field.name, log)
    return pa.table(columns)


def _log_unequal_vectors(vectors: pa.Array, name: str, log: ProblemLog) -> None:
    """Log the rows whose vector is not as long as the batch's first vector."""
    lengths = pc.list_value_length(vectors).to_numpy(zero_copy_only=False).astype(np.float64)
    present = np.flatnonzero(~np.isnan(lengths))
    if len(present) == 0:
        return
    first = int(lengths[present[0]])
    log.add_rows(
        present[lengths[present] != first],
        name,
        lambda row: (
            f"a vector of {int(lengths[row])} values where the batch's first has {first}; "
            "every vector of an embedding column has the same length"
        ),
        "invalid",
    )


def predictions_from_json(
    body: bytes, config: ModelConfig, *, admission: Admission | None = None
) -> pa.Table:
    """Prediction records from a JSON body, typed as the schema says.

    Raises
    ------
    BadBatchError
        Listing malformed JSON, missing required fields and mistyped values, and
        values ``admission`` refuses.
    """
    records = _json_records(body)
    fields, log = _prediction_fields(config), ProblemLog(len(records))
    table = _from_records(records, fields, log)
    _admit(table, fields, config.schema.timestamp, log, admission or Admission())
    log.raise_any()
    return table


def labels_from_json(
    body: bytes, config: ModelConfig, *, admission: Admission | None = None
) -> pa.Table:
    """Label records (``id``, ``label``, optional ``timestamp`` and outcomes) from JSON."""
    records = _json_records(body)
    fields, log = _label_fields(config), ProblemLog(len(records))
    bounds = admission or Admission()
    table = _default_label_time(_from_records(records, fields, log), bounds.now)
    _admit(table, fields, "timestamp", log, bounds)
    log.raise_any()
    return table


# -- Arrow and Parquet -------------------------------------------------------------


def read_columnar(body: bytes, content_type: str) -> pa.Table:
    """An Arrow IPC (stream or file) or Parquet body as a table."""
    try:
        if content_type in PARQUET_TYPES:
            table = pq.read_table(io.BytesIO(body))
        else:
            try:
                table = ipc.open_stream(pa.py_buffer(body)).read_all()
            except pa.ArrowInvalid:
                table = ipc.open_file(pa.py_buffer(body)).read_all()
        table.column_names  # noqa: B018 -- names that are not UTF-8 fail here, not later
        return table
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:
        kind = "Parquet" if content_type in PARQUET_TYPES else "Arrow IPC"
        raise BadBatchError([Problem(None, None, f"unreadable {kind} body: {error}")]) from None


def _conform(table: pa.Table, fields: Sequence[_Field], log: ProblemLog) -> pa.Table:
    """The columns ``fields`` read, in their stored types; their problems go to ``log``."""
    names = table.column_names
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for field in fields:
        name = field.pick(names)
        if name is None:
            if field.required:
                log.add(None, field.name, "required column is missing")
            else:
                columns[field.name] = pa.nulls(table.num_rows, field.arrow_type)
            continue
        if names.count(name) > 1:
            log.add(None, name, f"the column appears {names.count(name)} times; send it once")
            continue
        raw = table.column(name)
        bad = _invalid_text_row(raw)
        if bad is not None:
            log.add(bad, field.name, "text that is not valid UTF-8; send strings as UTF-8")
            continue
        try:
            column = conform_column(raw, field.kind, unit=field.unit)
        except ConformError as error:
            log.add(None, name, f"cannot read {raw.type} as {field.arrow_type}: {error}")
            continue
        if field.required and column.null_count:
            nulls = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))
            log.add_rows(nulls, field.name, lambda row: _REQUIRED_NULL, "invalid")
        columns[field.name] = column
    return pa.table(columns)


def _invalid_text_row(column: pa.ChunkedArray) -> int | None:
    """The first row of a string column that is not valid UTF-8 (DuckDB refuses it)."""
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if not (
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    ):
        return None
    try:
        column.validate(full=True)
        return None
    except pa.ArrowInvalid:
        pass
    offset = 0
    for chunk in column.chunks:  # only for a bad column: find its row
        plain = chunk.dictionary_decode() if pa.types.is_dictionary(chunk.type) else chunk
        binary = pa.binary_view() if pa.types.is_string_view(kind) else pa.large_binary()
        for row, raw in enumerate(plain.cast(binary).to_pylist()):
            try:
                raw is None or raw.decode("utf-8")
            except UnicodeDecodeError:
                return offset + row
        offset += len(chunk)
    return 0


def _columnar(
    body: bytes, content_type: str, fields: Sequence[_Field]
) -> tuple[pa.Table, ProblemLog]:
    table = read_columnar(body, content_type)
    if table.num_rows == 0:
        raise BadBatchError([Problem(None, None, "the batch has no records")])
    log = ProblemLog(table.num_rows)
    return _conform(table, fields, log), log


def predictions_from_columnar(
    body: bytes, content_type: str, config: ModelConfig, *, admission: Admission | None = None
) -> pa.Table:
    """Prediction rows from an Arrow IPC or Parquet body, cast to the schema's types."""
    fields = _prediction_fields(config)
    table, log = _columnar(body, content_type, fields)
    _admit(table, fields, config.schema.timestamp, log, admission or Admission())
    log.raise_any()
    return table


def labels_from_columnar(
    body: bytes, content_type: str, config: ModelConfig, *, admission: Admission | None = None
) -> pa.Table:
    """Label rows from an Arrow IPC or Parquet body."""
    fields = _label_fields(config)
    table, log = _columnar(body, content_type, fields)
    bounds = admission or Admission()
    if log:  # a column could not be read: say so before defaulting its times
        log.raise_any()
    table = _default_label_time(table, bounds.now)
    _admit(table, fields, "timestamp", log, bounds)
    log.raise_any()
    return table


def _default_label_time(table: pa.Table, now: datetime | None) -> pa.Table:
    """Labels without a time get the time they arrived (the service's clock)."""
    times = table.column("timestamp")
    if not times.null_count:
        return table
    moment = pa.scalar(now or datetime.now(UTC), STORED_TYPES[ColumnType.DATETIME])
    filled = pc.coalesce(times, moment)
    return table.set_column(table.column_names.index("timestamp"), "timestamp", filled)


def read_predictions(
    body: bytes, kind: str, config: ModelConfig, *, admission: Admission | None = None
) -> pa.Table:
    """Prediction rows from a body of ``kind``: ``"json"`` or a columnar media type.

    ``admission`` holds them to the service's bounds (the service always passes them;
    without, only types are checked).

    Raises
    ------
    BadBatchError
        Naming every refused row and field (the first :data:`MAX_PROBLEMS`).
    """
    if kind == "json":
        return predictions_from_json(body, config, admission=admission)
    return predictions_from_columnar(body, kind, config, admission=admission)


def read_labels(
    body: bytes, kind: str, config: ModelConfig, *, admission: Admission | None = None
) -> pa.Table:
    """Label rows from a body of ``kind``: ``"json"`` or a columnar media type."""
    if kind == "json":
        return labels_from_json(body, config, admission=admission)
    return labels_from_columnar(body, kind, config, admission=admission)
