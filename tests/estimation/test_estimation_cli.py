"""`mlvigil estimate`: table and JSON output, exit codes, errors in the command's terms."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mlvigil.cli import app

runner = CliRunner()
Draw = Callable[..., pa.Table]


@pytest.fixture(scope="module")
def files(draw: Draw, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("estimate")
    paths = {name: folder / f"{name}.parquet" for name in ("reference", "steady", "shifted")}
    pq.write_table(draw(10_000, 1), paths["reference"])
    pq.write_table(draw(3000, 2).drop_columns(["label"]), paths["steady"])
    pq.write_table(pa.concat_tables([draw(2000, 3), draw(1000, 4, spread=0.3)]), paths["shifted"])
    return paths


def _estimate(files: dict[str, Path], current: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["estimate", str(files["reference"]), str(files[current]), *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_steady_window_prints_a_table_and_exits_0(files: dict[str, Path]) -> None:
    code, out, _ = _estimate(files, "steady", "--chunk-size", "1000", "--metrics", "accuracy,f1")
    assert code == 0, out
    assert "No degradation in any of the 3 chunks" in out
    assert "rows 2000-2999" in out
    assert "accuracy" in out
    assert "f1" in out


def test_a_degraded_chunk_exits_1_and_shows_in_json(files: dict[str, Path]) -> None:
    code, out, _ = _estimate(files, "shifted", "--chunk-size", "1000", "--format", "json")
    assert code == 1
    data = json.loads(out)
    degraded = {
        chunk["key"]
        for chunk in data["chunks"]
        for result in chunk["results"]
        if result["status"] == "failed"
    }
    assert degraded == {"rows 2000-2999"}
    realized = data["chunks"][0]["results"][0]["details"]["realized"]
    assert realized is not None  # CURRENT has the label column


def test_the_table_names_a_degraded_chunk(files: dict[str, Path]) -> None:
    code, out, _ = _estimate(files, "shifted", "--chunk-size", "1000", "--metrics", "accuracy")
    assert code == 1
    assert "Degraded in 1 of 3 chunks" in out
    assert "DEGRADED" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give one of --chunk-size"),
        (["--chunk-size", "10", "--chunk-period", "1d"], "not both"),
        (["--chunk-period", "1d"], "--chunk-period needs --timestamp"),
        (["--chunk-size", "100", "--score", "scores"], "--score: 'scores' is not a column"),
        (["--chunk-size", "100", "--probabilities", "1"], "expected CLASS=COLUMN"),
        (["--chunk-size", "100", "--metrics", "log_loss"], "--metrics"),
        (["--chunk-size", "100", "--positive-label", "yes"], "--positive-label 'yes' is not"),
    ],
)
def test_bad_options_exit_2_with_the_flag_named(
    files: dict[str, Path], args: list[str], message: str
) -> None:
    code, _, err = _estimate(files, "steady", *args)
    assert code == 2
    assert message in err


def test_a_missing_file_exits_2(files: dict[str, Path], tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["estimate", str(files["reference"]), str(tmp_path / "no.parquet"),
              "--chunk-size", "10"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "CURRENT" in result.stderr


def test_help_states_the_exit_codes() -> None:
    result = runner.invoke(app, ["estimate", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Exit code 1 when a chunk's estimate is outside its limits" in text
