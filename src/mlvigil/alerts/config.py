"""The ``alerting`` section of ``mlvigil.yaml``: rules, and the built-in ones.

::

    alerting:
      default_rules:            # on unless turned off; each can be tuned
        dataset_drift: {for: 2}
        no_data: false
      rules:
        - name: income_drift
          check: drift
          metric: wasserstein
          column: income
          condition: "> 0.2"    # > >= < <= == != , "outside [a, b]", or "failed"
          for: 2                # consecutive windows, or a duration such as 30m
          keep_firing_for: 1h
          severity: warning
          labels: {team: risk}
          annotations:
            summary: "{model}: {column} drifted ({value})"
            runbook_url: https://runbooks.example.com/drift
      receivers:                # webhook, slack, pagerduty, email, alertmanager, or an
                                # action: http_action, command (see alerts.receivers)
        risk-team: {slack: {env: SLACK_WEBHOOK_URL}, send_resolved: true}
        pager: {pagerduty: {file: /run/secrets/pd-routing-key}, read_timeout: 20s}
      route:                    # as Alertmanager's routing tree
        receiver: risk-team
        group_by: [alertname, model]
        group_wait: 30s
        group_interval: 5m
        repeat_interval: 4h
        routes:
          - {matchers: {severity: critical}, receiver: pager, continue: true}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from mlvigil.alerts.notifiers import Notifier
from mlvigil.alerts.receivers import Duration, ReceiverModel
from mlvigil.alerts.receivers import build_notifiers as build_receivers
from mlvigil.alerts.routing import Route
from mlvigil.alerts.rules import ANY, AlertRule, Condition
from mlvigil.alerts.silences import InhibitRule
from mlvigil.checks.quality.freshness import parse_duration
from mlvigil.checks.result import Severity


def _zero_or_duration(value: Any) -> Any:
    """A duration that may be zero (``0s``: no wait)."""
    if isinstance(value, str) and re.fullmatch(r"\s*0+(?:\.0*)?\s*[wdhms]?\s*", value):
        return timedelta(0)
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return timedelta(0)
    return parse_duration(value)


Wait = Annotated[timedelta, BeforeValidator(_zero_or_duration)]

#: The rules a new user gets: (check or None for every check, metric, condition,
#: severity, summary).
DEFAULT_RULES: dict[str, tuple[str | None, str, str, str, str]] = {
    "dataset_drift": (
        "drift",
        "drift_share",
        "failed",
        "warning",
        "{model}: dataset drift, {value} of the columns drifted in window {window}",
    ),
    "quality_failure": (
        "quality",
        ANY,
        "failed",
        "error",
        "{model}: data-quality check failed: {column} {metric} {value}",
    ),
    "performance_degradation": (
        "performance",
        ANY,
        "failed",
        "error",
        "{model}: {metric} {value} is worse than its limit {limit} in window {window}",
    ),
    "estimated_performance": (
        "estimation",
        ANY,
        "failed",
        "warning",
        "{model}: estimated {metric} {value} is outside its limit {limit} in window {window} "
        "(estimated from the scores; labels not needed)",
    ),
    "segment_drift": (
        "drift",
        "drift_share",
        "failed",
        "warning",
        "{model}: drift in {segment}, {value} of the columns drifted in window {window}",
    ),
    "reconstruction_drift": (
        "drift",
        "reconstruction_error",
        "failed",
        "warning",
        "{model}: the features' joint distribution changed (PCA reconstruction error "
        "{value}, limit {limit}) in window {window}",
    ),
    "domain_drift": (
        "drift",
        "domain_classifier_auc",
        "failed",
        "warning",
        "{model}: a classifier tells window {window} from the reference (ROC AUC {value}, "
        "limit {limit}); see the drift's contributions for the columns",
    ),
    "embedding_drift": (
        "drift",
        "mmd",
        "failed",
        "warning",
        "{model}: embedding {column} shifted (MMD test) in window {window}: {message}",
    ),
    "slo_page": (
        "slo",
        "burn_rate_page",
        "failed",
        "critical",
        "{model}: SLO {column} burns its error budget fast ({value}x the rate its period "
        "allows): {message}",
    ),
    "slo_ticket": (
        "slo",
        "burn_rate_ticket",
        "failed",
        "warning",
        "{model}: SLO {column} burns its error budget slowly ({value}x the rate its period "
        "allows): {message}",
    ),
    "stale_data": (
        "freshness",
        ANY,
        "failed",
        "warning",
        "{model}: data is stale ({value} hours old)",
    ),
    "no_data": (
        "volume",
        "row_count",
        "== 0",
        "critical",
        "{model}: no predictions in window {window}",
    ),
    "canary_failed": (
        "canary",
        "canary_verdict",
        "failed",
        "critical",
        "{model}: canary {segment} failed against its baseline in window {window}: {message}",
    ),
    "check_error": (
        None,
        ANY,
        "error",
        "warning",
        "{model}: {check} {metric} {column} could not be computed in window {window}: {message}",
    ),
}


#: Default rules that watch data slices (the schema's segments), each slice its own alert.
_DEFAULT_SEGMENTS = {"segment_drift": ANY, "canary_failed": ANY}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _for(value: Any) -> Any:
    """``for: 3`` counts windows; ``for: 30m`` is a duration."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return parse_duration(value)


class RuleModel(_Strict):
    """One rule as written in YAML."""

    name: str = Field(min_length=1)
    metric: str = ANY
    check: str | None = None
    model: str | None = None
    column: str | None = None
    segment: str | None = None
    condition: str
    for_: Annotated[int | timedelta, BeforeValidator(_for)] = Field(default=1, alias="for")
    keep_firing_for: Duration = timedelta(0)
    severity: Literal["info", "warning", "error", "critical"] = "warning"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class DefaultRuleModel(_Strict):
    """Tuning of a built-in rule."""

    for_: Annotated[int | timedelta, BeforeValidator(_for)] = Field(default=1, alias="for")
    keep_firing_for: Duration = timedelta(0)
    severity: Literal["info", "warning", "error", "critical"] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class RouteModel(_Strict):
    """A node of the routing tree."""

    receiver: str | None = None
    matchers: dict[str, str] = Field(default_factory=dict)
    group_by: list[str] | None = None
    routes: list[RouteModel] = Field(default_factory=list)
    continue_: bool = Field(default=False, alias="continue")
    group_wait: Wait | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None


class InhibitRuleModel(_Strict):
    """While a ``source`` alert fires, mute ``target`` alerts sharing the ``equal`` labels."""

    source: dict[str, str] = Field(min_length=1)
    target: dict[str, str] = Field(min_length=1)
    equal: list[str] = Field(default_factory=lambda: ["model"])


def _critical_mutes_warnings() -> list[InhibitRuleModel]:
    return [
        InhibitRuleModel(
            source={"severity": "critical"}, target={"severity": "warning"}, equal=["model"]
        )
    ]


class AlertingModel(_Strict):
    """The ``alerting`` section."""

    external_url: str = ""
    inhibit_rules: list[InhibitRuleModel] = Field(default_factory=_critical_mutes_warnings)
    receivers: dict[str, ReceiverModel] = Field(default_factory=dict)
    route: RouteModel | None = None

    default_rules: (
        bool
        | dict[
            Literal[
                "dataset_drift",
                "quality_failure",
                "performance_degradation",
                "estimated_performance",
                "segment_drift",
                "reconstruction_drift",
                "domain_drift",
                "embedding_drift",
                "slo_page",
                "slo_ticket",
                "stale_data",
                "no_data",
                "canary_failed",
            ],
            bool | DefaultRuleModel,
        ]
    ) = True
    rules: list[RuleModel] = Field(default_factory=list)


def build_rules(model: AlertingModel) -> tuple[AlertRule, ...]:
    """The configured rules, built-in ones first.

    Raises
    ------
    ConfigError
        For an unreadable condition or a duplicated rule name.
    """
    rules = [_default_rule(name, model.default_rules) for name in DEFAULT_RULES]
    rules += [_rule(r) for r in model.rules]
    built = tuple(rule for rule in rules if rule is not None)
    names = [rule.name for rule in built]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        from mlvigil.exceptions import ConfigError

        raise ConfigError(f"alert rule names must be unique; repeated: {repeated}")
    return built


def _timing(spec: int | timedelta) -> dict[str, Any]:
    if isinstance(spec, int):
        return {"for_windows": spec}
    return {"for_duration": spec}


def _rule(spec: RuleModel) -> AlertRule:
    return AlertRule(
        name=spec.name,
        metric=spec.metric,
        condition=Condition.parse(spec.condition),
        check=spec.check,
        model=spec.model,
        column=spec.column,
        segment=spec.segment,
        keep_firing_for=spec.keep_firing_for,
        severity=Severity(spec.severity),
        labels=spec.labels,
        annotations=spec.annotations,
        **_timing(spec.for_),
    )


def _default_rule(
    name: str, settings: bool | dict[Any, bool | DefaultRuleModel]
) -> AlertRule | None:
    tuning: bool | DefaultRuleModel = (
        settings if isinstance(settings, bool) else settings.get(name, True)
    )
    if tuning is False:
        return None
    tune = tuning if isinstance(tuning, DefaultRuleModel) else DefaultRuleModel()
    check, metric, condition, severity, summary = DEFAULT_RULES[name]
    return AlertRule(
        name=name,
        metric=metric,
        condition=Condition.parse(condition),
        check=check,
        segment=_DEFAULT_SEGMENTS.get(name),
        keep_firing_for=tune.keep_firing_for,
        severity=Severity(tune.severity or severity),
        labels=tune.labels,
        annotations={"summary": summary, **tune.annotations},
        **_timing(tune.for_),
    )


def build_route(model: RouteModel, receivers: Sequence[str], parent: Route | None = None) -> Route:
    """The routing tree, children inheriting what they leave unset from their parent.

    Raises
    ------
    ConfigError
        When a route names an unknown receiver, or the root names none.
    """
    from mlvigil.exceptions import ConfigError

    receiver = model.receiver or (parent.receiver if parent else None)
    if receiver is None:
        raise ConfigError("alerting.route: the root route needs a receiver")
    if receiver not in receivers:
        raise ConfigError(
            f"alerting.route: unknown receiver {receiver!r}; receivers: {', '.join(receivers)}"
        )
    inherited = parent or Route(receiver)
    node = Route(
        receiver,
        model.matchers,
        tuple(model.group_by) if model.group_by is not None else inherited.group_by,
        (),
        model.continue_,
        model.group_wait if model.group_wait is not None else inherited.group_wait,
        model.group_interval if model.group_interval is not None else inherited.group_interval,
        model.repeat_interval if model.repeat_interval is not None else inherited.repeat_interval,
    )
    children = tuple(build_route(child, receivers, node) for child in model.routes)
    return replace(node, routes=children)


def build_notifiers(model: AlertingModel, base: Path | None = None) -> dict[str, Notifier]:
    """One notifier per receiver (see :func:`mlvigil.alerts.receivers.build_notifiers`)."""
    return build_receivers(model.receivers, base)


def build_inhibit_rules(model: AlertingModel) -> tuple[InhibitRule, ...]:
    """The inhibition rules (by default: a critical alert mutes its model's warnings)."""
    return tuple(
        InhibitRule(rule.source, rule.target, tuple(rule.equal)) for rule in model.inhibit_rules
    )
