"""The `mlvigil check` command-line contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlvigil.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).parents[2] / "examples"
CURRENT = EXAMPLES / "data" / "current.csv"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quality.yaml"
    path.write_text(text)
    return path


def test_bundled_example_fails_on_its_planted_problems_with_exit_1() -> None:
    result = runner.invoke(
        app, ["check", str(CURRENT), "--config", str(EXAMPLES / "quality.yaml"), "-f", "json"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["passed"] is False
    for row in data["results"]:
        assert {"check", "column", "value", "threshold", "passed", "severity"} <= set(row)
    failed = {(r["check"], r["column"]) for r in data["results"] if not r["passed"]}
    assert ("completeness", "employment_years") in failed
    assert ("drift", "income") in failed
    assert ("completeness", "age") not in failed


def test_table_output_lists_every_check(tmp_path: Path) -> None:
    config = _write(tmp_path, "volume: {min_rows: 10}\ncompleteness: {columns: {age: 0.0}}\n")
    result = runner.invoke(app, ["check", str(CURRENT), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "Checks passed: 2 of 2 passed" in result.stdout
    assert "completeness" in result.stdout
    assert "volume" in result.stdout


def test_failures_of_warning_severity_do_not_fail_the_run(tmp_path: Path) -> None:
    config = _write(tmp_path, "volume: {min_rows: 1000000}\nseverity: {volume: warning}\n")
    result = runner.invoke(app, ["check", str(CURRENT), "--config", str(config), "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["passed"] for r in data["results"]] == [False]
    assert data["results"][0]["severity"] == "warning"


@pytest.mark.parametrize(
    ("config_text", "reason"),
    [
        ("completeness: {colums: {age: 0.1}}\n", "colums"),
        ("volume: {min_rows: many}\n", "min_rows"),
        ("[not, a, mapping]\n", "quality.yaml"),
    ],
)
def test_bad_config_exits_2_naming_the_problem(
    tmp_path: Path, config_text: str, reason: str
) -> None:
    config = _write(tmp_path, config_text)
    result = runner.invoke(app, ["check", str(CURRENT), "--config", str(config)])
    assert result.exit_code == 2
    assert reason in result.stderr
    assert result.stdout == ""


def test_bad_data_exits_2(tmp_path: Path) -> None:
    config = _write(tmp_path, "volume: {min_rows: 1}\n")
    result = runner.invoke(app, ["check", str(tmp_path / "nope.csv"), "--config", str(config)])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(CURRENT), "--config", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2
