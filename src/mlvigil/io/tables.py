"""One way to read tabular input, whatever it arrives as.

Every input becomes a :class:`TableSource` that hands out Arrow columns. A
Parquet file is read one column at a time, when that column is needed, so a
drift report over a large file holds only the columns being compared in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from mlvigil.exceptions import UnreadableInputError

__all__ = ["ArrowSource", "ParquetSource", "TableLike", "TableSource", "open_table"]

#: What can be read: a path to CSV/Parquet, or an Arrow, pandas or polars table.
TableLike = Any

_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}


class TableSource(Protocol):
    """Columns of one table, read on demand."""

    @property
    def column_names(self) -> list[str]:
        """Names of the data columns, in order."""
        ...

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        ...

    def column(self, name: str) -> pa.ChunkedArray:
        """Read one column."""
        ...


def _normalised(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # String views (polars' export) lack some compute kernels; plain strings have all.
    if pa.types.is_string_view(column.type):
        return column.cast(pa.large_string())
    return column


class ArrowSource:
    """A table already in memory."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    @property
    def column_names(self) -> list[str]:
        """Names of the columns, in order."""
        return list(self._table.column_names)

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        return int(self._table.num_rows)

    def column(self, name: str) -> pa.ChunkedArray:
        """Return one column."""
        return _normalised(self._table.column(name))


class ParquetSource:
    """A Parquet file whose columns are read one at a time."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self._path = path
        try:
            metadata = pq.read_metadata(path)
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError) as error:
            raise UnreadableInputError(f"cannot read Parquet file {path}: {error}") from None
        self._num_rows = int(metadata.num_rows)
        # pandas may store its index as a column; it is not data.
        self._names = [n for n in schema.names if not n.startswith("__index_level_")]

    @property
    def column_names(self) -> list[str]:
        """Names of the data columns, in order."""
        return list(self._names)

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        return self._num_rows

    def column(self, name: str) -> pa.ChunkedArray:
        """Read one column from the file."""
        import pyarrow.parquet as pq

        try:
            # A ParquetFile per call: reads may run in several threads at once.
            table = pq.ParquetFile(self._path).read(columns=[name], use_threads=False)
            return _normalised(table.column(0))
        except (pa.ArrowException, OSError) as error:
            raise UnreadableInputError(
                f"cannot read column {name!r} of {self._path}: {error}"
            ) from None


def _read_csv(path: Path) -> pa.Table:
    from pyarrow import csv

    parse = csv.ParseOptions(delimiter="\t" if path.suffix == ".tsv" else ",")
    try:
        return csv.read_csv(path, parse_options=parse)
    except (pa.ArrowException, OSError) as error:
        raise UnreadableInputError(f"cannot read CSV file {path}: {error}") from None


def _open_path(path: Path) -> TableSource:
    if not path.exists():
        raise UnreadableInputError(f"no such file: {path}")
    suffixes = {s.lower() for s in path.suffixes}
    if suffixes & _PARQUET_SUFFIXES:
        return ParquetSource(path)
    if suffixes & _CSV_SUFFIXES:
        return ArrowSource(_read_csv(path))
    raise UnreadableInputError(f"cannot tell the format of {path}: name it .csv or .parquet")


def open_table(data: TableLike) -> TableSource:
    """Open any supported input as a :class:`TableSource`.

    Parameters
    ----------
    data
        A path (``str`` or ``Path``) to a CSV or Parquet file, a ``pyarrow.Table``,
        a pandas or polars DataFrame, or any object exporting the Arrow C stream
        interface.

    Raises
    ------
    UnreadableInputError
        When the file is missing or malformed, or the object is not a table.

    Examples
    --------
    >>> import pyarrow as pa
    >>> open_table(pa.table({"x": [1, 2]})).column_names
    ['x']
    """
    if isinstance(data, str | Path):
        return _open_path(Path(data))
    if isinstance(data, pa.Table):
        return ArrowSource(data)
    if isinstance(data, pa.RecordBatch):
        return ArrowSource(pa.Table.from_batches([data]))
    try:
        if type(data).__module__.startswith("pandas"):
            return ArrowSource(pa.Table.from_pandas(data, preserve_index=False))
        if hasattr(data, "__arrow_c_stream__"):
            return ArrowSource(pa.table(data))
    except (pa.ArrowException, TypeError, ValueError) as error:
        raise UnreadableInputError(
            f"cannot convert {type(data).__name__} to a table: {error}"
        ) from None
    raise UnreadableInputError(
        f"cannot read a {type(data).__name__} as a table: pass a CSV or Parquet path, "
        "or a pyarrow, pandas or polars table"
    )
