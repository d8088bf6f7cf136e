"""`mlvigil drift --chunk-size/--chunk-period`: drift by chunk, and errors in CLI terms."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mlvigil import detect_drift_chunks, profile_table
from mlvigil.cli import app

runner = CliRunner()
ROWS, CHUNK = 9_000, 2_000
FEATURES = ["amount", "channel", "country", "target"]


def _orders(rows: int, seed: int, *, drift_from: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.0, 0.5, rows)
    channel = rng.choice(["web", "app", "store"], rows, p=[0.5, 0.3, 0.2])
    if drift_from is not None:  # the last chunk drifts
        amount[drift_from:] *= 1.8
        channel[drift_from:] = rng.choice(
            ["web", "app", "store"], rows - drift_from, p=[0.2, 0.3, 0.5]
        )
    return pd.DataFrame(
        {
            "order_id": np.arange(rows),
            "created_at": pd.date_range(datetime(2026, 3, 1), periods=rows, freq="min"),
            "amount": amount,
            "channel": pd.Categorical(channel),
            "country": pd.array(rng.choice(["FR", "DE", "ES", "IT"], rows), dtype="string"),
            "target": rng.normal(0.0, 1.0, rows),
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("orders")
    reference, current = folder / "reference.parquet", folder / "current.parquet"
    _orders(10_000, 1).to_parquet(reference)
    _orders(ROWS, 2, drift_from=8_000).to_parquet(current)
    return reference, current


def _drift(files: tuple[Path, Path], *args: str) -> str:
    result = runner.invoke(app, ["drift", str(files[0]), str(files[1]), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


CHUNKED = ["--chunk-size", str(CHUNK), "--id", "order_id", "--timestamp", "created_at"]


def test_table_shows_a_row_per_chunk_and_marks_the_drifted_cells(
    files: tuple[Path, Path],
) -> None:
    out = _drift(files, *CHUNKED)
    lines = out.splitlines()
    assert lines[0].startswith("Drift in 1 of 5 chunks: CURRENT (9,000 rows) in chunks of 2,000")
    header = next(line for line in lines if "chunk" in line and "verdict" in line)
    assert [name in header for name in FEATURES] == [True] * 4
    assert "order_id" not in header
    assert "created_at" not in header
    rows = {m.group(1): line for line in lines if (m := re.match(r"^ (rows \d+-\d+) ", line))}
    assert list(rows) == [f"rows {a}-{min(a + CHUNK, ROWS) - 1}" for a in range(0, ROWS, CHUNK)]
    last = rows["rows 8000-8999"]
    assert "1,000" in last  # the short last chunk is there, evaluated
    assert last.count("●") >= 2  # amount and channel
    assert last.rstrip().endswith("DRIFT")
    assert all("●" not in line and line.rstrip().endswith("ok") for line in list(rows.values())[:4])
    assert "amount: drifted in 1 of 5 chunks (rows 8000-8999)" in out


def test_json_is_the_chunked_report(files: tuple[Path, Path]) -> None:
    data = json.loads(_drift(files, *CHUNKED, "--format", "json"))
    expected = detect_drift_chunks(
        *files, chunk_size=CHUNK, id="order_id", timestamp="created_at"
    ).to_dict()
    assert data == json.loads(json.dumps(expected))
    assert data["columns"] == FEATURES
    assert [c["rows"] for c in data["chunks"]] == [2000, 2000, 2000, 2000, 1000]
    assert data["chunks"][-1]["dataset_drift"] is True


def test_period_chunks_by_day_of_a_naive_timestamp(files: tuple[Path, Path]) -> None:
    args = ["--chunk-period", "1d", "--timestamp", "created_at", "--id", "order_id"]
    data = json.loads(_drift(files, *args, "--format", "json"))
    starts = [c["start"] for c in data["chunks"]]
    assert starts == [f"2026-03-0{d}T00:00:00+00:00" for d in range(1, 8)]
    assert sum(c["rows"] for c in data["chunks"]) == ROWS
    table = _drift(files, *args)
    assert "chunk (UTC)" in table
    assert re.search(r"^ 2026-03-07 +│ +360 ", table, re.MULTILINE)  # the partial last day


def test_without_chunk_options_id_and_timestamp_are_left_out(files: tuple[Path, Path]) -> None:
    data = json.loads(_drift(files, "--id", "order_id", "--timestamp", "created_at", "-f", "json"))
    assert list(data["columns"]) == FEATURES
    plain = json.loads(_drift(files, "--format", "json"))
    assert list(plain["columns"]) == ["order_id", "created_at", *FEATURES]
    assert plain["columns"]["amount"] == data["columns"]["amount"]


def test_exclude_leaves_columns_out_with_or_without_chunks(files: tuple[Path, Path]) -> None:
    whole = json.loads(_drift(files, "--exclude", "order_id,created_at,target", "-f", "json"))
    assert list(whole["columns"]) == ["amount", "channel", "country"]
    chunked = json.loads(_drift(files, *CHUNKED, "--exclude", "target", "-f", "json"))
    assert chunked["columns"] == ["amount", "channel", "country"]


@pytest.fixture(scope="module")
def odd_files(files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("odd")
    current = pd.read_parquet(files[1])
    current.loc[5, "created_at"] = pd.NaT
    current.to_parquet(folder / "gaps.parquet")
    current.drop(columns=["country"]).to_parquet(folder / "narrow.parquet")
    profile_table(files[1]).save(folder / "current.profile")
    return folder


@pytest.mark.parametrize(
    ("args", "option", "advice"),
    [
        (["--columns", "amout"], "--columns: 'amout'", "did you mean 'amount'?"),
        (["--columns", "nope"], "--columns: 'nope'", "name columns that both files have"),
        (["--exclude", "nope"], "--exclude: 'nope'", "name columns as the files spell them"),
        (["--chunk-size", "0"], "--chunk-size must be at least 1 row", "e.g. --chunk-size 10000"),
        (["--chunk-size", "-5", "--id", "order_id"], "--chunk-size", "rows per chunk"),
        (["--chunk-period", "1d"], "--chunk-period needs --timestamp COLUMN", "each row's time"),
        (["--chunk-period", "1d", "--timestamp", "order_id"], "--timestamp order_id:",
         "name a timestamp column (a datetime, a date or ISO 8601 text)"),
        (["--chunk-size", "100", "--chunk-period", "1d", "--timestamp", "created_at"],
         "--chunk-size and --chunk-period", "give only one"),
        (["--chunk-period", "daily", "--timestamp", "created_at"], "--chunk-period:",
         "write e.g. 24h"),
        (["--timestamp", "created"], "--timestamp: 'created'", "did you mean 'created_at'?"),
        (["--chunk-size", "100", "--id", "orderid"], "--id: 'orderid'", "did you mean 'order_id'?"),
        (["--chunk-size", "100", "--id", "key"], "--id: 'key'", "holds each row's id"),
        (["--type", "nope=numerical"], "--type: 'nope'", "a column that is compared"),
        (["--type", "amount"], "--type: expected COLUMN=TYPE", "--type zip=categorical"),
        (["--type", "amount=money"], "--type amount=money", "use one of: numerical"),
        (["--drift-share", "2"], "--drift-share must be above 0 and at most 1", "got 2.0"),
        (["--threshold", "-1"], "--threshold must be a number >= 0", "got -1.0"),
        (["--method", "t_test"], "--method: unknown drift method 't_test'", "choose one of"),
        (["--correction", "holm"], "--correction: unknown correction 'holm'", "use one of"),
    ],
)  # fmt: skip
def test_every_option_error_names_the_option_on_one_line_and_exits_2(
    files: tuple[Path, Path], args: list[str], option: str, advice: str
) -> None:
    result = runner.invoke(app, ["drift", str(files[0]), str(files[1]), *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.count("\n") == 0, message
    assert message.startswith("error: ")
    assert option in message
    assert advice in message
    for python_name in ("columns=", "chunk_size", "chunk_period", "drift_share", "timestamp="):
        assert python_name not in message


@pytest.mark.parametrize(
    ("current", "args", "fragments"),
    [
        ("narrow.parquet", [], ["missing from CURRENT: country", "--exclude country"]),
        ("narrow.parquet", ["--chunk-size", "100"], ["--exclude country"]),
        ("gaps.parquet", ["--chunk-period", "1d", "--timestamp", "created_at"],
         ["--timestamp created_at: 1 rows have no time (the first is row 5)", "--chunk-size"]),
        ("current.profile", ["--chunk-size", "100"],
         ["--chunk-size needs data files, and CURRENT is a profile", "CSV or Parquet"]),
    ],
)  # fmt: skip
def test_data_errors_say_which_option_to_change(
    files: tuple[Path, Path], odd_files: Path, current: str, args: list[str], fragments: list[str]
) -> None:
    result = runner.invoke(app, ["drift", str(files[0]), str(odd_files / current), *args])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.count("\n") == 0, message
    for fragment in fragments:
        assert fragment in message
    assert "columns=" not in message


def test_a_missing_file_names_its_argument(files: tuple[Path, Path], tmp_path: Path) -> None:
    result = runner.invoke(app, ["drift", str(files[0]), str(tmp_path / "nope.csv"), *CHUNKED])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: CURRENT: no such file: ")


def test_help_lists_the_chunk_options() -> None:
    result = runner.invoke(app, ["drift", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--chunk-size", "--chunk-period", "--timestamp", "--id", "--exclude"):
        assert option in result.stdout


def test_learned_thresholds_judge_each_chunk_by_limits_from_reference_chunks(
    files: tuple[Path, Path],
) -> None:
    data = json.loads(_drift(files, *CHUNKED, "--thresholds", "learned", "--format", "json"))
    expected = detect_drift_chunks(
        *files, chunk_size=CHUNK, id="order_id", timestamp="created_at", thresholds="learned"
    )
    assert data == json.loads(expected.to_json())
    amount = expected.column("amount")
    assert all(r.limits is not None and r.threshold == r.limits.upper for r in amount)
    assert amount[0].limits.chunk_rows == CHUNK  # reference chunks as large as CURRENT's
    assert [c["dataset_drift"] for c in data["chunks"]] == [False] * 4 + [True]
    table = _drift(files, *CHUNKED, "--thresholds", "learned")
    assert "statistic / learned limit" in table


def test_learned_thresholds_need_chunks_and_a_reference_large_enough(
    files: tuple[Path, Path],
) -> None:
    result = runner.invoke(app, ["drift", *map(str, files), "--thresholds", "learned"])
    assert result.exit_code == 2
    assert "--thresholds learned" in result.stderr
    assert "--chunk-size" in result.stderr
    result = runner.invoke(
        app, ["drift", *map(str, files), "--chunk-size", "7000", "--thresholds", "learned"]
    )
    assert result.exit_code == 2
    assert "at least 2 reference chunks of 7,000 rows" in result.stderr
