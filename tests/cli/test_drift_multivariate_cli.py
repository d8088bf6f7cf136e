"""``mlvigil drift --multivariate``: a change no column shows alone, found and explained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from mlvigil.cli.app import app

runner = CliRunner()


def _pairs(rows: int, correlation: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal([0.0, 0.0], [[1.0, correlation], [correlation, 1.0]], rows)
    return pd.DataFrame({"income": 50 + 10 * z[:, 0], "debt": 20 + 5 * z[:, 1]})


def _files(tmp_path: Path) -> tuple[str, str]:
    reference, current = tmp_path / "reference.parquet", tmp_path / "current.parquet"
    _pairs(20_000, 0.8, 0).to_parquet(reference)
    pd.concat([_pairs(2_000, 0.8, 1), _pairs(2_000, -0.8, 2)]).to_parquet(current)
    return str(reference), str(current)


def test_json_has_both_views_and_only_the_multivariate_one_sees_the_flipped_correlation(
    tmp_path: Path,
):
    reference, current = _files(tmp_path)
    args = ["drift", reference, current, "--chunk-size", "2000", "--multivariate"]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["univariate"]["number_of_drifted_chunks"] == 0
    multivariate = body["multivariate"]
    assert multivariate["drifted_chunks"] == ["rows 2000-3999"]
    assert multivariate["number_of_chunks"] == 2


def test_the_table_lists_each_method_per_chunk_with_its_verdict(tmp_path: Path):
    reference, current = _files(tmp_path)
    result = runner.invoke(
        app, ["drift", reference, current, "--chunk-size", "2000", "--multivariate"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "rows 2000-3999" in line]
    assert any("reconstruction_error" in line and "drift" in line for line in lines)
    assert "multivariate drift in 1 of 2 chunks" in result.output


def test_multivariate_on_a_profile_is_refused_naming_the_option(tmp_path: Path):
    reference, current = _files(tmp_path)
    profile = tmp_path / "reference.profile"
    made = runner.invoke(app, ["profile", reference, "-o", str(profile)])
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["drift", str(profile), current, "--multivariate"])
    assert result.exit_code == 2
    assert "--multivariate needs data files" in result.output
