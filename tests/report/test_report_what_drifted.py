"""The HTML report says what drifted: the columns ranked by their contribution.

A window report of the service ranks the columns as its dataset drift result does
(drift score, and the domain classifier's importance where it ran), beside the
multivariate drift results; a report of two files ranks them by drift score.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlvigil.checks.details import DriftShareDetails
from mlvigil.checks.drift import detect_drift
from mlvigil.checks.drift_report import drift_score
from mlvigil.checks.drift_results import drift_check_results
from mlvigil.checks.result import CheckKind
from mlvigil.report import ReportData, render_report
from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import read_predictions
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.views import window_report

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
HOSTILE = "<img src=x onerror=alert(1)>"

CONFIG = """
store: store.duckdb
evaluation_interval: 3600
lateness: 0
accept: {max_age: 36500d}
models:
  shop:
    schema:
      id: order_id
      timestamp: ts
      features: {basket: numerical, delivery_days: numerical, discount: numerical,
                 channel: categorical}
      prediction: returned
      score: null
    reference: {path: reference.parquet, chunk_rows: 1000}
    window: 1h
    checks:
      drift: {drift_share: 0.5}
      multivariate: {}
"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def orders(
    rows: int, seed: int, *, basket_shift: float = 0.0, late: float = 0.0, app: float = 0.4
) -> pd.DataFrame:
    """Orders of a shop: ``basket_shift`` moves basket values (a price change), ``late``
    the delivery times, ``app`` the share of orders made in the app."""
    rng = np.random.default_rng(seed)
    channels = rng.choice(["web", "app", "phone"], rows, p=[0.9 - app, app, 0.1])
    return pd.DataFrame(
        {
            "basket": rng.normal(60 + basket_shift, 15, rows),
            "delivery_days": rng.normal(3 + late, 1, rows),
            "discount": rng.uniform(0, 0.3, rows),
            "channel": pd.Categorical(channels),
            "returned": rng.choice(["yes", "no"], rows, p=[0.1, 0.9]),
        }
    )


class _Ranking(HTMLParser):
    """The rows of the page's ``#contributions`` table, cell texts, and its headings."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self._inside = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._inside = dict(attrs).get("id") == "contributions"
        if not self._inside:
            return
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = False
        if self._inside and tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            (self.headers if tag == "th" else self.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    @property
    def ranked(self) -> list[list[str]]:
        return [row for row in self.rows if row]


def ranking(html: str) -> _Ranking:
    page = _Ranking()
    page.feed(html)
    return page


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MonitoringService]:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    orders(4_000, 0).to_parquet(tmp_path / "reference.parquet")
    path = tmp_path / "mlvigil.yaml"
    path.write_text(CONFIG)
    opened = MonitoringService(load_service_config(path), clock=Clock(T0 + 3 * HOUR))
    yield opened
    opened.close()


def post(service: MonitoringService, frame: pd.DataFrame, start: datetime) -> None:
    step = 1800 / len(frame)
    table = pa.Table.from_pandas(
        frame.assign(
            order_id=[f"{start:%H}-{i}" for i in range(len(frame))],
            ts=[start + timedelta(seconds=i * step) for i in range(len(frame))],
        ),
        preserve_index=False,
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    body = sink.getvalue().to_pybytes()
    rows = read_predictions(body, "application/vnd.apache.arrow.stream", service.model("shop"))
    service.store.insert_predictions("shop", rows)


def test_a_drifted_windows_report_ranks_its_columns_as_the_drift_result_does(service):
    # Prices, delivery times and the app's share all move: three of five columns drift.
    post(service, orders(1_500, 1, basket_shift=12.0, late=0.5, app=0.6), T0)
    service.evaluate("shop", T0, T0 + HOUR)
    results = service.store.results("shop", start=T0, end=T0 + HOUR)
    (share,) = [r for r in results if r.metric == "drift_share" and r.segment is None]
    assert isinstance(share.details, DriftShareDetails)
    expected = share.details.contributions
    assert share.status.value == "failed"  # dataset drift
    assert expected[0][0] == "basket"  # the price change leads
    assert expected[0][2] is not None  # ranked with the domain classifier's importance

    page = ranking(window_report(service, "shop", T0))
    assert page.headers == ["#", "Column", "Drift score", "0 · 1 · 2+", "Importance", "Drifted"]
    assert [row[1] for row in page.ranked] == [column for column, _, _ in expected]
    assert [row[0] for row in page.ranked] == [str(i + 1) for i in range(len(expected))]
    top = page.ranked[0]
    assert top[2] == f"{expected[0][1]:.3g}"
    assert top[4] == f"{expected[0][2]:.3g}"
    assert top[5] == "yes"
    html = window_report(service, "shop", T0)
    multivariate = html.split('<table id="multivariate">')[1].split("</table>")[0]
    assert ">domain_classifier_auc</td>" in multivariate
    assert ">reconstruction_error</td>" in multivariate
    domain = next(r for r in results if r.metric == "domain_classifier_auc")
    assert domain.check is CheckKind.DRIFT
    assert ("drift</td>" in multivariate) is (domain.status.value == "failed")


def test_a_report_of_two_tables_ranks_columns_by_drift_score_without_importances():
    reference = orders(3_000, 2).rename(columns={"discount": HOSTILE})
    current = orders(3_000, 3, basket_shift=9.0).rename(columns={"discount": HOSTILE})
    current["delivery_days"] += 0.2  # a smaller change than the basket's
    report = detect_drift(reference, current)
    results = [r.to_dict() for r in drift_check_results(report)]
    html = render_report(ReportData("Drift", "reference", "current", 3_000, 3_000, results))
    page = ranking(html)
    assert page.headers == ["#", "Column", "Drift score", "0 · 1 · 2+", "Drifted"]
    columns = [row[1] for row in page.ranked]
    scores = {c.column: drift_score(c) for c in report if c.tested}
    assert columns == sorted(scores, key=lambda c: -(scores[c] or 0.0))
    assert columns[:2] == ["basket", "delivery_days"]
    assert HOSTILE in columns  # the parser unescaped it: the page holds it as text
    assert HOSTILE not in html
    assert "by the domain classifier" not in html


def test_a_report_without_a_dataset_drift_result_has_no_ranking():
    html = render_report(ReportData("Drift", "a", "b", 1, 1, results=[]))
    assert 'id="contributions"' not in html
    assert "What drifted" not in html
