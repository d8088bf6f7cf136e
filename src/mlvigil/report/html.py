"""Render a drift and quality report as one self-contained HTML file.

The page has no external requests: styles, the table-sorting script and the charts
(inline SVG drawn from :class:`~mlvigil.report.distributions.Distribution` shares)
are all in the file. Every user-controlled string goes through Jinja's autoescape.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jinja2
import markupsafe

from mlvigil._version import __version__
from mlvigil.report.distributions import Distribution

__all__ = ["CONTENT_SECURITY_POLICY", "ReportData", "render_report"]

#: Size of each column's chart, in CSS pixels.
CHART_WIDTH, CHART_HEIGHT = 220, 56


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
        those of check ``drift`` fill the column table and the verdict, the others
        the quality section.
    distributions
        Reference-vs-current shares per column, for the charts.
    generated_at
        When the report was made.
    """

    title: str
    reference_label: str
    current_label: str
    reference_rows: int
    current_rows: int
    results: Sequence[Mapping[str, Any]]
    distributions: Sequence[Distribution] = ()
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


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
    # Failures first: they are what the reader came for.
    quality = sorted(
        (r for r in data.results if r["check"] != "drift"), key=lambda r: r["status"] == "passed"
    )
    return _environment.get_template("report.html.j2").render(
        data=data,
        rows=rows,
        share=share,
        drifted=sum(1 for r in rows if r.drifted),
        quality=quality,
        quality_failed=sum(1 for r in quality if r["status"] != "passed"),
        chart_width=CHART_WIDTH,
        chart_height=CHART_HEIGHT,
        version=__version__,
        script=_SCRIPT,
        policy=CONTENT_SECURITY_POLICY,
    )
