"""The DuckDB connection of a store: one transaction at a time, reads on their own cursors.

Every write is one transaction under the store's lock, committed before the method
returns, so an acknowledged write survives the process being killed; reads run on
cursors of their own and never wait for a write.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

__all__ = ["StoreConnection", "insert_columns", "quote", "registered", "utc"]


def quote(name: str) -> str:
    """A SQL identifier for any column name.

    Examples
    --------
    >>> print(quote('say "hi" now'))
    "say ""hi"" now"
    """
    return '"' + name.replace('"', '""') + '"'


def utc(moment: datetime) -> datetime:
    """A time read from DuckDB, in UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def insert_columns(
    cursor: duckdb.DuckDBPyConnection,
    table: str,
    columns: dict[str, pa.Array | list[Any]],
    *,
    replace: bool = False,
) -> None:
    """Insert rows given column by column, in one statement.

    DuckDB's ``executemany`` runs one statement per row (about a millisecond each);
    an Arrow table scanned by a single ``INSERT ... SELECT`` costs the same for one
    row as for thousands. ``columns`` maps each column name (unquoted) to its values:
    an Arrow array, or a list Arrow infers a type for. With ``replace``, a row whose
    primary key is taken replaces the row there (``INSERT OR REPLACE``).
    """
    data = pa.table(columns)
    if not data.num_rows:
        return
    names = ", ".join(quote(name) for name in data.column_names)
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    with registered(cursor, data) as view:
        cursor.execute(f"{verb} INTO {quote(table)} ({names}) SELECT {names} FROM {view}")


@contextmanager
def registered(cursor: duckdb.DuckDBPyConnection, data: pa.Table) -> Iterator[str]:
    """``data`` as a view on ``cursor`` while the block runs; yields the view's name."""
    view = f"_rows_{threading.get_ident()}"
    cursor.register(view, data)
    try:
        yield view
    finally:
        cursor.unregister(view)


class StoreConnection:
    """A DuckDB file (created when missing; ``":memory:"`` for tests) and its lock."""

    def __init__(self, path: Path | str, *, memory_limit_bytes: int | None = None) -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = duckdb.connect(str(path))
        self._connection.execute("SET TimeZone = 'UTC'")
        if memory_limit_bytes is not None:
            # DuckDB's buffer pool may otherwise grow to 80% of RAM: a long-running
            # service would look like a leak. Beyond the limit it evicts or spills.
            self._connection.execute(f"SET memory_limit = '{int(memory_limit_bytes)}B'")
        self._lock = threading.Lock()

    def close(self) -> None:
        """Checkpoint and close the database."""
        with self._lock:
            self._connection.execute("CHECKPOINT")
            self._connection.close()

    def read(self, sql: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Run a read-only query on a cursor of its own (for views that aggregate)."""
        return self._read(sql, params)

    def read_table(self, sql: str, params: Sequence[Any]) -> pa.Table:
        """Run a read-only query; its rows as an Arrow table (for large results)."""
        cursor = self._connection.cursor()
        try:
            return cursor.sql(sql, params=list(params)).to_arrow_table()
        finally:
            cursor.close()

    # -- plumbing ----------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            cursor = self._connection.cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                try:
                    yield cursor
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    def _read(self, sql: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
        cursor = self._connection.cursor()
        return cursor.execute(sql, params) if params is not None else cursor.execute(sql)
