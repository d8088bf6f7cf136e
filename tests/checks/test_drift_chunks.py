"""Drift over the chunks of one file, and the prepared reference behind it."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlvigil import (
    ChunkedDriftReport,
    ConfigError,
    DriftConfig,
    InputError,
    PreparedReference,
    detect_drift,
    detect_drift_chunks,
    prepare_reference,
    profile_table,
)
from mlvigil.checks import drift_score
from mlvigil.checks.chunks import size_chunks
from mlvigil.io.tables import ParquetSource

REFERENCE_ROWS, CURRENT_ROWS, CHUNK = 10_000, 9_000, 2_000
DRIFT_FROM = 8_000  # the last (short) chunk, rows 8000-8999, drifts
START = datetime(2026, 3, 1)
FEATURES = ["amount", "channel", "country", "target"]


def _orders(rows: int, seed: int, *, drift_from: int | None = None) -> pd.DataFrame:
    """Orders as a pandas pipeline writes them: category and string dtypes, a float target."""
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.0, 0.5, rows)
    channel = rng.choice(["web", "app", "store"], rows, p=[0.5, 0.3, 0.2])
    if drift_from is not None:
        late = slice(drift_from, rows)
        amount[late] *= 1.8
        channel[late] = rng.choice(["web", "app", "store"], rows - drift_from, p=[0.2, 0.3, 0.5])
    return pd.DataFrame(
        {
            "order_id": np.arange(rows),
            "created_at": pd.date_range(START, periods=rows, freq="min"),
            "amount": amount,
            "channel": pd.Categorical(channel),
            "country": pd.array(rng.choice(["FR", "DE", "ES", "IT"], rows), dtype="string"),
            "target": rng.normal(0.0, 1.0, rows),
        }
    )


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _orders(REFERENCE_ROWS, 1), _orders(CURRENT_ROWS, 2, drift_from=DRIFT_FROM)


@pytest.fixture(scope="module")
def files(
    frames: tuple[pd.DataFrame, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("orders")
    reference, current = folder / "reference.parquet", folder / "current.parquet"
    frames[0].to_parquet(reference)
    frames[1].to_parquet(current)
    return reference, current


class CountingSource(ParquetSource):
    """A Parquet file that counts how often each column is read."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reads: Counter[str] = Counter()
        self._lock = threading.Lock()

    def column(self, name: str) -> pa.ChunkedArray:
        with self._lock:
            self.reads[name] += 1
        return super().column(name)


# ---------------------------------------------------------------- size chunks


def test_size_chunks_cover_every_row_and_the_short_last_chunk_is_evaluated(
    files: tuple[Path, Path],
) -> None:
    report = detect_drift_chunks(*files, chunk_size=CHUNK, id="order_id", timestamp="created_at")
    assert [c.chunk.key for c in report] == [
        "rows 0-1999",
        "rows 2000-3999",
        "rows 4000-5999",
        "rows 6000-7999",
        "rows 8000-8999",
    ]
    assert [c.chunk.rows for c in report] == [2000, 2000, 2000, 2000, 1000]
    last = report[-1]
    assert all(column.current_rows == 1000 for column in last.report)
    assert all(column.tested for column in last.report)
    assert report.current_rows == CURRENT_ROWS
    assert report.reference_rows == REFERENCE_ROWS


def test_the_planted_drift_shows_in_the_last_chunk_only(files: tuple[Path, Path]) -> None:
    report = detect_drift_chunks(*files, chunk_size=CHUNK, id="order_id", timestamp="created_at")
    assert [c.chunk.index for c in report.drifted_chunks] == [4]
    drifted = report.drifted_columns
    assert {"amount", "channel"} <= set(drifted)
    assert all([c.key for c in chunks] == ["rows 8000-8999"] for chunks in drifted.values())
    assert report[-1].dataset_drift
    assert {"amount", "channel"} <= set(report[-1].drifted_columns)
    # Before the drift the chunks are large enough for distances, which stay small.
    assert [c.method for c in report.column("amount")[:4]] == ["wasserstein"] * 4
    assert report.column("amount")[-1].method == "ks"  # 1,000 rows: a test


def test_each_chunk_equals_detect_drift_on_the_rows_cut_by_hand(
    files: tuple[Path, Path], frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    report = detect_drift_chunks(*files, chunk_size=CHUNK, id="order_id", timestamp="created_at")
    current = frames[1]
    for start, item in zip(range(0, CURRENT_ROWS, CHUNK), report, strict=True):
        by_hand = current.iloc[start : start + CHUNK]
        expected = detect_drift(files[0], by_hand, exclude=["order_id", "created_at"])
        assert item.report == expected


def test_id_and_timestamp_are_never_tested_unless_asked_for(files: tuple[Path, Path]) -> None:
    report = detect_drift_chunks(*files, chunk_size=5_000, id="order_id", timestamp="created_at")
    assert report.columns == tuple(FEATURES)
    asked = detect_drift_chunks(
        *files, chunk_size=5_000, id="order_id", columns=["order_id", "amount"]
    )
    assert asked.columns == ("order_id", "amount")


def test_exclude_drops_columns_and_must_name_one(files: tuple[Path, Path]) -> None:
    report = detect_drift_chunks(
        *files, chunk_size=5_000, id="order_id", exclude=["created_at", "target"]
    )
    assert report.columns == ("amount", "channel", "country")
    with pytest.raises(InputError, match="'targte'"):
        detect_drift_chunks(*files, chunk_size=5_000, exclude=["targte"])


# ---------------------------------------------------------------- period chunks


def _by_day(frame: pd.DataFrame) -> list[int]:
    return frame.groupby(frame["created_at"].dt.floor("D")).size().tolist()


@pytest.mark.parametrize(
    "times",
    [
        pytest.param(lambda t: t, id="naive-datetimes"),
        pytest.param(lambda t: t.dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo"), id="tz-aware"),
        pytest.param(lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%S"), id="naive-iso-text"),
        pytest.param(lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%SZ"), id="utc-iso-text"),
        pytest.param(
            lambda t: t.dt.tz_localize("UTC").dt.tz_convert("America/New_York").astype(str),
            id="offset-iso-text",
        ),
    ],
)
def test_period_chunks_are_one_utc_day_each_whatever_the_time_format(
    files: tuple[Path, Path],
    frames: tuple[pd.DataFrame, pd.DataFrame],
    tmp_path: Path,
    times: object,
) -> None:
    current = frames[1].copy()
    current["created_at"] = times(current["created_at"])  # type: ignore[operator]
    path = tmp_path / "current.parquet"
    current.to_parquet(path)
    report = detect_drift_chunks(
        files[0], path, chunk_period="1d", timestamp="created_at", id="order_id"
    )
    assert [c.chunk.rows for c in report] == _by_day(frames[1])  # 9,000 minutes: 7 days
    first = report[0].chunk
    assert first.key == "2026-03-01T00:00:00+00:00"
    assert (first.start, first.end) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert report[-1].chunk.rows == 9_000 - 6 * 1440  # the partial last day is kept
    assert report.columns == tuple(FEATURES)


def test_period_chunks_equal_detect_drift_on_each_day_cut_by_hand(
    files: tuple[Path, Path], frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    current = frames[1].sample(frac=1.0, random_state=0)  # rows out of time order
    report = detect_drift_chunks(
        files[0], current, chunk_period=timedelta(days=1), timestamp="created_at", id="order_id"
    )
    days = current["created_at"].dt.floor("D")
    for item, day in zip(report, sorted(days.unique()), strict=True):
        by_hand = current[days == day]
        assert item.chunk.rows == len(by_hand)
        expected = detect_drift(files[0], by_hand, exclude=["order_id", "created_at"])
        assert item.report == expected


def test_a_timestamp_that_is_not_a_time_is_an_input_error(files: tuple[Path, Path]) -> None:
    with pytest.raises(InputError, match="'order_id' holds int64 values, not times"):
        detect_drift_chunks(*files, chunk_period="1d", timestamp="order_id")


@pytest.mark.parametrize(
    ("options", "error", "reason"),
    [
        ({"chunk_size": 100, "chunk_period": "1d", "timestamp": "created_at"}, ConfigError,
         "exactly one of chunk_size, chunk_period or chunks, not chunk_size and chunk_period"),
        ({}, ConfigError, "exactly one of"),
        ({"chunk_period": "1d"}, ConfigError, "chunk_period needs timestamp="),
        ({"chunk_size": 0}, ConfigError, "chunk_size must be a whole number of rows >= 1"),
        ({"chunk_period": "daily", "timestamp": "created_at"}, ConfigError, "'daily'"),
        ({"chunk_size": 10, "timestamp": "when"}, InputError, "timestamp column 'when'"),
        ({"chunk_size": 10, "id": "key"}, InputError, "id column 'key'"),
        ({"chunk_size": 10, "columns": ["nope"]}, InputError, "columns not found: 'nope'"),
        ({"chunk_size": 10, "schema": {"nope": "numerical"}}, ConfigError, "not compared: nope"),
    ],
)  # fmt: skip
def test_bad_options_raise_before_any_comparison(
    files: tuple[Path, Path], options: dict[str, object], error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason.replace("(", r"\(")):
        detect_drift_chunks(*files, **options)  # type: ignore[arg-type]


def test_an_empty_current_is_an_input_error(files: tuple[Path, Path]) -> None:
    empty = pd.read_parquet(files[1]).iloc[:0]
    with pytest.raises(InputError, match="current has no rows"):
        detect_drift_chunks(files[0], empty, chunk_period="1d", timestamp="created_at")


def test_chunks_made_beforehand_are_used_as_they_are(files: tuple[Path, Path]) -> None:
    chunks = size_chunks(CURRENT_ROWS, 4_500)
    report = detect_drift_chunks(*files, chunks=chunks, id="order_id", timestamp="created_at")
    assert [c.chunk for c in report] == chunks
    with pytest.raises(InputError, match="does not fit current"):
        detect_drift_chunks(*files, chunks=size_chunks(CURRENT_ROWS + 1, 4_500))


# ---------------------------------------------------------------- the prepared reference


def test_prepared_reference_gives_the_results_of_the_plain_reference(
    files: tuple[Path, Path], frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    prepared = prepare_reference(files[0], schema={"order_id": "numerical"})
    assert isinstance(prepared, PreparedReference)
    config = DriftConfig(correction="bh", method="ks")
    current = frames[1]
    for rows in (current.iloc[:300], current.iloc[3000:6000], current.iloc[8000:]):
        for options in ({}, {"config": config}, {"schema": {"target": "categorical"}}):
            plain = detect_drift(
                files[0], rows, schema={"order_id": "numerical", **options.get("schema", {})},
                config=options.get("config"),
            )  # fmt: skip
            assert detect_drift(prepared, rows, **options) == plain  # type: ignore[arg-type]


def test_prepared_reference_compares_categories_of_another_kind_as_text() -> None:
    reference = pa.table({"code": pa.array([1, 2, 3, 1, 2, 3] * 50)})
    current = pa.table({"code": pa.array(["1", "2", "3", "3", "3", "3"] * 50)})
    prepared = prepare_reference(reference)
    assert detect_drift(prepared, current) == detect_drift(reference, current)
    same_kind = pa.table({"code": pa.array([1, 2, 3, 3, 3, 3] * 50)})
    assert detect_drift(prepared, same_kind) == detect_drift(reference, same_kind)
    assert detect_drift(prepared, current)["code"].drifted


def test_chunked_drift_reads_each_column_once(files: tuple[Path, Path]) -> None:
    reference, current = CountingSource(files[0]), CountingSource(files[1])
    detect_drift_chunks(
        reference, current, chunk_period="1d", timestamp="created_at", id="order_id"
    )
    assert reference.reads == dict.fromkeys(FEATURES, 1)
    assert current.reads == dict.fromkeys([*FEATURES, "created_at"], 1)


def test_a_prepared_reference_is_shared_safely_between_threads(
    files: tuple[Path, Path], frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    source = CountingSource(files[0])
    prepared = prepare_reference(source)
    windows = [frames[1].iloc[i : i + 1500] for i in range(0, CURRENT_ROWS, 1500)]
    expected = [detect_drift(files[0], w, exclude=["order_id", "created_at"]) for w in windows]
    results: dict[int, object] = {}
    barrier = threading.Barrier(len(windows))

    def compare(i: int) -> None:
        barrier.wait()
        results[i] = detect_drift(prepared, windows[i], exclude=["order_id", "created_at"])

    threads = [threading.Thread(target=compare, args=(i,)) for i in range(len(windows))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(windows))] == expected
    assert source.reads == dict.fromkeys(FEATURES, 1)


def test_prepare_reference_refuses_profiles_and_unknown_schema_columns(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="does not have: nope"):
        prepare_reference(files[0], schema={"nope": "numerical"})
    profile = tmp_path / "reference.profile"
    profile_table(files[0]).save(profile)
    with pytest.raises(InputError, match="needs data, not a profile"):
        prepare_reference(profile)


def test_a_prepared_reference_compares_with_a_profile_too(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    profile = tmp_path / "current.profile"
    profile_table(files[1]).save(profile)
    plain = detect_drift(files[0], profile, exclude=["created_at"])
    assert detect_drift(prepare_reference(files[0]), profile, exclude=["created_at"]) == plain


# ---------------------------------------------------------------- the report's views


def test_json_has_a_cell_per_chunk_and_column(files: tuple[Path, Path]) -> None:
    report = detect_drift_chunks(*files, chunk_size=CHUNK, id="order_id", timestamp="created_at")
    data = json.loads(report.to_json())
    assert data["number_of_chunks"] == 5
    assert data["number_of_drifted_chunks"] == 1
    assert data["columns"] == FEATURES
    assert data["drifted_columns"]["amount"] == ["rows 8000-8999"]
    last = data["chunks"][-1]
    assert {k: last[k] for k in ("index", "key", "rows", "start", "end", "dataset_drift")} == {
        "index": 4,
        "key": "rows 8000-8999",
        "rows": 1000,
        "start": None,
        "end": None,
        "dataset_drift": True,
    }
    assert all(list(chunk["columns"]) == FEATURES for chunk in data["chunks"])
    cell = last["columns"]["amount"]
    assert set(cell) >= {"method", "statistic", "threshold", "drifted", "status", "score"}
    assert cell["drifted"] is True
    assert cell["status"] == "ok"
    assert cell["score"] > 1.0
    assert cell["score"] == pytest.approx(drift_score(report[-1].report["amount"]))


def test_period_chunks_carry_their_period_in_json(files: tuple[Path, Path]) -> None:
    report = detect_drift_chunks(*files, chunk_period="12h", timestamp="created_at")
    first = report.to_dict()["chunks"][0]
    assert (first["start"], first["end"]) == (
        "2026-03-01T00:00:00+00:00",
        "2026-03-01T12:00:00+00:00",
    )


def test_dataframe_is_long_with_a_row_per_chunk_and_column(files: tuple[Path, Path]) -> None:
    report = detect_drift_chunks(*files, chunk_size=CHUNK, id="order_id", timestamp="created_at")
    frame = report.to_dataframe()
    assert len(frame) == 5 * len(FEATURES)
    assert frame.groupby("chunk")["column"].apply(list).tolist() == [FEATURES] * 5
    late = frame[(frame["chunk"] == 4) & (frame["column"] == "amount")].iloc[0]
    assert bool(late["drifted"])
    assert bool(late["dataset_drift"])
    assert late["key"] == "rows 8000-8999"


def test_drift_score_is_one_at_the_threshold_for_distances_and_tests() -> None:
    rng = np.random.default_rng(0)
    reference = pa.table({"x": rng.normal(0, 1, 400)})
    current = pa.table({"x": rng.normal(0.3, 1, 400)})
    tested = detect_drift(reference, current)["x"]
    assert tested.method == "ks"
    assert tested.p_value is not None
    at_p = detect_drift(reference, current, config=DriftConfig(threshold=tested.p_value))["x"]
    assert drift_score(at_p) == pytest.approx(1.0)
    distance = detect_drift(reference, current, config=DriftConfig(method="wasserstein"))["x"]
    assert distance.statistic is not None
    at_d = DriftConfig(method="wasserstein", threshold=distance.statistic)
    assert drift_score(detect_drift(reference, current, config=at_d)["x"]) == pytest.approx(1.0)
    skipped = detect_drift(pa.table({"t": ["a long text"] * 3}), pa.table({"t": ["x"] * 3}),
                           schema={"t": "text"})["t"]  # fmt: skip
    assert drift_score(skipped) is None


def test_drift_score_of_a_learned_limit_is_the_magnitude_over_the_limit() -> None:
    from mlvigil.checks.limits import LearnedLimits

    rng = np.random.default_rng(1)
    result = detect_drift(pa.table({"x": rng.normal(0, 1, 400)}),
                          pa.table({"x": rng.normal(0.5, 1, 400)}))["x"]  # fmt: skip
    assert result.statistic is not None
    limits = LearnedLimits.of([0.05, 0.06, 0.07, 0.05], chunk_rows=400, low=0.0, high=1.0)
    assert limits is not None
    learned = replace(result, threshold=limits.upper, limits=limits)
    assert drift_score(learned) == pytest.approx(result.statistic / limits.upper)


def test_report_iterates_and_indexes_its_chunks(files: tuple[Path, Path]) -> None:
    report = detect_drift_chunks(*files, chunk_size=4_500, id="order_id", timestamp="created_at")
    assert isinstance(report, ChunkedDriftReport)
    assert len(report) == 2
    assert [c.chunk.index for c in report] == [0, 1]
    with pytest.raises(KeyError):
        report.column("order_id")
