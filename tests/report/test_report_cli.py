"""`mlvigil report`: one self-contained, escaped HTML file."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mlvigil.cli import app

runner = CliRunner()
HOSTILE = "<img src=x onerror=alert(1)>"


class _Resources(HTMLParser):
    """Every URL the page would fetch, and the text of its table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.policy = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "meta" and values.get("http-equiv") == "Content-Security-Policy":
            self.policy = values.get("content") or ""
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action")]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    n = 5_000

    def table(shift: float, null_share: float) -> pa.Table:
        price = rng.normal(shift, 1.0, n)
        price[rng.random(n) < null_share] = np.nan
        return pa.table(
            {
                "price": price,
                HOSTILE: rng.choice(["a", "b", "<b>bold</b>"], n),
                "steady": rng.uniform(0, 1, n),
            }
        )

    reference, current = tmp_path / "reference.parquet", tmp_path / "current.parquet"
    pq.write_table(table(0.0, 0.0), reference)
    pq.write_table(table(1.0, 0.2), current)
    return reference, current


def _report(files: tuple[Path, Path], out: Path, *extra: str) -> str:
    result = runner.invoke(app, ["report", str(files[0]), str(files[1]), "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    assert f"Report written to {out}" in result.output
    return out.read_text()


def test_report_shows_the_verdict_and_every_column(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    html = _report(files, tmp_path / "r.html")
    assert "1 of 3 tested columns drifted" in html
    rows = re.findall(r'<td data-sort="([^"]*)">', html.split('<table id="columns">')[1])
    assert {"price", "steady", "&lt;img src=x onerror=alert(1)&gt;"} <= set(rows)
    price_row = html.split('<td data-sort="price">')[1].split("</tr>")[0]
    assert 'class="yes"' in price_row  # drifted
    assert "0.0% → 20." in price_row  # nulls, reference → current
    assert price_row.count('class="cur"') == 24  # its histogram


def test_user_strings_are_escaped_and_nothing_is_fetched(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    html = _report(files, tmp_path / "r.html")
    parser = _Resources()
    parser.feed(html)
    assert "img" not in parser.tags
    assert "b" not in parser.tags
    assert parser.urls == []
    assert HOSTILE not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert parser.policy.startswith("default-src 'none';")  # a CSP forbids fetching anyway
    assert "script-src 'sha256-" in parser.policy  # and any script but the page's own


def test_quality_results_come_with_a_config(files: tuple[Path, Path], tmp_path: Path) -> None:
    config = tmp_path / "quality.yaml"
    config.write_text("completeness:\n  columns: {price: 0.05}\n")
    html = _report(files, tmp_path / "r.html", "--config", str(config))
    assert "Quality checks" in html
    assert "(1 of 1 failed)" in html


def test_bad_input_exits_2_with_a_message(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    result = runner.invoke(
        app, ["report", str(missing), str(missing), "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2
    assert "no such file" in result.output
    assert not (tmp_path / "r.html").exists()
