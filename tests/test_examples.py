"""The bundled example data has a known answer, and `make demo` shows it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.csv as csv
import pytest

from mlvigil import ColumnStatus, detect_drift

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_example_data_is_what_the_generator_writes(tmp_path: Path) -> None:
    script = (EXAMPLES / "make_example_data.py").read_text()
    generated = tmp_path / "make_example_data.py"
    generated.write_text(script)
    subprocess.run([sys.executable, str(generated)], check=True)
    for name in ("reference.csv", "current.csv"):
        assert csv.read_csv(tmp_path / "data" / name).equals(
            csv.read_csv(EXAMPLES / "data" / name)
        ), name


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return detect_drift(EXAMPLES / "data" / "reference.csv", EXAMPLES / "data" / "current.csv")


def test_example_report_finds_exactly_the_planted_drift(report) -> None:  # type: ignore[no-untyped-def]
    drifted = {c.column for c in report if c.drifted}
    assert drifted == {"income", "loan_purpose"}
    assert report["loan_purpose"].new_categories == ("crypto",)
    missing = {c.column for c in report if c.missing_rate_drifted}
    assert missing == {"employment_years"}
    assert all(c.status is ColumnStatus.OK for c in report)
