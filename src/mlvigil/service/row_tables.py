"""Which tables hold a model's rows: models of one layout share a pair of tables.

A DuckDB table costs tens of kilobytes of catalogue and metadata in memory whether it
holds ten rows or a million: at 10,000 models, a pair of tables per model was most of
the service's memory (``bench/store_layout.py``). Models whose rows have the same
layout (the same prediction and label columns, of the same types, and the same id and
timestamp columns) share a pair instead, ``predictions_g<n>`` and ``labels_g<n>``, each
row keyed by its model's number in ``__model``. A pair takes :data:`GROUP_SIZE` models
at most, so reading one model's window scans no more than that many models' rows of
the window's time range.

A model's layout only grows: a column configured anew is added, one no longer
configured stays with its values. A model whose layout grew moves to a pair of its new
layout, its rows copied in one statement per table it leaves (with every other model
leaving it for the same pair). A store written before pairs were shared has one per
model (``predictions_<n>``, ``labels_<n>``): its models move the same way at the first
start of this version, and their old tables are dropped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb
import orjson
import pyarrow as pa

from mlvigil.exceptions import ConfigError
from mlvigil.schema import ColumnType
from mlvigil.service.config import ERROR_COLUMN, MODEL_KEY_COLUMN, VERSION_COLUMN, ModelConfig
from mlvigil.service.store_base import insert_columns, quote, registered

__all__ = ["GROUP_SIZE", "LABEL_TABLE_COLUMNS", "Layout", "RowTables", "place_models"]

#: Models sharing a pair of tables, at most.
GROUP_SIZE = 100

#: The label table's own columns; outcome columns posted with labels follow them.
LABEL_TABLE_COLUMNS = ("id", "label", "timestamp", "received_at")

_SQL_TYPES = {
    ColumnType.NUMERICAL: "DOUBLE",
    ColumnType.CATEGORICAL: "VARCHAR",
    ColumnType.BOOLEAN: "BOOLEAN",
    ColumnType.DATETIME: "TIMESTAMPTZ",
    ColumnType.TEXT: "VARCHAR",
    ColumnType.EMBEDDING: "FLOAT[]",
}
_SQL_ALIASES = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}
_ARROW_TYPES = {
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "FLOAT[]": pa.list_(pa.float32()),
    "INTEGER": pa.int32(),
}

Columns = tuple[tuple[str, str], ...]
"""Column names and SQL types, in table order."""


@dataclass(frozen=True)
class Layout:
    """The columns of a model's rows: what models sharing a pair of tables agree on."""

    predictions: Columns
    labels: Columns
    id: str
    timestamp: str

    @property
    def signature(self) -> str:
        """The layout as text, stored with each pair of tables."""
        return orjson.dumps([self.predictions, self.labels, self.id, self.timestamp]).decode()


@dataclass(frozen=True)
class RowTables:
    """Where a model's rows are: the pair of tables, and the model's key in them."""

    predictions: str
    labels: str
    key: int
    layout: Layout

    def mine(self, alias: str | None = None) -> str:
        """The SQL condition selecting this model's rows (of the table aliased ``alias``)."""
        column = f"{alias}.{MODEL_KEY_COLUMN}" if alias else MODEL_KEY_COLUMN
        return f"{column} = {int(self.key)}"

    @property
    def arrow_layout(self) -> list[tuple[str, pa.DataType]]:
        """The prediction table's columns and their Arrow types, the key first."""
        return [(MODEL_KEY_COLUMN, pa.int32())] + [
            (name, _ARROW_TYPES[kind]) for name, kind in self.layout.predictions
        ]


@dataclass(frozen=True)
class _Source:
    """Tables a model's rows are in before a move; ``shared`` ones key them by model."""

    predictions: str
    labels: str
    shared: bool


def place_models(
    cursor: duckdb.DuckDBPyConnection, models: Mapping[str, ModelConfig]
) -> tuple[dict[str, RowTables], set[str]]:
    """Each configured model's tables, registering new models and moving grown ones.

    Runs in the caller's transaction. Returns the tables, and the models registered
    now (which have no rows yet).

    Raises
    ------
    ConfigError
        When a model's configuration changes the type of a stored column.
    """
    catalogue = _columns_of_tables(cursor)
    known = cursor.execute("SELECT name, table_id, row_table FROM models").fetchall()
    keys = {name: int(key) for name, key, _ in known}
    homes: dict[str, int | None] = {name: group for name, _, group in known}
    groups = _Groups(cursor, homes.values())
    new = [name for name in models if name not in keys]
    fresh = set(new)
    first = max(keys.values(), default=0) + 1
    keys.update({name: first + i for i, name in enumerate(new)})
    placed: dict[str, RowTables] = {}
    moves: defaultdict[tuple[_Source, int], list[str]] = defaultdict(list)
    rehomed: dict[str, int] = {}  # registered models of a new pair
    for name, config in models.items():
        home = homes.get(name)
        source, stored = _stored_layout(keys[name], home, catalogue)
        layout = wanted_layout(config, stored)
        if home is None or groups.signatures[home] != layout.signature:
            if home is not None:
                groups.leave(home)
            home = homes[name] = groups.join(layout)
            if source is not None:
                moves[source, home].append(name)
            if name not in fresh:
                rehomed[name] = home
        placed[name] = RowTables(f"predictions_g{home}", f"labels_g{home}", keys[name], layout)
    insert_columns(
        cursor,
        "models",
        {
            "name": pa.array(new, pa.string()),
            "table_id": [keys[name] for name in new],
            "row_table": [homes[name] for name in new],
        },
    )
    if rehomed:
        homed = pa.table({"name": list(rehomed), "row_table": list(rehomed.values())})
        with registered(cursor, homed) as view:
            cursor.execute(
                f"UPDATE models SET row_table = h.row_table FROM {view} h "
                "WHERE models.name = h.name"
            )
    for (source, _), names in moves.items():
        _move(cursor, source, catalogue, [placed[name] for name in names])
    groups.drop_empty()
    return placed, fresh


class _Groups:
    """The pairs of tables, their layouts and how many models each holds."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, homes: Iterable[int | None]) -> None:
        self._cursor = cursor
        self.signatures: dict[int, str] = dict(
            cursor.execute("SELECT id, signature FROM row_tables").fetchall()
        )
        self._members = Counter(home for home in homes if home is not None)
        self._with_room: defaultdict[str, list[int]] = defaultdict(list)
        for group, signature in self.signatures.items():
            if self._members[group] < GROUP_SIZE:
                self._with_room[signature].append(group)

    def join(self, layout: Layout) -> int:
        """A pair of ``layout`` with room for one more model (created if none has)."""
        rooms = self._with_room[layout.signature]
        if not rooms:
            group = max(self.signatures, default=0) + 1
            self.signatures[group] = layout.signature
            _create_pair(self._cursor, group, layout)
            rooms.append(group)
        group = rooms[-1]
        self._members[group] += 1
        if self._members[group] >= GROUP_SIZE:
            rooms.pop()
        return group

    def leave(self, group: int) -> None:
        """One model fewer in ``group`` (its rows are moving)."""
        self._members[group] -= 1

    def drop_empty(self) -> None:
        """Drop the pairs every model left."""
        for group in [g for g in self.signatures if not self._members[g]]:
            self._cursor.execute(f"DROP TABLE predictions_g{group}; DROP TABLE labels_g{group}")
            self._cursor.execute("DELETE FROM row_tables WHERE id = ?", [group])
            del self.signatures[group]


def wanted_layout(config: ModelConfig, stored: Layout | None) -> Layout:
    """The layout of ``config``'s rows: the stored one, with what it configures anew.

    Raises
    ------
    ConfigError
        When a stored column's type differs from the configured one, or an outcome
        column is named like one of the label table's own.
    """
    schema = config.schema
    outcomes = list(schema.outcomes)
    clash = [name for name in outcomes if name in LABEL_TABLE_COLUMNS]
    if clash:
        raise ConfigError(
            f"model {config.name!r}: outcome columns {clash} share a name with the label "
            f"records' own fields ({', '.join(LABEL_TABLE_COLUMNS)}); rename them"
        )
    predictions = {
        schema.id: "VARCHAR",
        schema.timestamp: "TIMESTAMPTZ",
        VERSION_COLUMN: "VARCHAR",
        "latency_ms": "DOUBLE",
        ERROR_COLUMN: "BOOLEAN",
        "received_at": "TIMESTAMPTZ",
        **{name: _SQL_TYPES[kind] for name, kind in config.column_types.items()},
        **dict.fromkeys(outcomes, "DOUBLE"),
        **({schema.experiment_arm: "VARCHAR"} if schema.experiment_arm else {}),
    }
    labels = {
        "id": "VARCHAR",
        "label": _SQL_TYPES[config.target_type],
        "timestamp": "TIMESTAMPTZ",
        "received_at": "TIMESTAMPTZ",
        **dict.fromkeys(outcomes, "DOUBLE"),
    }
    if stored is None:
        return Layout(
            tuple(predictions.items()), tuple(labels.items()), schema.id, schema.timestamp
        )
    have = dict(stored.predictions)
    for name, kind in predictions.items():
        if name in have and have[name] != kind:
            raise ConfigError(
                f"model {config.name!r}: column {name!r} is stored as {have[name]} but now "
                f"configured as {kind}; keep its type or use a new column name"
            )
    # A label keeps the type it is stored as (inserts cast to it).
    stored_labels = dict(stored.labels)
    return Layout(
        stored.predictions + tuple((n, k) for n, k in predictions.items() if n not in have),
        stored.labels + tuple((n, k) for n, k in labels.items() if n not in stored_labels),
        schema.id,
        schema.timestamp,
    )


def _stored_layout(
    key: int, home: int | None, catalogue: Mapping[str, Columns]
) -> tuple[_Source | None, Layout | None]:
    """Where a registered model's rows are, and their layout (``None``: none stored)."""
    if home is not None:
        source = _Source(f"predictions_g{home}", f"labels_g{home}", shared=True)
    elif f"predictions_{key}" in catalogue:  # a table of its own, from before pairs
        source = _Source(f"predictions_{key}", f"labels_{key}", shared=False)
    else:
        return None, None  # registered, but no table was ever created
    predictions = catalogue[source.predictions]
    labels = catalogue[source.labels]
    if source.shared:
        predictions, labels = predictions[1:], labels[1:]  # less the model key
    # Roles are not in the catalogue; the move only needs the columns.
    return source, Layout(predictions, labels, "", "")


def _create_pair(cursor: duckdb.DuckDBPyConnection, group: int, layout: Layout) -> None:
    key = f"{MODEL_KEY_COLUMN} INTEGER NOT NULL"
    predictions = ", ".join(f"{quote(n)} {t}" for n, t in layout.predictions)
    labels = ", ".join(f"{quote(n)} {t}" for n, t in layout.labels)
    cursor.execute(
        f"CREATE TABLE predictions_g{group} ({key}, {predictions});\n"
        f"CREATE TABLE labels_g{group} ({key}, {labels}, PRIMARY KEY ({MODEL_KEY_COLUMN}, id))"
    )
    cursor.execute(
        "INSERT INTO row_tables (id, signature) VALUES (?, ?)", [group, layout.signature]
    )


def _move(
    cursor: duckdb.DuckDBPyConnection,
    source: _Source,
    catalogue: Mapping[str, Columns],
    targets: list[RowTables],
) -> None:
    """Copy the rows of ``targets``' models from ``source`` to their new pair.

    Every target is in the same pair; their layout holds every stored column.
    """
    destination = targets[0]
    keys = ", ".join(str(target.key) for target in targets)
    for table, into in (
        (source.predictions, destination.predictions),
        (source.labels, destination.labels),
    ):
        columns = ", ".join(quote(name) for name, _ in catalogue[table] if name != MODEL_KEY_COLUMN)
        if source.shared:
            cursor.execute(
                f"INSERT INTO {into} ({MODEL_KEY_COLUMN}, {columns}) "
                f"SELECT {MODEL_KEY_COLUMN}, {columns} FROM {table} "
                f"WHERE {MODEL_KEY_COLUMN} IN ({keys})"
            )
            cursor.execute(f"DELETE FROM {table} WHERE {MODEL_KEY_COLUMN} IN ({keys})")
        else:  # a table of one model, from before pairs
            cursor.execute(
                f"INSERT INTO {into} ({MODEL_KEY_COLUMN}, {columns}) "
                f"SELECT {destination.key}, {columns} FROM {table}"
            )
            cursor.execute(f"DROP TABLE {table}")


def _columns_of_tables(cursor: duckdb.DuckDBPyConnection) -> dict[str, Columns]:
    """Every table's columns and SQL types, in order, in one query."""
    rows = cursor.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
    tables: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for table, column, kind in rows:
        tables[table].append((column, _SQL_ALIASES.get(kind, kind)))
    return {table: tuple(columns) for table, columns in tables.items()}
