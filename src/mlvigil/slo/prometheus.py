"""Prometheus recording and alerting rules for SLOs, in Sloth's layout.

Per SLO one rule group, evaluated in order:

- ``slo:sli_error:ratio_rate<window>``: the error ratio over each window (5m, 30m, 1h,
  2h, 6h, 1d, 3d for a 30-day period; scaled with the period) and over the period;
- ``slo:objective:ratio``, ``slo:error_budget:ratio``, ``slo:current_burn_rate:ratio``
  (the shortest window's error ratio ÷ the budget), ``slo:period_burn_rate:ratio`` and
  ``slo:period_error_budget_remaining:ratio``;
- the multiwindow, multi-burn-rate alerts (:mod:`mlvigil.slo.windows`): a page and a
  ticket, one alert name told apart by ``severity`` and ``slo_severity``.

Every series carries ``slo`` and ``model``; the error ratios also ``window``. Serving
SLIs read the SDK's counters and histogram in the model servers; model SLIs read
``mlvigil_slo_sli_good`` that the service exports (1 while the newest window with a
verdict is good, 0 while bad), whose average over a window is the share of it spent
good. The period's ratio is the mean of the shortest window's ratios over the period
(Sloth's way: cheap, and the same as the exact ratio for steady traffic).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlvigil import catalog
from mlvigil.slo.spec import SLO, SLIKind
from mlvigil.slo.windows import burn_windows, error_ratio_windows, prometheus_duration

__all__ = ["slo_rules"]

REQUESTS = "ml_prediction_requests_total"
LATENCY = "ml_prediction_latency_seconds"


def _selector(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _error_ratio(slo: SLO, window: str) -> str:
    """PromQL of the SLI's error ratio over ``window``."""
    model = slo.model
    match slo.sli.kind:
        case SLIKind.AVAILABILITY:
            errors = f"sum(rate({REQUESTS}{_selector(model=model, status='error')}[{window}]))"
            total = f"sum(rate({REQUESTS}{_selector(model=model)}[{window}]))"
            return f"({errors} or vector(0)) / {total}"
        case SLIKind.LATENCY:
            assert slo.sli.bound is not None
            # prometheus_client writes a bucket's bound as Python's repr (0.25, 1.0)
            bucket = _selector(model=model, le=repr(float(slo.sli.bound)))
            fast = f"sum(rate({LATENCY}_bucket{bucket}[{window}]))"
            total = f"sum(rate({LATENCY}_count{_selector(model=model)}[{window}]))"
            return f"1 - ({fast} / {total})"
    good = catalog.SLO_SLI_GOOD.name
    return f"1 - avg(avg_over_time({good}{_selector(slo=slo.name)}[{window}]))"


def _ratio_name(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def _recordings(slo: SLO) -> list[dict[str, Any]]:
    labels = {"slo": slo.name, "model": slo.model}
    windows = [prometheus_duration(w) for w in error_ratio_windows(slo.period)]
    shortest, period = windows[0], windows[-1]
    rules = [
        {
            "record": _ratio_name(window),
            "expr": _error_ratio(slo, window),
            "labels": {**labels, "window": window},
        }
        for window in windows[:-1]
    ]
    short = f"{_ratio_name(shortest)}{_selector(slo=slo.name)}"
    rules.append(
        {
            "record": _ratio_name(period),
            "expr": (
                f"sum_over_time({short}[{period}]) / ignoring(window) "
                f"count_over_time({short}[{period}])"
            ),
            "labels": {**labels, "window": period},
        }
    )
    this = _selector(slo=slo.name)
    budget = f"{slo.error_budget:.10g}"
    rules += [
        {"record": "slo:objective:ratio", "expr": f"vector({slo.objective:.10g})"},
        {"record": "slo:error_budget:ratio", "expr": f"vector({budget})"},
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": f"max without(window) ({_ratio_name(shortest)}{this}) / {budget}",
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": f"max without(window) ({_ratio_name(period)}{this}) / {budget}",
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{this}",
        },
    ]
    for rule in rules[-5:]:
        rule["labels"] = dict(labels)
    return rules


def _burning(slo: SLO, severity: str) -> str:
    """Any of the severity's conditions: both its windows above factor × budget."""
    this = _selector(slo=slo.name)
    conditions = []
    for burn in burn_windows(slo.period):
        if burn.severity != severity:
            continue
        limit = f"({burn.factor:g} * {slo.error_budget:.10g})"
        long, short = (_ratio_name(prometheus_duration(w)) for w in (burn.long, burn.short))
        conditions.append(
            f"(max without(window) ({long}{this} > {limit}) "
            f"and max without(window) ({short}{this} > {limit}))"
        )
    return "\n or ".join(conditions)


def _conditions(slo: SLO, severity: str) -> str:
    """The severity's conditions in words: ``14.4x over 1h and 5m or 6x over 6h and 30m``."""
    return " or ".join(
        f"{b.factor:g}x over {prometheus_duration(b.long)} and {prometheus_duration(b.short)}"
        for b in burn_windows(slo.period)
        if b.severity == severity
    )


def _alert(slo: SLO, severity: str, runbooks: str) -> dict[str, Any]:
    alert = slo.page if severity == "page" else slo.ticket
    objective = f"{slo.objective * 100:.10g}%"
    period = prometheus_duration(slo.period)
    speed = "fast" if severity == "page" else "slowly"
    return {
        "alert": slo.alert_name,
        "expr": _burning(slo, severity),
        "labels": {
            "slo": slo.name,
            "model": slo.model,
            "slo_severity": severity,
            **slo.labels,
            **alert.labels,
        },
        "annotations": {
            "summary": f"{slo.model}: SLO {slo.name} is burning its error budget {speed}",
            "description": (
                f"{slo.sli.describe().capitalize()} should be {objective} over {period}; "
                f"the error budget burns at {_conditions(slo, severity)} the rate the "
                f"period allows. {slo.description}"
            ).strip(),
            "runbook_url": f"{runbooks}#slo-budget-burn",
            **slo.annotations,
            **alert.annotations,
        },
    }


def slo_rules(slos: Sequence[SLO], *, runbooks: str) -> dict[str, Any]:
    """Prometheus rule groups for ``slos``: ``{"groups": [...]}``, as YAML wants it.

    ``runbooks`` is the base URL of the runbooks; alerts link ``#slo-budget-burn``.
    """
    groups = []
    for slo in slos:
        rules = _recordings(slo)
        rules += [
            _alert(slo, severity, runbooks)
            for severity, alert in (("page", slo.page), ("ticket", slo.ticket))
            if alert.enabled
        ]
        groups.append({"name": f"mlvigil-slo-{slo.name}", "rules": rules})
    return {"groups": groups}
