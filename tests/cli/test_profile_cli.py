"""The `mlvigil profile` commands and `mlvigil drift` on profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlvigil.cli import app

runner = CliRunner()
DATA = Path(__file__).parents[2] / "examples" / "data"


@pytest.fixture
def profiles(tmp_path: Path) -> tuple[Path, Path]:
    reference, current = tmp_path / "ref.profile", tmp_path / "cur.profile"
    assert (
        runner.invoke(app, ["profile", str(DATA / "reference.csv"), "-o", str(reference)]).exit_code
        == 0
    )
    result = runner.invoke(
        app, ["profile", "create", str(DATA / "current.csv"), "-o", str(current)]
    )
    assert result.exit_code == 0, result.output
    assert "3,000 rows, 8 columns" in result.stdout
    return reference, current


def test_show_json_summarises_the_profile(profiles: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["profile", "show", str(profiles[1]), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rows"] == 3_000
    employment = data["columns"]["employment_years"]
    assert employment["nulls"] == 477
    assert employment["type"] == "numerical"


def test_show_table_lists_every_column(profiles: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["profile", "show", str(profiles[0])])
    assert result.exit_code == 0, result.output
    for column in ("age", "income", "loan_purpose", "has_cosigner"):
        assert column in result.stdout


def test_merge_adds_rows_and_nulls(profiles: tuple[Path, Path], tmp_path: Path) -> None:
    merged = tmp_path / "both.profile"
    result = runner.invoke(app, ["profile", "merge", *map(str, profiles), "-o", str(merged)])
    assert result.exit_code == 0, result.output
    shown = json.loads(runner.invoke(app, ["profile", "show", str(merged), "-f", "json"]).stdout)
    assert shown["rows"] == 6_000
    assert shown["columns"]["employment_years"]["nulls"] == 477


def test_drift_on_profiles_finds_the_planted_drift_with_error_bounds(
    profiles: tuple[Path, Path],
) -> None:
    for current in (profiles[1], DATA / "current.csv"):
        result = runner.invoke(app, ["drift", str(profiles[0]), str(current), "-f", "json"])
        assert result.exit_code == 0, result.output
        columns = json.loads(result.stdout)["columns"]
        drifted = {name for name, column in columns.items() if column["drifted"]}
        assert drifted == {"income", "loan_purpose"}
        assert columns["income"]["approximation_error"] > 0
        assert columns["employment_years"]["missing_rate_drifted"] is True


def test_a_corrupt_profile_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.profile"
    bad.write_bytes(b"garbage")
    result = runner.invoke(app, ["profile", "show", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error:")


def test_profile_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["profile", str(tmp_path / "x.csv"), "-o", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
