"""Render a drift and quality report as one self-contained HTML file.

The page has no external requests: styles, the table-sorting script and the charts
(inline SVG drawn from :class:`~mlvigil.report.distributions.Distribution` shares)
are all in the file. Every user-controlled string goes through Jinja's autoescape.

A report over chunks (:func:`~mlvigil.checks.chunked.detect_drift_chunks`) adds a
column-by-chunk heatmap of drift scores (1 = the method's threshold, the scale of the
dashboard's heatmap) and each chunk's verdict; its column table is the last chunk's.

"What drifted" ranks the columns as the dataset drift result's ``contributions`` do
(:mod:`mlvigil.checks.explained`): each column's drift score and, where a domain
classifier ran, its importance, beside the multivariate drift results of the window.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
import markupsafe

from mlvigil._version import __version__
from mlvigil.checks.quality.options import CHECK_NAMES
from mlvigil.report.distributions import Distribution

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "QUALITY_CHECKS",
    "ReportData",
    "render_report",
    "score_colour",
]

#: Size of each column's chart, in CSS pixels.
CHART_WIDTH, CHART_HEIGHT = 220, 56

#: The ``check`` of data-quality results (drift has its own table, performance its own).
QUALITY_CHECKS = tuple(c for c in CHECK_NAMES if c != "drift")


@dataclass(frozen=True)
class ReportData:
    """What a report shows.

    Attributes
    ----------
    title
        Heading, e.g. ``"Drift report"`` or the model and window.
    reference_label, current_label
        Where each side came from (file names, window bounds).
    reference_rows, current_rows
        Rows on each side.
    results
        Check results as plain dicts (:meth:`CheckResult.to_dict` or stored rows):
        those of check ``drift`` fill the column table and the verdict (the
        ``drift_share`` result's ``contributions`` the "What drifted" ranking),
        data-quality checks the quality section, ``performance`` (and any other
        check) their own.
    distributions
        Reference-vs-current shares per column, for the charts.
    generated_at
        When the report was made.
    chunks
        Drift by chunk, as :meth:`ChunkedDriftReport.to_dict()
        <mlvigil.checks.chunked.ChunkedDriftReport.to_dict>` gives it: shown as a
        column-by-chunk heatmap and a table of chunks. ``results`` and
        ``distributions`` then describe the last chunk.
    chunking
        How the chunks were cut, for the page (``"chunks of 1,000 rows"``).
    """

    title: str
    reference_label: str
    current_label: str
    reference_rows: int
    current_rows: int
    results: Sequence[Mapping[str, Any]]
    distributions: Sequence[Distribution] = ()
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    chunks: Mapping[str, Any] | None = None
    chunking: str = ""


@dataclass(frozen=True)
class _Bar:
    x: float
    width: float
    reference: float
    current: float
    label: str
    reference_share: float
    current_share: float


@dataclass(frozen=True)
class _Chart:
    bars: tuple[_Bar, ...]
    kind: str


def _chart(distribution: Distribution | None) -> _Chart | None:
    if distribution is None or distribution.kind == "none":
        return None
    count = len(distribution.labels)
    top = max((*distribution.reference, *distribution.current, 1e-12))
    slot = CHART_WIDTH / count
    # Categories: a reference and a current bar side by side; histograms: overlaid.
    width = slot * (0.45 if distribution.kind == "categorical" else 1.0)
    scale = (CHART_HEIGHT - 2) / top
    bars = tuple(
        _Bar(
            x=round(i * slot, 2),
            width=round(max(width - 0.5, 0.5), 2),
            reference=round(r * scale, 2),
            current=round(c * scale, 2),
            label=label,
            reference_share=r,
            current_share=c,
        )
        for i, (label, r, c) in enumerate(
            zip(distribution.labels, distribution.reference, distribution.current, strict=True)
        )
    )
    return _Chart(bars, distribution.kind)


@dataclass(frozen=True)
class _Row:
    column: str
    type: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool
    status: str
    message: str
    reference_nulls: float | None
    current_nulls: float | None
    chart: _Chart | None


def _rows(results: Sequence[Mapping[str, Any]], charts: Mapping[str, Distribution]) -> list[_Row]:
    rows = []
    for result in results:
        if result["check"] != "drift" or result.get("column") is None or result.get("segment"):
            continue
        details = result.get("details") or {}
        p_value = details.get("p_value_adjusted")
        tested = result["status"] in ("passed", "failed")
        rows.append(
            _Row(
                column=result["column"],
                type=details.get("type", ""),
                method=result["metric"] if tested else "—",
                statistic=result.get("value"),
                p_value=p_value if p_value is not None else details.get("p_value"),
                threshold=result.get("threshold"),
                drifted=result["status"] == "failed",
                status=details.get("status", result["status"]),
                message=result.get("message", ""),
                reference_nulls=details.get("reference_null_rate"),
                current_nulls=details.get("current_null_rate"),
                chart=_chart(charts.get(result["column"])),
            )
        )
    return rows


@dataclass(frozen=True)
class _Contribution:
    rank: int
    column: str
    score: float | None
    importance: float | None
    drifted: bool
    bar: float
    """Width of the drift score's bar, in CSS pixels (the scale ends at a score of 2)."""


#: Width of a contribution's drift-score bar at a score of 2 and above.
SCORE_BAR_WIDTH = 120


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _contributions(share: Mapping[str, Any] | None) -> list[_Contribution]:
    """The dataset drift result's ranked contributions, in its order (largest first)."""
    details = (share or {}).get("details") or {}
    drifted = set(details.get("drifted_columns") or ())
    ranked: list[_Contribution] = []
    for entry in details.get("contributions") or ():
        # Stored rows hold each contribution as a [column, score, importance] list.
        if not isinstance(entry, Sequence) or isinstance(entry, str) or len(entry) != 3:
            continue
        column, score, importance = entry
        score, importance = _number_or_none(score), _number_or_none(importance)
        bar = 0.0 if score is None else min(max(score, 0.0), 2.0) / 2.0 * SCORE_BAR_WIDTH
        ranked.append(
            _Contribution(
                rank=len(ranked) + 1,
                column=str(column),
                score=score,
                importance=importance,
                drifted=column in drifted,
                bar=round(bar, 1),
            )
        )
    return ranked


def _multivariate(results: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The window's multivariate drift results (no column: every feature together)."""
    return [
        r
        for r in results
        if r["check"] == "drift"
        and r.get("column") is None
        and not r.get("segment")
        and r["metric"] != "drift_share"
    ]


# 0 → light grey, 1 (the threshold) → amber, 2 and above → dark red: the dashboard's ramp.
_SCORE_STOPS = ((0.0, (242, 244, 247)), (1.0, (251, 211, 141)), (2.0, (180, 35, 24)))


def score_colour(score: float | None) -> str:
    """The heatmap colour of a drift score, as CSS ``rgb()`` (white when there is none).

    Examples
    --------
    >>> score_colour(0.0), score_colour(1.0), score_colour(5.0), score_colour(None)
    ('rgb(242,244,247)', 'rgb(251,211,141)', 'rgb(180,35,24)', 'rgb(255,255,255)')
    """
    if score is None:
        return "rgb(255,255,255)"
    s = max(0.0, min(score, 2.0))
    (a, low), (b, high) = _SCORE_STOPS[:2] if s <= 1.0 else _SCORE_STOPS[1:]
    t = (s - a) / (b - a)
    return (
        "rgb(" + ",".join(str(round(x + t * (y - x))) for x, y in zip(low, high, strict=True)) + ")"
    )


@dataclass(frozen=True)
class _HeatCell:
    colour: str
    ink: str
    mark: str
    title: str
    score: float | None
    drifted: bool


@dataclass(frozen=True)
class _HeatRow:
    column: str
    cells: tuple[_HeatCell, ...]
    drifted_chunks: int


@dataclass(frozen=True)
class _ChunkRow:
    index: int
    key: str
    label: str
    rows: int
    tested: int
    drifted_columns: tuple[str, ...]
    dataset_drift: bool
    drift_share: float


@dataclass(frozen=True)
class _ChunkView:
    chunks: tuple[_ChunkRow, ...]
    heat: tuple[_HeatRow, ...]
    drifted: int


def _chunk_label(chunk: Mapping[str, Any]) -> str:
    # Period chunks by their start (UTC), the date alone for whole days; others by key.
    if not chunk.get("start") or not chunk.get("end"):
        return str(chunk["key"])
    start, end = datetime.fromisoformat(chunk["start"]), datetime.fromisoformat(chunk["end"])
    midnight = start.hour == start.minute == start.second == 0
    whole_days = midnight and not (end - start) % timedelta(days=1)
    return start.strftime("%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M")


def _heat_cell(column: str, label: str, cell: Mapping[str, Any] | None) -> _HeatCell:
    if cell is None or cell.get("method") is None:
        status = "not compared" if cell is None else cell["status"]
        title = f"{column} · {label} · {status}"
        return _HeatCell("rgb(255,255,255)", "#5a6475", "–", title, None, False)
    score, drifted = cell.get("score"), bool(cell["drifted"])
    title = f"{column} · {label} · {cell['method']} {_number(cell.get('statistic'))}"
    if cell.get("p_value") is not None:
        p_value = cell.get("p_value_adjusted") or cell["p_value"]
        title += f", p-value {_number(p_value, 3)}"
    title += f", threshold {_number(cell.get('threshold'), 3)} · score {_number(score, 3)}"
    title += " · drift" if drifted else " · no drift"
    ink = "#ffffff" if score is not None and score >= 1.5 else "#1d2330"
    return _HeatCell(score_colour(score), ink, "●" if drifted else "", title, score, drifted)


def _chunk_view(chunked: Mapping[str, Any]) -> _ChunkView:
    chunks = list(chunked["chunks"])
    labels = [_chunk_label(c) for c in chunks]
    rows = tuple(
        _ChunkRow(
            index=c["index"],
            key=c["key"],
            label=label,
            rows=c["rows"],
            tested=c["number_of_tested_columns"],
            drifted_columns=tuple(c["drifted_columns"]),
            dataset_drift=bool(c["dataset_drift"]),
            drift_share=c["drift_share"],
        )
        for c, label in zip(chunks, labels, strict=True)
    )
    heat = []
    for column in chunked["columns"]:
        cells = tuple(
            _heat_cell(column, label, c["columns"].get(column))
            for c, label in zip(chunks, labels, strict=True)
        )
        heat.append(_HeatRow(column, cells, sum(1 for cell in cells if cell.drifted)))
    return _ChunkView(rows, tuple(heat), sum(1 for r in rows if r.dataset_drift))


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("mlvigil.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["number"] = _number
_environment.filters["percent"] = _percent


def _sorting_script() -> tuple[markupsafe.Markup, str]:
    """The table-sorting script and its CSP hash (the page allows only that script)."""
    loader = _environment.loader
    assert loader is not None
    source, _, _ = loader.get_source(_environment, "sort.js")
    digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
    return markupsafe.Markup(source), f"sha256-{digest}"


_SCRIPT, _SCRIPT_HASH = _sorting_script()

#: What a report may load: its inline styles, its one script, inline images; no requests.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'unsafe-inline'; script-src '{_SCRIPT_HASH}'; img-src data:"
)


def render_report(data: ReportData) -> str:
    """The report as one HTML document (no external resources).

    Examples
    --------
    >>> html = render_report(ReportData("Drift", "ref.csv", "cur.csv", 10, 10, results=[]))
    >>> html.startswith("<!DOCTYPE html>"), "ref.csv" in html
    (True, True)
    """
    charts = {d.column: d for d in data.distributions}
    rows = _rows(data.results, charts)
    share = next(
        (r for r in data.results if r["check"] == "drift" and r["metric"] == "drift_share"), None
    )

    def failures_first(check: Callable[[str], bool]) -> list[Mapping[str, Any]]:
        # Failures first: they are what the reader came for.
        chosen = (r for r in data.results if check(r["check"]))
        return sorted(chosen, key=lambda r: r["status"] == "passed")

    contributions = _contributions(share)
    quality = failures_first(lambda check: check in QUALITY_CHECKS)
    performance = failures_first(lambda check: check == "performance")
    other = failures_first(lambda check: check not in (*QUALITY_CHECKS, "drift", "performance"))
    return _environment.get_template("report.html.j2").render(
        data=data,
        rows=rows,
        share=share,
        drifted=sum(1 for r in rows if r.drifted),
        contributions=contributions,
        importances=any(c.importance is not None for c in contributions),
        multivariate=_multivariate(data.results),
        score_bar_width=SCORE_BAR_WIDTH,
        sections=[
            (name, anchor, results, sum(1 for r in results if r["status"] != "passed"))
            for name, anchor, results in (
                ("Quality checks", "quality", quality),
                ("Performance", "performance", performance),
                ("Other checks", "other", other),
            )
            if results
        ],
        chunked=_chunk_view(data.chunks) if data.chunks is not None else None,
        chart_width=CHART_WIDTH,
        chart_height=CHART_HEIGHT,
        version=__version__,
        script=_SCRIPT,
        policy=CONTENT_SECURITY_POLICY,
    )
