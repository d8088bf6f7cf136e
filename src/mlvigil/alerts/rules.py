"""Alert rules: which result to watch, the condition, and how long before it fires.

A rule matches results (the uniform :class:`~mlvigil.checks.result.CheckResult` of a
window, stamped with its model and window) by metric, and optionally by check, model and
column. Each matching (model, column) is a separate alert, identified by the rule's
name and those labels, as Prometheus identifies an alert by its rule and label set.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mlvigil.checks.result import CheckKind, CheckResult, Severity
from mlvigil.exceptions import ConfigError

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
#: ``metric: "*"`` watches every metric of the matching checks.
ANY = "*"
#: ``check: quality`` stands for the data-quality checks on values (freshness and volume,
#: which say whether data arrives at all, have built-in rules of their own).
_CHECK_GROUPS = {"quality": ("completeness", "uniqueness", "schema", "outliers")}
_CONDITION = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(-?[0-9.eE+-]+)\s*")
_OUTSIDE = re.compile(r"\s*outside\s*\[?\s*(-?[0-9.eE+-]+)\s*,\s*(-?[0-9.eE+-]+)\s*\]?\s*")


@dataclass(frozen=True)
class Condition:
    """``value <op> threshold``, or ``value outside [low, high]``.

    Examples
    --------
    >>> Condition.parse("> 0.1").holds(0.3)
    True
    >>> Condition.parse("outside [0.2, 0.8]").holds(0.5)
    False
    """

    op: str
    threshold: float
    high: float | None = None

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Read a condition: ``"> 0.1"``, ``"<= 5"``, ``"outside [0.2, 0.8]"``, ``"failed"``...

        Comparisons are ``>``, ``>=``, ``<``, ``<=``, ``==`` and ``!=``.

        ``failed`` holds when the result itself failed its check (whatever its metric),
        which is how the built-in rules follow each check's own threshold. ``error``
        holds when the check could not be computed (status ``error``: inputs that do
        not line up, a column of the wrong type...), except informational errors such
        as a window still waiting for its labels or for a reference.

        Raises
        ------
        ConfigError
            When the text is none of those forms.
        """
        if text.strip() in ("failed", "error"):
            return cls(text.strip(), math.nan)
        match = _CONDITION.fullmatch(text)
        try:
            if match:
                return cls(match.group(1), float(match.group(2)))
            match = _OUTSIDE.fullmatch(text)
            if match:
                low, high = float(match.group(1)), float(match.group(2))
                if low > high:
                    raise ConfigError(f"condition {text!r}: the range's low end exceeds its high")
                return cls("outside", low, high)
        except ValueError:
            pass
        raise ConfigError(
            f"cannot read condition {text!r}; write e.g. '> 0.1', '<= 5', '!= 0', "
            "'outside [0.2, 0.8]', 'failed' or 'error'"
        )

    def holds(self, value: float, status: str = "", severity: str = "") -> bool:
        """Whether ``value`` (or, for ``failed`` and ``error``, ``status``) meets it."""
        if self.op == "failed":
            return status == "failed"
        if self.op == "error":
            return status == "error" and severity != "info"
        if math.isnan(value):
            return False
        if self.op == "outside":
            assert self.high is not None
            return value < self.threshold or value > self.high
        return _COMPARISONS[self.op](value, self.threshold)

    def __str__(self) -> str:
        if self.op == "failed":
            return "check failed"
        if self.op == "error":
            return "check could not be computed"
        if self.op == "outside":
            return f"outside [{self.threshold:g}, {self.high:g}]"
        return f"{self.op} {self.threshold:g}"


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule.

    Parameters
    ----------
    name
        Unique name; part of every alert's identity.
    metric
        The result metric watched (``drift_share``, ``null_rate``, ``accuracy``...), or
        ``"*"`` for every metric of the matching checks.
    condition
        When the metric is bad.
    check
        Only results of this check (``drift``, ``completeness``, ``performance``...;
        ``quality`` for any data-quality check).
    model, column
        Only results of this model / column; every one matching when omitted, each
        (model, column) its own alert.
    segment
        Results of data slices (the schema's ``segments``): ``region=west`` for one
        slice, ``region`` for every value of that column, ``*`` for every slice, each
        its own alert. Without it, the rule watches whole-window results only.
    for_windows, for_duration
        How long the condition must hold before the alert fires: consecutive windows
        and/or time since it started holding (both when both are given).
    keep_firing_for
        How long a firing alert keeps firing after the condition stops holding.
    severity
        ``info``, ``warning``, ``error`` or ``critical``.
    labels, annotations
        Extra labels (for routing), and templates (``summary``, ``description``,
        ``runbook_url``...) filled with ``{value}``, ``{threshold}``, ``{condition}``,
        ``{model}``, ``{column}``, ``{metric}``, ``{check}``, ``{message}`` (the result's
        own message), ``{limit}`` (the result's own threshold), ``{segment}``,
        ``{window}``, ``{rule}``, ``{severity}``.
    """

    name: str
    metric: str
    condition: Condition
    check: str | None = None
    model: str | None = None
    column: str | None = None
    segment: str | None = None
    for_windows: int = 1
    for_duration: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)
    severity: Severity = Severity.WARNING
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("an alert rule needs a name")
        if self.for_windows < 1:
            raise ConfigError(f"rule {self.name!r}: for_windows must be >= 1")
        reserved = {"alertname", "model", "column", "severity"} & set(self.labels)
        if reserved:
            raise ConfigError(
                f"rule {self.name!r}: labels {sorted(reserved)} are set by mlvigil itself"
            )

    def matches(self, result: CheckResult) -> bool:
        """Whether a result is one this rule watches."""
        return (
            (self.metric == ANY or result.metric == self.metric)
            and (self.check is None or result.check in _CHECK_GROUPS.get(self.check, (self.check,)))
            and (self.model is None or result.model == self.model)
            and (self.column is None or result.column == self.column)
            and self._segment_matches(result.segment)
        )

    def _segment_matches(self, segment: str | None) -> bool:
        if self.segment is None or segment is None:
            return self.segment is None and segment is None
        return self.segment in (ANY, segment) or segment.startswith(self.segment + "=")

    def alert_labels(self, result: CheckResult) -> dict[str, str]:
        """The labels identifying the alert a matching result belongs to."""
        labels = {
            "alertname": self.name,
            "model": result.model or "",
            "severity": self.severity.value,
            **self.labels,
        }
        if result.column is not None:  # an SLO's results name it as their column
            labels["slo" if result.check is CheckKind.SLO else "column"] = result.column
        if self.metric == ANY:  # one alert per metric the rule watches, not one for all
            labels["metric"] = result.metric
            if self.check is None:  # and per check, when it watches every check
                labels["check"] = result.check.value
        if result.segment is not None:
            labels["segment"] = result.segment
        return labels

    def render(self, result: CheckResult) -> dict[str, str]:
        """The annotations, filled in for one result."""
        value, limit = result.value, result.threshold
        fields = _Fields(
            value="n/a" if value is None else f"{value:.4g}",
            threshold=f"{self.condition.threshold:g}",
            limit="n/a" if limit is None else f"{limit:.4g}",
            condition=str(self.condition),
            model=result.model or "",
            column=result.column or "",
            metric=result.metric,
            check=result.check.value,
            message=result.message,
            segment=result.segment or "",
            window=f"{_iso(result.window_start)}/{_iso(result.window_end)}",
            rule=self.name,
            severity=self.severity.value,
            **{k: v for k, v in self.labels.items() if k.isidentifier()},
        )
        return {key: template.format_map(fields) for key, template in self.annotations.items()}


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


class _Fields(dict[str, str]):
    """Template fields; an unknown ``{name}`` stays as written instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
