"""``mlvigil drift``: compare a current dataset with a reference, whole or chunk by chunk.

Every mistake in the options is reported in the command's own terms: the message
names the option (``--columns``, ``--chunk-size``...) and says what to do, on one line,
with exit code 2. The options are checked here, before the library runs, so its
Python-worded errors (``columns=[...]``) never reach the terminal.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from mlvigil.cli.errors import exit_on_user_error
from mlvigil.cli.formats import OutputFormat
from mlvigil.exceptions import ConfigError, InputError, MlvigilError

if TYPE_CHECKING:
    from mlvigil.checks.chunked import ChunkedDriftReport
    from mlvigil.checks.chunks import Chunk
    from mlvigil.checks.drift import DriftConfig
    from mlvigil.checks.drift_report import DriftReport
    from mlvigil.io.tables import TableSource
    from mlvigil.profile import DatasetProfile


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    return names or None


@contextmanager
def _option(flag: str) -> Iterator[None]:
    """Report a library error about one option as that option's error."""
    try:
        yield
    except MlvigilError as error:
        raise ConfigError(f"{flag}: {error}") from None


def parse_types(pairs: Sequence[str]) -> dict[str, str]:
    """``--type COLUMN=TYPE`` values as a schema."""
    from mlvigil.checks.drift_rules import parse_column_type

    types = {}
    for pair in pairs:
        column, sep, kind = (part.strip() for part in pair.partition("="))
        if not sep or not column or not kind:
            raise ConfigError(
                f"--type: expected COLUMN=TYPE such as --type zip=categorical, got {pair!r}"
            )
        types[column] = parse_column_type(f"--type {column}={kind}", kind).value
    return types


def drift_config(
    method: str | None, threshold: float | None, drift_share: float, correction: str | None
) -> DriftConfig:
    """The drift options, each checked under its own flag."""
    from mlvigil.checks.drift import DriftConfig
    from mlvigil.stats.correction import parse_correction
    from mlvigil.stats.registry import get_method

    if method is not None:
        with _option("--method"):
            get_method(method)
    if correction is not None:
        with _option("--correction"):
            parse_correction(correction)
    if threshold is not None and not (math.isfinite(threshold) and threshold >= 0):
        raise ConfigError(
            f"--threshold must be a number >= 0 (a significance level for tests, a distance "
            f"for distances), got {threshold}"
        )
    if not 0.0 < drift_share <= 1.0:
        raise ConfigError(
            f"--drift-share must be above 0 and at most 1 (the share of tested columns that "
            f"makes the dataset drifted), got {drift_share}"
        )
    return DriftConfig(
        method=method, threshold=threshold, drift_share=drift_share, correction=correction
    )


@dataclass(frozen=True)
class Chunking:
    """How ``--chunk-size``/``--chunk-period`` cut CURRENT, and the columns left out."""

    size: int | None = None
    period: timedelta | None = None
    timestamp: str | None = None
    id: str | None = None
    exclude: tuple[str, ...] = ()
    period_text: str = ""
    thresholds: Literal["fixed", "learned"] = "fixed"

    @property
    def chunked(self) -> bool:
        """Whether CURRENT is cut into chunks."""
        return self.size is not None or self.period is not None

    @property
    def left_out(self) -> list[str]:
        """Columns not compared by default: ``--exclude``, ``--timestamp`` and ``--id``."""
        names = [*self.exclude, self.timestamp, self.id]
        return list(dict.fromkeys(n for n in names if n is not None))

    @property
    def description(self) -> str:
        """``chunks of 1,000 rows`` or ``chunks of 1d of created_at``."""
        if self.size is not None:
            return f"chunks of {self.size:,} rows"
        return f"chunks of {self.period_text} of {self.timestamp}"


class Thresholds(StrEnum):
    """How each column's verdict is decided."""

    FIXED = "fixed"
    LEARNED = "learned"


THRESHOLDS_HELP = (
    "fixed: each method's threshold; learned: limits learned from chunks of REFERENCE as "
    "large as CURRENT's chunks (mean + 3 std of each column's statistic), which keep false "
    "alarms rare and catch smaller shifts. Needs --chunk-size or --chunk-period."
)


def parse_chunking(
    chunk_size: int | None,
    chunk_period: str | None,
    timestamp: str | None,
    id_column: str | None,
    exclude: str | None,
    thresholds: Thresholds = Thresholds.FIXED,
) -> Chunking:
    """Check the chunk options against each other (the data comes later)."""
    from mlvigil.checks.quality.freshness import parse_duration

    if thresholds is Thresholds.LEARNED and chunk_size is None and chunk_period is None:
        raise ConfigError(
            "--thresholds learned learns limits from reference chunks as large as CURRENT's "
            "chunks: give --chunk-size ROWS or --chunk-period PERIOD too"
        )
    if chunk_size is not None and chunk_period is not None:
        raise ConfigError(
            "--chunk-size and --chunk-period both say how to cut CURRENT; give only one: "
            "rows per chunk (--chunk-size 10000) or time per chunk (--chunk-period 1d)"
        )
    if chunk_size is not None and chunk_size < 1:
        raise ConfigError(
            f"--chunk-size must be at least 1 row, got {chunk_size}; give the number of rows "
            "per chunk, e.g. --chunk-size 10000"
        )
    period = None
    if chunk_period is not None:
        if timestamp is None:
            raise ConfigError(
                "--chunk-period needs --timestamp COLUMN, the column that holds each row's time"
            )
        with _option("--chunk-period"):
            period = parse_duration(chunk_period)
    return Chunking(
        chunk_size,
        period,
        timestamp,
        id_column,
        tuple(_split(exclude) or ()),
        period_text=(chunk_period or "").strip(),
        thresholds="learned" if thresholds is Thresholds.LEARNED else "fixed",
    )


def open_input(path: Path, argument: str) -> TableSource | DatasetProfile:
    """A data file as a table source, or a ``.profile`` file as a profile."""
    from mlvigil.checks.drift import PROFILE_SUFFIX
    from mlvigil.io.tables import open_table
    from mlvigil.profile import DatasetProfile

    try:
        if path.suffix.lower() == PROFILE_SUFFIX:
            return DatasetProfile.load(path)
        return open_table(path)
    except MlvigilError as error:
        raise InputError(f"{argument}: {error}") from None


def column_names(data: TableSource | DatasetProfile) -> list[str]:
    """The columns of an opened input."""
    from mlvigil.profile import DatasetProfile

    return list(data.columns) if isinstance(data, DatasetProfile) else data.column_names


def _hint(name: str, known: Sequence[str], otherwise: str) -> str:
    """``did you mean 'x'?`` when a known name is close, else ``otherwise``."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {close[0]!r}?" if close else otherwise


def check_columns(
    reference: Sequence[str],
    current: Sequence[str],
    *,
    columns: Sequence[str] | None,
    chunking: Chunking,
    types: Sequence[str] = (),
) -> list[str]:
    """The compared columns, or an error naming the option that names a missing one."""
    every = list(dict.fromkeys([*reference, *current]))
    for name in columns or ():
        sides = [side for side, names in (("REFERENCE", reference), ("CURRENT", current))
                 if name not in names]  # fmt: skip
        if sides:
            shared = [c for c in reference if c in current]
            raise InputError(
                f"--columns: {name!r} is not a column of {' nor '.join(sides)}; "
                + _hint(name, shared, "name columns that both files have")
            )
    for name in chunking.exclude:
        if name not in every:
            raise InputError(
                f"--exclude: {name!r} is not a column of REFERENCE nor CURRENT; "
                + _hint(name, every, "name columns as the files spell them, comma-separated")
            )
    for flag, named, holds in (
        ("--timestamp", chunking.timestamp, "time"),
        ("--id", chunking.id, "id"),
    ):
        if named is not None and named not in current:
            otherwise = f"name the column of CURRENT that holds each row's {holds}"
            raise InputError(
                f"{flag}: {named!r} is not a column of CURRENT; " + _hint(named, current, otherwise)
            )
    if columns is not None:
        compared = [c for c in dict.fromkeys(columns) if c not in chunking.exclude]
    else:
        left_out = chunking.left_out
        only_reference = [c for c in reference if c not in current and c not in left_out]
        only_current = [c for c in current if c not in reference and c not in left_out]
        if only_reference or only_current:
            parts = []
            if only_reference:
                parts.append(f"missing from CURRENT: {', '.join(only_reference)}")
            if only_current:
                parts.append(f"missing from REFERENCE: {', '.join(only_current)}")
            extra = ",".join([*chunking.exclude, *only_reference, *only_current])
            raise InputError(
                f"REFERENCE and CURRENT have different columns ({'; '.join(parts)}); leave "
                f"those out with --exclude {extra}, or name the columns to compare with --columns"
            )
        compared = [c for c in reference if c not in left_out]
    for name in types:
        if name not in compared:
            raise InputError(
                f"--type: {name!r} is not a compared column; "
                + _hint(name, compared, "give COLUMN=TYPE for a column that is compared")
            )
    return compared


def make_chunks(current: TableSource, chunking: Chunking) -> list[Chunk]:
    """Cut CURRENT as the options say; a bad timestamp column is a ``--timestamp`` error."""
    from mlvigil.checks.chunks import period_chunks, size_chunks, timestamps_of

    if current.num_rows == 0:
        raise InputError("CURRENT has no rows to cut into chunks")
    if chunking.size is not None:
        return size_chunks(current.num_rows, chunking.size)
    name, period = chunking.timestamp, chunking.period
    assert name is not None
    assert period is not None
    flag = f"--timestamp {name}"
    try:
        times = timestamps_of(current.column(name), name)
    except InputError as error:
        raise InputError(f"{flag}: {error}") from None
    if times.null_count:
        first = times.is_null().to_pylist().index(True)
        raise InputError(
            f"{flag}: {times.null_count:,} rows have no time (the first is row {first}); "
            "fill or drop them, or cut by rows with --chunk-size"
        )
    return period_chunks(times, period)


def data_inputs(
    reference: TableSource | DatasetProfile, current: TableSource | DatasetProfile, flag: str
) -> tuple[TableSource, TableSource]:
    """Both inputs as data: chunks are cut from rows, which a profile does not keep."""
    from mlvigil.profile import DatasetProfile

    for argument, data in (("REFERENCE", reference), ("CURRENT", current)):
        if isinstance(data, DatasetProfile):
            raise InputError(
                f"{flag} needs data files, and {argument} is a profile (it keeps no rows); "
                "give the CSV or Parquet file it was made from"
            )
    assert not isinstance(reference, DatasetProfile)
    assert not isinstance(current, DatasetProfile)
    return reference, current


_CHUNK_OPTIONS_PANEL = "Chunks"

# Options `mlvigil drift` and `mlvigil report` share.
ExcludeOption = Annotated[
    str | None, typer.Option(help="Leave these columns out (comma-separated).")
]
ChunkSizeOption = Annotated[
    int | None,
    typer.Option(
        "--chunk-size",
        metavar="ROWS",
        help="Cut CURRENT into chunks of ROWS rows and compare each with REFERENCE "
        "(the last chunk keeps what is left).",
        rich_help_panel=_CHUNK_OPTIONS_PANEL,
    ),
]
ChunkPeriodOption = Annotated[
    str | None,
    typer.Option(
        "--chunk-period",
        metavar="PERIOD",
        help="Cut CURRENT into one chunk per PERIOD of --timestamp (1d, 6h, 1w, 30m; "
        "UTC, aligned to midnight).",
        rich_help_panel=_CHUNK_OPTIONS_PANEL,
    ),
]
TimestampOption = Annotated[
    str | None,
    typer.Option(
        metavar="COLUMN",
        help="Column of each row's time (datetimes, dates or ISO 8601 text; naive "
        "times are UTC). Never tested for drift.",
        rich_help_panel=_CHUNK_OPTIONS_PANEL,
    ),
]
IdOption = Annotated[
    str | None,
    typer.Option(
        "--id",
        metavar="COLUMN",
        help="An id column. Never tested for drift.",
        rich_help_panel=_CHUNK_OPTIONS_PANEL,
    ),
]
ThresholdsOption = Annotated[
    Thresholds, typer.Option(help=THRESHOLDS_HELP, rich_help_panel=_CHUNK_OPTIONS_PANEL)
]


def drift(
    reference: Annotated[Path, typer.Argument(help="Reference data: CSV or Parquet file.")],
    current: Annotated[Path, typer.Argument(help="Current data: CSV or Parquet file.")],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Print a table or one JSON object.")
    ] = OutputFormat.TABLE,
    method: Annotated[
        str | None,
        typer.Option(
            help="Use this method on every column it applies to: ks, wasserstein, "
            "anderson, cramer_von_mises, energy, psi, jensenshannon, hellinger, "
            "kl_div, chisquare, z, fisher_exact, g_test."
        ),
    ] = None,
    columns: Annotated[
        str | None, typer.Option(help="Compare only these columns (comma-separated).")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Threshold for every method: significance level for tests, distance for distances."
        ),
    ] = None,
    drift_share: Annotated[
        float, typer.Option(help="Share of drifted columns that makes the dataset drifted.")
    ] = 0.5,
    correction: Annotated[
        str | None,
        typer.Option(help="Multiple-testing correction of p-values: bonferroni or bh."),
    ] = None,
    column_type: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="Override an inferred type, as COLUMN=TYPE (numerical, "
            "categorical, boolean, datetime, text). Repeatable.",
        ),
    ] = None,
    exclude: ExcludeOption = None,
    chunk_size: ChunkSizeOption = None,
    chunk_period: ChunkPeriodOption = None,
    timestamp: TimestampOption = None,
    id_column: IdOption = None,
    thresholds: ThresholdsOption = Thresholds.FIXED,
    multivariate: Annotated[
        bool,
        typer.Option(
            "--multivariate",
            help="Also compare the columns together (PCA reconstruction error, a domain "
            "classifier and, for embedding columns, MMD): catches a change in how columns "
            "move together that no column shows alone, and names the columns behind it. "
            "With --format json the object has 'univariate' and 'multivariate' keys.",
        ),
    ] = False,
) -> None:
    """Compare CURRENT with REFERENCE, column by column, and print the drift found.

    With --chunk-size or --chunk-period, CURRENT is cut into chunks and each chunk is
    compared with REFERENCE: a table of chunks by columns shows where drift starts.
    With --multivariate the columns are also compared together, chunk by chunk.

    Exit code 0 whether or not drift is found, 2 when the input or options are bad.
    """
    with exit_on_user_error():
        types = parse_types(column_type or [])
        config = drift_config(method, threshold, drift_share, correction)
        chunking = parse_chunking(
            chunk_size, chunk_period, timestamp, id_column, exclude, thresholds
        )
        wanted = _split(columns)
        ref_input = open_input(reference, "REFERENCE")
        cur_input = open_input(current, "CURRENT")
        check_columns(
            column_names(ref_input),
            column_names(cur_input),
            columns=wanted,
            chunking=chunking,
            types=list(types),
        )
        univariate: ChunkedDriftReport | DriftReport
        if chunking.chunked:
            univariate = _compare_chunks(ref_input, cur_input, wanted, chunking, types, config)
        else:
            univariate = _compare(ref_input, cur_input, wanted, chunking, types, config)
        joint = None
        if multivariate:
            from mlvigil.cli.multivariate import compare_multivariate

            ref_data, cur_data = data_inputs(ref_input, cur_input, "--multivariate")
            joint = compare_multivariate(ref_data, cur_data, wanted, chunking, types)
    if output_format is OutputFormat.JSON:
        if joint is None:
            typer.echo(univariate.to_json())
        else:
            import orjson

            both = {"univariate": univariate.to_dict(), "multivariate": joint.to_dict()}
            typer.echo(orjson.dumps(both).decode())
        return
    from mlvigil.checks.drift_report import DriftReport
    from mlvigil.cli.render import chunked_drift_table, drift_table

    if isinstance(univariate, DriftReport):
        drift_table(univariate)
    else:
        chunked_drift_table(univariate, chunking=chunking.description)
    if joint is not None:
        from mlvigil.cli.multivariate import multivariate_table

        multivariate_table(joint)


def _compare(
    reference: TableSource | DatasetProfile,
    current: TableSource | DatasetProfile,
    columns: list[str] | None,
    chunking: Chunking,
    types: dict[str, str],
    config: DriftConfig,
) -> DriftReport:
    from mlvigil.checks.drift import detect_drift
    from mlvigil.cli.progress import column_progress

    with column_progress("Comparing columns") as advance:
        return detect_drift(
            reference,
            current,
            columns=columns,
            exclude=chunking.left_out if columns is None else list(chunking.exclude),
            schema=types,
            config=config,
            on_column=advance,
        )


def _compare_chunks(
    reference: TableSource | DatasetProfile,
    current: TableSource | DatasetProfile,
    columns: list[str] | None,
    chunking: Chunking,
    types: dict[str, str],
    config: DriftConfig,
) -> ChunkedDriftReport:
    from mlvigil.checks.chunked import detect_drift_chunks
    from mlvigil.checks.drift import prepare_reference
    from mlvigil.cli.progress import column_progress

    flag = "--chunk-size" if chunking.size is not None else "--chunk-period"
    ref_source, cur_source = data_inputs(reference, current, flag)
    chunks = make_chunks(cur_source, chunking)
    with column_progress(f"Comparing {len(chunks):,} chunks") as advance:
        return detect_drift_chunks(
            prepare_reference(ref_source),
            cur_source,
            chunks=chunks,
            timestamp=chunking.timestamp,
            id=chunking.id,
            columns=columns,
            exclude=chunking.exclude,
            schema=types,
            config=config,
            thresholds=chunking.thresholds,
            on_chunk=advance,
        )
