"""Quality configuration in YAML: what loads, and how mistakes are reported."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mlvigil.checks.config import load_quality_config, parse_quality_config
from mlvigil.checks.quality import OutlierRule, RangeRule
from mlvigil.checks.result import Severity
from mlvigil.exceptions import ConfigError
from mlvigil.schema import ColumnType
from mlvigil.stats.correction import Correction

FULL = """\
completeness:
  default_max_null_rate: 0.05
  columns: {user_id: 0.0, amount: 0.05}
uniqueness:
  keys: [[user_id], [order_id, line]]
  max_duplicate_rate: 0.0
schema:
  required: [user_id, amount]
  types: {amount: numerical, country: categorical}
  allowed: {country: [US, DE, FR]}
  ranges: {amount: {min: 0, max: 10000}}
  allow_extra_columns: true
outliers:
  columns: {amount: {method: iqr, k: 1.5, max_rate: 0.01}, latency: {method: zscore, n_std: 3}}
freshness:
  column: event_time
  max_age: 24h
volume:
  min_rows: 1000
  max_rows: 1000000
drift:
  reference: data/reference.parquet
  method: null
  threshold: null
  drift_share: 0.5
severity:
  freshness: critical
"""


def _write(folder: Path, text: str, name: str = "quality.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _error(text: str, folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_quality_config(_write(folder, text))
    return str(caught.value)


def test_the_documented_example_loads_into_frozen_dataclasses(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "reference.parquet").touch()
    config = load_quality_config(_write(tmp_path, FULL))
    assert config.completeness is not None
    assert dict(config.completeness.columns) == {"user_id": 0.0, "amount": 0.05}
    assert config.completeness.default_max_null_rate == 0.05
    assert config.uniqueness is not None
    assert config.uniqueness.keys == (("user_id",), ("order_id", "line"))
    assert config.schema is not None
    assert config.schema.types["amount"] is ColumnType.NUMERICAL
    assert config.schema.allowed["country"] == ("US", "DE", "FR")
    assert config.schema.ranges["amount"] == RangeRule(min=0, max=10_000)
    assert config.outliers is not None
    assert config.outliers.columns["amount"] == OutlierRule("iqr", k=1.5, max_rate=0.01)
    assert config.outliers.columns["latency"] == OutlierRule("zscore", n_std=3, max_rate=0.01)
    assert config.freshness is not None
    assert config.freshness.max_age == timedelta(hours=24)
    assert config.volume is not None
    assert (config.volume.min_rows, config.volume.max_rows) == (1000, 1_000_000)
    assert config.drift is not None
    assert config.drift.reference == tmp_path / "data" / "reference.parquet"
    assert config.drift.config.drift_share == 0.5
    assert config.severity_of("freshness") is Severity.CRITICAL
    assert config.severity_of("completeness") is Severity.ERROR
    with pytest.raises(AttributeError):
        config.volume = None  # type: ignore[misc]


def test_a_flat_key_list_is_one_composite_key() -> None:
    config = parse_quality_config({"uniqueness": {"keys": ["order_id", "line"]}})
    assert config.uniqueness is not None
    assert config.uniqueness.keys == (("order_id", "line"),)
    single = parse_quality_config({"uniqueness": {"keys": "user_id"}})
    assert single.uniqueness is not None
    assert single.uniqueness.keys == (("user_id",),)


def test_a_typo_names_the_key_path_and_suggests_the_right_key(tmp_path: Path) -> None:
    message = _error("completeness:\n  colums: {a: 0.1}\n", tmp_path)
    path = tmp_path / "quality.yaml"
    assert message == f"{path}: completeness.colums: unknown key; did you mean 'columns'?"


def test_an_unknown_key_without_a_near_match_lists_the_allowed_keys(tmp_path: Path) -> None:
    message = _error("volume: {count: 5}\n", tmp_path)
    assert "volume.count: unknown key; allowed keys: min_rows, max_rows" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("completness: {}", "completness: unknown key; did you mean 'completeness'?"),
        ("completeness: {columns: {a: 1.5}}", "completeness.columns.a: input should be less"),
        ("outliers: {columns: {a: {method: izq}}}", "should be 'zscore' or 'iqr', got 'izq'"),
        ("outliers: {columns: {a: {method: iqr, n_std: 3}}}", "n_std applies to method zscore"),
        ("outliers: {columns: {a: {method: iqr, kk: 3}}}", "a.kk: unknown key; did you mean 'k'?"),
        ("freshness: {column: t, max_age: 24 hours}", "freshness.max_age: cannot read '24 hours'"),
        ("freshness: {max_age: 1h}", "freshness.column: required key is missing"),
        ("severity: {fressness: critical}", "severity.fressness: unknown key; did you mean"),
        ("severity: {freshness: urgent}", "'error' or 'critical', got 'urgent'"),
        ("uniqueness: {keys: []}", "uniqueness.keys: list should have at least 1 item"),
        ("uniqueness: {keys: [[a, [b]]]}", "uniqueness.keys[0][1]: input should be a valid string"),
        ("schema: {types: {a: numeric}}", "schema.types.a: input should be 'numerical'"),
        ("schema: {ranges: {a: {min: 5, max: 1}}}", "schema.ranges.a: min 5 is greater than max 1"),
        ("schema: {ranges: {a: {}}}", "schema.ranges.a: a range needs min, max or both"),
        ("schema: {allowed: {c: [{x: 1}]}}", "schema.allowed.c[0]: allowed values must be"),
        ("drift: {reference: r.csv, method: kss}", "drift.method: unknown drift method 'kss'; did"),
        ("drift: {reference: r.csv, correction: holm}", "drift.correction: input should be"),
        ("volume: {}", "volume: set min_rows, max_rows or history"),
        ("volume: {min_rows: 10, max_rows: 1}", "min_rows 10 is greater than max_rows 1"),
        ("completeness: {columns: {2024: 0.1}}", "names must be text; put 2024 in quotes"),
    ],
)
def test_validation_errors_name_the_path_and_what_is_allowed(
    text: str, expected: str, tmp_path: Path
) -> None:
    assert expected in _error(text + "\n", tmp_path)


def test_every_problem_is_reported_at_once_one_per_line(tmp_path: Path) -> None:
    message = _error("completeness: {colums: {}}\nvolume: {min_row: 1}\n", tmp_path)
    lines = message.splitlines()
    assert len(lines) == 2
    assert all(line.startswith(str(tmp_path / "quality.yaml")) for line in lines)


def test_relative_reference_resolves_against_the_yaml_folder(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "ref.csv").write_text("x\n1\n")
    config = load_quality_config(_write(folder, "drift: {reference: data/ref.csv}\n"))
    assert config.drift is not None
    assert config.drift.reference == folder / "data" / "ref.csv"


def test_a_missing_reference_fails_at_load_time(tmp_path: Path) -> None:
    message = _error("drift: {reference: data/ref.csv}\n", tmp_path)
    assert "drift.reference: no such file" in message
    assert str(tmp_path / "data" / "ref.csv") in message


def test_drift_options_reach_the_drift_config(tmp_path: Path) -> None:
    (tmp_path / "ref.csv").write_text("x\n1\n")
    text = "drift: {reference: ref.csv, method: psi, threshold: 0.2, correction: bh}\n"
    config = load_quality_config(_write(tmp_path, text))
    assert config.drift is not None
    drift = config.drift.config
    assert (drift.method, drift.threshold, drift.correction) == ("psi", 0.2, Correction("bh"))


def test_a_key_given_twice_is_an_error_not_a_silent_override(tmp_path: Path) -> None:
    message = _error("volume: {min_rows: 1}\nvolume: {min_rows: 2}\n", tmp_path)
    assert "line 2: key 'volume' is given twice" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("completeness: [\n", "invalid YAML"),
        ("- volume\n", "expected a mapping of check sections"),
    ],
)
def test_unusable_files_say_why(text: str, expected: str, tmp_path: Path) -> None:
    assert expected in _error(text, tmp_path)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read quality configuration"):
        load_quality_config(tmp_path / "absent.yaml")
