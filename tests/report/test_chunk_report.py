"""`mlvigil report --chunk-size/--chunk-period`: a column x chunk heatmap in one safe file."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mlvigil import detect_drift_chunks
from mlvigil.cli import app
from mlvigil.report import ReportData, render_report
from mlvigil.report.html import score_colour

runner = CliRunner()
HOSTILE = "<img src=x onerror=alert(1)>"
BREAKOUT = 'qty" onmouseover="alert(1)'
ROWS, CHUNK = 9_000, 2_000
COLUMNS = ["amount", "channel", HOSTILE, BREAKOUT, "target"]


def _orders(rows: int, seed: int, *, drift_from: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.0, 0.5, rows)
    channel = rng.choice(["web", "app", "<b>store</b>"], rows, p=[0.5, 0.3, 0.2])
    if drift_from is not None:  # the last chunk drifts
        amount[drift_from:] *= 1.8
        channel[drift_from:] = rng.choice(
            ["web", "app", "<b>store</b>"], rows - drift_from, p=[0.2, 0.3, 0.5]
        )
    return pd.DataFrame(
        {
            "order_id": np.arange(rows),
            "created_at": pd.date_range(datetime(2026, 3, 1), periods=rows, freq="min"),
            "amount": amount,
            "channel": pd.Categorical(channel),
            HOSTILE: pd.array(rng.choice(["FR", "DE", "ES"], rows), dtype="string"),
            BREAKOUT: rng.integers(0, 1000, rows).astype(float),
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


class _Page(HTMLParser):
    """What a browser would fetch or run, and the heatmap's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.policy = ""
        self.scripts: list[str] = []
        self.heat_rows: list[tuple[str, list[dict[str, str]]]] = []
        self.heat_columns: list[str] = []
        self._in_script = False
        self._table = ""
        self._row_header: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = {k: v or "" for k, v in attrs}
        self.attributes |= set(values)
        if tag == "meta" and values.get("http-equiv") == "Content-Security-Policy":
            self.policy = values.get("content", "")
        self.urls += [v for k, v in values.items() if k in ("src", "href", "srcset", "action")]
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        if tag == "table":
            self._table = values.get("id", "")
        if self._table == "heatmap":
            if tag == "thead":
                self._in_head = True
            if tag == "th" and self._in_head:
                self.heat_columns.append(values.get("title", ""))
            if tag == "th" and not self._in_head:
                self._row_header = []
            if tag == "td":
                self.heat_rows[-1][1].append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if tag == "thead":
            self._in_head = False
        if tag == "th" and self._row_header is not None:
            self.heat_rows.append(("".join(self._row_header), []))
            self._row_header = None
        if tag == "table":
            self._table = ""

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        if self._row_header is not None:
            self._row_header.append(data)


def _report(files: tuple[Path, Path], out: Path, *extra: str) -> tuple[str, _Page]:
    result = runner.invoke(
        app, ["report", str(files[0]), str(files[1]), "-o", str(out), "--id", "order_id", *extra]
    )
    assert result.exit_code == 0, result.output
    assert f"Report written to {out}" in result.output
    html = out.read_text()
    page = _Page()
    page.feed(html)
    return html, page


SIZE = ["--chunk-size", str(CHUNK), "--timestamp", "created_at"]


def test_heatmap_has_one_cell_per_column_and_chunk(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    _, page = _report(files, tmp_path / "r.html", *SIZE)
    assert [name for name, _ in page.heat_rows] == COLUMNS  # id and timestamp never tested
    assert all(len(cells) == 5 for _, cells in page.heat_rows)
    assert len(page.heat_columns) == 1 + 5  # the column header, then a chunk each
    assert page.heat_columns[-1] == "4: rows 8000-8999 (1,000 rows)"


def test_cells_are_coloured_by_the_drift_score_of_each_chunk(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    _, page = _report(files, tmp_path / "r.html", *SIZE)
    expected = detect_drift_chunks(
        *files, chunk_size=CHUNK, id="order_id", timestamp="created_at"
    ).to_dict()["chunks"]
    for name, cells in page.heat_rows:
        for chunk, cell in zip(expected, cells, strict=True):
            score = chunk["columns"][name]["score"]
            assert float(cell["data-score"]) == pytest.approx(score)
            assert cell["style"].startswith(f"background:{score_colour(score)};")
            assert ("drift" in cell["class"].split()) is chunk["columns"][name]["drifted"]
            assert cell["title"].startswith(f"{name} · {chunk['key']} · ")
    amount = dict(page.heat_rows)["amount"]
    assert [("drift" in c["class"]) for c in amount] == [False] * 4 + [True]
    assert float(amount[-1]["data-score"]) > 1.0


def test_chunk_verdicts_and_the_last_chunks_columns(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    html, _ = _report(files, tmp_path / "r.html", *SIZE)
    assert "<strong>Drift in 1 of 5 chunks</strong>" in html
    chunks = html.split('<table id="chunks">')[1].split("</table>")[0]
    verdicts = re.findall(r'class="(yes|no)">(drift|no drift)</td>', chunks)
    assert verdicts == [("no", "no drift")] * 4 + [("yes", "drift")]
    assert "Columns in the last chunk: rows 8000-8999" in html
    amount = html.split('<td data-sort="amount">')[1].split("</tr>")[0]
    assert 'class="yes"' in amount  # drifted in the last chunk
    assert ">ks</td>" in amount  # 1,000 rows get a test


def test_period_chunks_are_labelled_by_day(files: tuple[Path, Path], tmp_path: Path) -> None:
    html, page = _report(
        files, tmp_path / "r.html", "--chunk-period", "1d", "--timestamp", "created_at"
    )
    assert page.heat_columns[1] == "0: 2026-03-01 (1,440 rows)"
    assert page.heat_columns[-1] == "6: 2026-03-07 (360 rows)"
    assert "chunks of 1d of created_at" in html


def test_hostile_column_names_are_escaped_everywhere(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    html, page = _report(files, tmp_path / "r.html", *SIZE)
    assert HOSTILE not in html
    assert BREAKOUT not in html
    assert "img" not in page.tags
    assert "b" not in page.tags
    assert "onmouseover" not in page.attributes
    assert "onerror" not in page.attributes
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;store&lt;/b&gt;" in html


def test_nothing_is_fetched_and_the_policy_allows_only_the_page_script(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    html, page = _report(files, tmp_path / "r.html", *SIZE)
    assert page.urls == []
    assert "url(" not in html
    assert "http://" not in html
    assert "https://" not in html
    assert "@import" not in html
    assert page.policy.startswith("default-src 'none';")
    assert len(page.scripts) == 1
    digest = base64.b64encode(hashlib.sha256(page.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in page.policy
    assert not {a for a in page.attributes if a.startswith("on")}


def test_many_chunks_get_narrow_cells_and_a_tick_every_ten(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    html, page = _report(files, tmp_path / "r.html", "--chunk-size", "150")
    assert len(page.heat_columns) == 1 + 60
    assert '<table id="heatmap" class="many">' in html
    assert re.findall(r'<span class="tick">(\d+)</span>', html) == [
        str(i) for i in range(0, 60, 10)
    ]


def test_without_chunk_options_the_report_is_as_before(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    html, page = _report(files, tmp_path / "r.html", "--timestamp", "created_at")
    assert page.heat_rows == []
    assert 'id="chunks"' not in html
    assert "tested columns drifted" in html
    rows = re.findall(r'<td data-sort="([^"]*)">', html.split('<table id="columns">')[1])
    assert "order_id" not in rows
    assert "created_at" not in rows


def test_option_errors_exit_2_and_write_nothing(files: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(
        app, ["report", str(files[0]), str(files[1]), "-o", str(out), "--chunk-period", "1d"]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --chunk-period needs --timestamp COLUMN, the column that holds each row's time"
    )
    assert not out.exists()


def _result(check: str, metric: str, status: str, column: str | None = None) -> dict[str, object]:
    return {
        "check": check,
        "metric": metric,
        "column": column,
        "value": 0.5,
        "threshold": 0.9,
        "status": status,
        "severity": "warning",
        "message": f"{check} {metric}",
        "details": {},
    }


def test_quality_counts_only_data_quality_checks_and_performance_has_its_own_section() -> None:
    results = [
        _result("completeness", "null_rate", "failed", "age"),
        _result("volume", "row_count", "passed"),
        _result("performance", "accuracy", "failed"),
        _result("performance", "f1", "passed"),
        _result("performance", "label_coverage", "passed"),
    ]
    html = render_report(ReportData("Window", "reference", "window", 10, 10, results=results))
    assert 'Quality checks <span class="meta">(1 of 2 failed)</span>' in html
    assert 'Performance <span class="meta">(1 of 3 failed)</span>' in html
    quality = html.split('<table id="quality">')[1].split("</table>")[0]
    assert "performance" not in quality
    performance = html.split('<table id="performance">')[1].split("</tbody>")[0].split("<tbody>")[1]
    assert performance.count("<tr>") == 3
