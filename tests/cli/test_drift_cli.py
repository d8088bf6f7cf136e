"""The `mlvigil drift` command-line contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import csv
from typer.testing import CliRunner

from mlvigil import __version__
from mlvigil.cli import app

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(5)
    n = 3_000

    def table(shift: float) -> pa.Table:
        return pa.table(
            {
                "amount": rng.normal(shift, 1.0, n),
                "score": rng.uniform(0, 1, n),
                "tier": rng.choice(["gold", "silver", "bronze"], n),
            }
        )

    reference, current = tmp_path / "reference.parquet", tmp_path / "current.csv"
    pq.write_table(table(0.0), reference)
    csv.write_csv(table(1.0), current)
    return reference, current


def _json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["drift", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_json_output_follows_the_contract(files: tuple[Path, Path]) -> None:
    data = _json(str(files[0]), str(files[1]))
    assert data["dataset_drift"] is False
    assert data["number_of_drifted_columns"] == 1
    assert data["drift_share"] == pytest.approx(1 / 3)
    columns = data["columns"]
    assert isinstance(columns, dict)
    amount = columns["amount"]
    assert amount["drifted"] is True
    assert amount["type"] == "numerical"
    assert amount["method"] == "wasserstein"
    assert isinstance(amount["statistic"], float)
    assert amount["p_value"] is None
    assert amount["threshold"] == 0.1
    assert amount["status"] == "ok"
    assert (amount["reference_nulls"], amount["current_nulls"]) == (0, 0)


def test_exit_code_is_zero_when_drift_is_found(files: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["drift", str(files[0]), str(files[1])])
    assert result.exit_code == 0
    assert "amount" in result.stdout
    assert "DRIFT" in result.stdout


def test_method_forces_one_method_where_it_applies(files: tuple[Path, Path]) -> None:
    columns = _json(str(files[0]), str(files[1]), "--method", "ks")["columns"]
    assert isinstance(columns, dict)
    assert columns["amount"]["method"] == "ks"
    assert columns["tier"]["method"] == "jensenshannon"
    assert isinstance(columns["amount"]["p_value"], float)


def test_columns_threshold_and_drift_share_options(files: tuple[Path, Path]) -> None:
    data = _json(
        str(files[0]),
        str(files[1]),
        "--columns",
        "amount,tier",
        "--threshold",
        "0.9",
        "--drift-share",
        "0.5",
    )
    columns = data["columns"]
    assert isinstance(columns, dict)
    assert sorted(columns) == ["amount", "tier"]
    assert columns["amount"]["threshold"] == 0.9
    assert columns["amount"]["drifted"] is True  # a shift of one std is ~1 in normed W1
    assert data["drift_share"] == 0.5
    assert data["dataset_drift"] is True


def test_type_override_and_correction(files: tuple[Path, Path]) -> None:
    data = _json(
        str(files[0]),
        str(files[1]),
        "--method",
        "ks",
        "--correction",
        "bh",
        "--type",
        "score=numerical",
    )
    assert data["correction"] == "bh"
    columns = data["columns"]
    assert isinstance(columns, dict)
    assert isinstance(columns["score"]["p_value_adjusted"], float)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["missing.parquet", "{ref}"], "no such file"),
        (["{ref}", "{ref}", "--method", "t_test"], "unknown drift method 't_test'"),
        (["{ref}", "{ref}", "--columns", "nope"], "--columns: 'nope' is not a column"),
        (["{ref}", "{ref}", "--drift-share", "2"], "--drift-share must be above 0"),
        (["{ref}", "{ref}", "--type", "amount"], "COLUMN=TYPE"),
        (["{ref}", "{ref}", "--type", "amount=money"], "money"),
    ],
)
def test_bad_input_exits_2_with_a_one_line_reason(
    files: tuple[Path, Path], args: list[str], reason: str
) -> None:
    filled = [a.format(ref=files[0]) for a in args]
    result = runner.invoke(app, ["drift", *filled])
    assert result.exit_code == 2
    assert reason in result.stderr
    assert result.stdout == ""


def test_mismatched_columns_exit_2_naming_them(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x,y\n1,2\n")
    b.write_text("x,z\n1,2\n")
    result = runner.invoke(app, ["drift", str(a), str(b)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "missing from CURRENT: y" in result.stderr
    assert "missing from REFERENCE: z" in result.stderr
    assert "--exclude y,z" in result.stderr  # what to do, in the command's own terms
    assert "columns=" not in result.stderr


@pytest.mark.parametrize("command", [[], ["drift"]])
def test_help_is_available_everywhere(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_version_runs_from_the_installed_script_without_heavy_imports() -> None:
    probe = (
        "import sys; from mlvigil.cli import app; "
        "sys.argv = ['mlvigil', '--version']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pyarrow', 'scipy', 'numpy', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == [f"mlvigil {__version__}", "[]"]
