"""Multivariate drift of a current table, whole or in chunks, from a reference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import numpy as np
import pyarrow as pa

from mlvigil.checks.chunked import _chunks_of
from mlvigil.checks.chunks import Chunk, size_chunks
from mlvigil.checks.drift import _declared_types, _open, _resolve_columns
from mlvigil.exceptions import ConfigError, InputError
from mlvigil.io.tables import TableLike
from mlvigil.multivariate.detector import MultivariateConfig, MultivariateDetector
from mlvigil.multivariate.report import MultivariateChunk, MultivariateReport
from mlvigil.schema import ColumnType, infer_column_type, is_vector_type

__all__ = ["multivariate_drift"]

#: Types left out unless ``columns`` names them: univariate drift skips them too
#: (times move by nature; free text's values rarely repeat, so its frequencies say little).
_UNNAMED_SKIPPED = frozenset({ColumnType.DATETIME, ColumnType.TEXT})


def multivariate_drift(
    reference: TableLike,
    current: TableLike,
    *,
    chunk_size: int | None = None,
    chunk_period: timedelta | str | float | None = None,
    timestamp: str | None = None,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    schema: Mapping[str, ColumnType | str] | None = None,
    config: MultivariateConfig | None = None,
) -> MultivariateReport:
    """Compare ``current`` with ``reference`` on all columns together, chunk by chunk.

    Tabular columns are judged together by the configured methods (reconstruction
    error and a domain classifier by default); each embedding column (lists of numbers)
    by MMD and a domain classifier. Chunks are cut as
    :func:`~mlvigil.checks.chunked.detect_drift_chunks` cuts them; without a chunk
    option the whole current table is one chunk. The reconstruction error's limits are
    learned from reference chunks of the current's chunk size.

    Parameters
    ----------
    reference, current
        CSV or Parquet paths, pyarrow / pandas / polars tables.
    chunk_size
        Rows per chunk, in table order.
    chunk_period
        A period per chunk (``"1d"``, a :class:`~datetime.timedelta`); needs ``timestamp``.
    timestamp
        The column of each row's time; not compared unless ``columns`` names it.
    columns
        The columns to compare; by default every column of both except ``timestamp``,
        ``exclude`` and datetime or free-text columns (unless ``schema`` declares them).
    exclude
        Leave these columns out.
    schema
        Column types that override inference, e.g. ``{"zip": "categorical"}``.
    config
        Methods and options; see :class:`~mlvigil.multivariate.MultivariateConfig`.

    Returns
    -------
    MultivariateReport
        One result per method (and embedding column) per chunk.

    Raises
    ------
    ConfigError
        When both chunk options are given, ``chunk_period`` comes without
        ``timestamp``, or ``schema`` names a column that is not compared.
    InputError
        When an input cannot be read, a named column is missing, or ``current`` has
        no rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=6000), rng.normal(size=2000)
    >>> reference = pa.table({"a": x, "b": x + 0.5 * rng.normal(size=6000)})
    >>> current = pa.table({"a": y, "b": np.r_[y[:1000], -y[1000:]]
    ...                     + 0.5 * rng.normal(size=2000)})
    >>> report = multivariate_drift(reference, current, chunk_size=1000)
    >>> [(c.chunk.key, c.drifted) for c in report]
    [('rows 0-999', False), ('rows 1000-1999', True)]
    """
    if chunk_size is not None and chunk_period is not None:
        raise ConfigError("give at most one of chunk_size or chunk_period, not both")
    if chunk_period is not None and timestamp is None:
        raise ConfigError("chunk_period needs timestamp=, the column that holds each row's time")
    config = config or MultivariateConfig()
    declared = _declared_types("schema", schema)
    ref_source, cur_source = _open(reference), _open(current)
    if timestamp is not None and timestamp not in cur_source.column_names:
        raise InputError(f"timestamp column {timestamp!r} not found in current")
    excluded = list(exclude or ())
    if columns is None and timestamp is not None and timestamp not in excluded:
        excluded.append(timestamp)
    names = _resolve_columns(ref_source.column_names, cur_source.column_names, columns, excluded)
    ref_table = pa.table({name: ref_source.column(name) for name in names})
    types = {
        name: declared.get(name) or infer_column_type(ref_table.column(name))
        for name in names
        if not is_vector_type(ref_table.column(name).type)
    }
    if columns is None:
        names = [n for n in names if n in declared or types.get(n) not in _UNNAMED_SKIPPED]
    unknown = sorted(set(declared) - set(names))
    if unknown:
        raise ConfigError(f"schema names columns that are not compared: {', '.join(unknown)}")
    rows = cur_source.num_rows
    if rows == 0:
        raise InputError("current has no rows; there is nothing to compare")
    chunks = (
        [Chunk(0, "all rows", rows, 0)]
        if chunk_size is None and chunk_period is None
        else _chunks_of(rows, cur_source.column, chunk_size, chunk_period, timestamp)
    )
    contiguous = chunks[0].offset is not None
    size = chunks[0].rows if contiguous else int(np.median([c.rows for c in chunks]))
    detector = MultivariateDetector.fit(
        ref_table.select(names),
        columns=names,
        schema={n: t for n, t in types.items() if n in names},
        config=config,
        chunks=size_chunks(ref_table.num_rows, size) if ref_table.num_rows else None,
    )
    table = pa.table({name: cur_source.column(name) for name in names})
    results = tuple(
        MultivariateChunk(chunk, tuple(detector.evaluate(chunk.rows_of(table)))) for chunk in chunks
    )
    return MultivariateReport(
        chunks=results,
        columns=detector.columns,
        embeddings=detector.embeddings,
        dropped=detector.dropped,
        reference_rows=detector.reference_rows,
        current_rows=rows,
    )
