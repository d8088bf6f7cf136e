"""Prometheus alerting rules for the metrics the SDK and the service export.

For teams whose paging already runs through Prometheus and Alertmanager:
``mlvigil rules export`` writes these rules, Prometheus evaluates them against the
model servers' and the service's ``/metrics``, and Alertmanager routes what fires.

Four groups cover what every deployment has: serving (error rate, p99 latency, median
confidence, predictions stopping), pipelines (failed runs, stale data, null ratios),
model health from the service (dataset and column drift, null rates, failed quality
checks, empty windows) and infrastructure (GPU memory, host memory and disk space, from
the SDK's host and GPU collectors; the GPU rule also reads NVIDIA's DCGM exporter's
series where mlvigil's are absent). With a configuration, a group per model uses its
own numbers: performance below the configured baseline, and no window evaluated for
three window lengths.

The configuration is read through :class:`MonitoringConfig`, the few attributes these
rules need; :class:`mlvigil.service.config.ServiceConfig` has them. This module does
not import the service (which imports :mod:`mlvigil.alerts`), so the layers stay one-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from mlvigil import catalog

if TYPE_CHECKING:
    from mlvigil.checks.performance import PerformanceConfig

DEFAULT_RUNBOOKS = "https://github.com/mlvigil/mlvigil/blob/main/docs/runbooks.md"


class MonitoredModel(Protocol):
    """What the per-model rules read of one model's configuration."""

    @property
    def window(self) -> timedelta | None:
        """Width of the model's time windows; None when windows count rows."""

    @property
    def performance(self) -> PerformanceConfig | None:
        """The performance check, whose baselines the rules alert on."""


class MonitoringConfig(Protocol):
    """What the per-model rules read of a service configuration.

    :class:`mlvigil.service.config.ServiceConfig` is one.
    """

    @property
    def models(self) -> Mapping[str, MonitoredModel]:
        """The monitored models by name."""

    @property
    def lateness(self) -> timedelta:
        """How long a window waits for late rows before it is evaluated."""

    @property
    def evaluation_interval(self) -> timedelta:
        """Time between the service's evaluation passes."""


@dataclass(frozen=True)
class RuleThresholds:
    """The numbers the generic rules alert on (most have a ``rules export`` option)."""

    max_error_rate: float = 0.05
    max_p99_latency_seconds: float = 0.5
    min_median_confidence: float = 0.6
    max_gpu_memory_ratio: float = 0.9
    min_host_memory_available_ratio: float = 0.1
    """Share of the host's memory that must stay available."""
    min_filesystem_available_ratio: float = 0.1
    """Share of the server's filesystem that must stay available."""
    max_null_rate: float = 0.1
    max_data_age: timedelta = timedelta(hours=6)
    max_window_age: timedelta = timedelta(hours=3)
    """Without a configuration: how old the latest evaluated window may get."""


def _duration(value: timedelta) -> str:
    """Prometheus duration text (``90s`` → ``1m30s``)."""
    seconds = int(value.total_seconds())
    parts = [(seconds // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


class _Group:
    """Rules of one group, sharing the runbook base."""

    def __init__(self, name: str, runbooks: str) -> None:
        self.name = name
        self.runbooks = runbooks.rstrip("/")
        self.rules: list[dict[str, Any]] = []

    def alert(
        self,
        name: str,
        expr: str,
        *,
        for_: str,
        severity: str,
        summary: str,
        description: str,
        labels: dict[str, str] | None = None,
    ) -> None:
        anchor = name.lower()
        self.rules.append(
            {
                "alert": name,
                "expr": expr,
                "for": for_,
                "labels": {"severity": severity, **(labels or {})},
                "annotations": {
                    "summary": summary,
                    "description": description,
                    "runbook_url": f"{self.runbooks}#{anchor}",
                },
            }
        )

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rules": self.rules}


def prometheus_rules(
    config: MonitoringConfig | None = None,
    *,
    thresholds: RuleThresholds | None = None,
    runbooks: str = DEFAULT_RUNBOOKS,
) -> dict[str, Any]:
    """The rule file's content, ready for ``yaml.safe_dump``.

    Parameters
    ----------
    config
        The service configuration; adds per-model rules from its baselines and windows.
    thresholds
        The generic rules' numbers.
    runbooks
        Base URL of the runbooks; each rule links to ``{runbooks}#{alertname}``.
    """
    limits = thresholds or RuleThresholds()
    groups = [
        _serving(limits, runbooks),
        _pipelines(limits, runbooks),
        _service(limits, runbooks, generic_staleness=config is None),
        _infrastructure(limits, runbooks),
    ]
    if config is not None:
        groups += [_model(config, name, runbooks) for name in config.models]
    return {"groups": [group.as_dict() for group in groups if group.rules]}


def _serving(limits: RuleThresholds, runbooks: str) -> _Group:
    group = _Group("mlvigil-serving", runbooks)
    requests = "ml_prediction_requests_total"
    group.alert(
        "MLHighErrorRate",
        f'sum by (model) (rate({requests}{{status="error"}}[5m]))\n'
        f"  / sum by (model) (rate({requests}[5m])) > {limits.max_error_rate:g}",
        for_="5m",
        severity="critical",
        summary="{{ $labels.model }}: predictions are failing",
        description="{{ $value | humanizePercentage }} of {{ $labels.model }}'s predictions "
        f"failed over 5 minutes (limit {limits.max_error_rate:.0%}).",
    )
    group.alert(
        "MLHighP99Latency",
        "histogram_quantile(0.99,\n"
        "  sum by (model, le) (rate(ml_prediction_latency_seconds_bucket[5m]))\n"
        f") > {limits.max_p99_latency_seconds:g}",
        for_="10m",
        severity="warning",
        summary="{{ $labels.model }}: slow predictions",
        description="p99 prediction latency of {{ $labels.model }} is "
        f"{{{{ $value | humanizeDuration }}}} (limit {limits.max_p99_latency_seconds:g}s).",
    )
    group.alert(
        "MLLowMedianConfidence",
        "histogram_quantile(0.5,\n"
        "  sum by (model, le) (rate(ml_prediction_confidence_bucket[30m]))\n"
        f") < {limits.min_median_confidence:g}",
        for_="30m",
        severity="warning",
        summary="{{ $labels.model }}: the model is unsure of its predictions",
        description='Median confidence of {{ $labels.model }} is {{ printf "%.3g" $value }} '
        f"(expected at least {limits.min_median_confidence:g}); inputs may have drifted.",
    )
    group.alert(
        "MLNoPredictions",
        f"sum by (model) (rate({requests}[15m])) == 0",
        for_="15m",
        severity="warning",
        summary="{{ $labels.model }}: no predictions",
        description="{{ $labels.model }} served no predictions for 30 minutes.",
    )
    return group


#: The host a series is from: DCGM exporter's ``Hostname`` label, else the target.
_HOST = "{{ with $labels.Hostname }}{{ . }}{{ else }}{{ $labels.instance }}{{ end }}"


def _infrastructure(limits: RuleThresholds, runbooks: str) -> _Group:
    group = _Group("mlvigil-infrastructure", runbooks)
    # mlvigil's own GPU series first; DCGM's (in MiB: the ratio cancels the unit) for
    # GPUs only a DCGM exporter watches.
    group.alert(
        "MLGPUMemoryHigh",
        "(\n"
        "  mlvigil_gpu_memory_used_bytes / mlvigil_gpu_memory_total_bytes\n"
        "  or DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)\n"
        f") > {limits.max_gpu_memory_ratio:g}",
        for_="10m",
        severity="warning",
        summary=f"GPU {{{{ $labels.gpu }}}} on {_HOST} is nearly out of memory",
        description="{{ $value | humanizePercentage }} of the GPU's memory is in use "
        f"(limit {limits.max_gpu_memory_ratio:.0%}).",
    )
    group.alert(
        "MLHostMemoryHigh",
        "mlvigil_host_memory_available_bytes / mlvigil_host_memory_total_bytes"
        f" < {limits.min_host_memory_available_ratio:g}",
        for_="10m",
        severity="warning",
        summary="{{ $labels.instance }} is running out of memory",
        description="Only {{ $value | humanizePercentage }} of the host's memory is "
        f"available (limit {limits.min_host_memory_available_ratio:.0%}).",
    )
    group.alert(
        "MLHostDiskFull",
        "mlvigil_host_filesystem_avail_bytes / mlvigil_host_filesystem_size_bytes"
        f" < {limits.min_filesystem_available_ratio:g}",
        for_="10m",
        severity="warning",
        summary="{{ $labels.instance }}: {{ $labels.mountpoint }} is nearly full",
        description="Only {{ $value | humanizePercentage }} of {{ $labels.mountpoint }} is "
        f"available (limit {limits.min_filesystem_available_ratio:.0%}).",
    )
    return group


def _pipelines(limits: RuleThresholds, runbooks: str) -> _Group:
    group = _Group("mlvigil-pipelines", runbooks)
    group.alert(
        "MLPipelineRunFailed",
        'increase(ml_pipeline_runs_total{status="error"}[1h]) > 0',
        for_="0m",
        severity="error",
        summary="pipeline {{ $labels.pipeline }} failed",
        description="{{ $value | humanize }} run(s) of {{ $labels.pipeline }} failed in the "
        "last hour.",
    )
    age = limits.max_data_age.total_seconds()
    group.alert(
        "MLDataStale",
        f"time() - ml_data_last_updated_timestamp_seconds > {age:g}",
        for_="10m",
        severity="warning",
        summary="dataset {{ $labels.dataset }} is stale",
        description="{{ $labels.dataset }} was last updated {{ $value | humanizeDuration }} "
        f"ago (limit {_duration(limits.max_data_age)}).",
    )
    group.alert(
        "MLFeatureNullRatioHigh",
        f"ml_feature_null_ratio > {limits.max_null_rate:g}",
        for_="15m",
        severity="warning",
        summary="{{ $labels.dataset }}: {{ $labels.feature }} is often null",
        description="{{ $value | humanizePercentage }} of {{ $labels.feature }} is null "
        f"(limit {limits.max_null_rate:.0%}).",
    )
    return group


def _service(limits: RuleThresholds, runbooks: str, *, generic_staleness: bool) -> _Group:
    group = _Group("mlvigil-model-health", runbooks)
    group.alert(
        "MLDatasetDrift",
        f"{catalog.DATASET_DRIFT} == 1",
        for_="5m",
        severity="warning",
        summary="{{ $labels.model }}: dataset drift",
        description="Enough of {{ $labels.model }}'s columns drifted from the reference "
        "in the latest window to call the dataset drifted.",
    )
    group.alert(
        "MLFeatureDrift",
        f"{catalog.DRIFT_SCORE} and on (model, column) ({catalog.COLUMN_DRIFTED} == 1)",
        for_="5m",
        severity="info",
        summary="{{ $labels.model }}: {{ $labels.column }} drifted",
        description="{{ $labels.column }} drifted ({{ $labels.method }} "
        '{{ printf "%.3g" $value }}) in the latest window.',
    )
    group.alert(
        "MLNullRateHigh",
        f"{catalog.NULL_RATE} > {limits.max_null_rate:g}",
        for_="5m",
        severity="warning",
        summary="{{ $labels.model }}: {{ $labels.column }} is often null",
        description="{{ $value | humanizePercentage }} of {{ $labels.column }} is null in the "
        f"latest window (limit {limits.max_null_rate:.0%}).",
    )
    group.alert(
        "MLQualityCheckFailed",
        f"{catalog.QUALITY_CHECK_PASSED} == 0",
        for_="5m",
        severity="error",
        summary="{{ $labels.model }}: {{ $labels.check }} check failed",
        description="The {{ $labels.check }} check ({{ $labels.metric }}) failed on "
        "{{ $labels.column }} in the latest window.",
    )
    group.alert(
        "MLCheckError",
        f"{catalog.CHECK_ERROR} == 1",
        for_="5m",
        severity="warning",
        summary="{{ $labels.model }}: {{ $labels.check }} {{ $labels.metric }} could not be "
        "computed",
        description="The {{ $labels.check }} check ({{ $labels.metric }}) could not be "
        "computed on {{ $labels.column }} in the latest window: its inputs do not line up "
        "(see the result's message).",
    )
    group.alert(
        "MLNoDataInWindow",
        f"{catalog.WINDOW_ROWS} == 0",
        for_="5m",
        severity="critical",
        summary="{{ $labels.model }}: no predictions in the latest window",
        description="The latest evaluated window of {{ $labels.model }} holds no predictions: "
        "is the prediction logger shipping?",
    )
    if generic_staleness:
        age = limits.max_window_age
        group.alert(
            "MLMonitoringStale",
            f"time() - {catalog.LAST_WINDOW_END} > {age.total_seconds():g}",
            for_="10m",
            severity="warning",
            summary="{{ $labels.model }}: monitoring is behind",
            description="The latest evaluated window of {{ $labels.model }} ended "
            f"{{{{ $value | humanizeDuration }}}} ago (limit {_duration(age)}).",
        )
    return group


def _model(config: MonitoringConfig, name: str, runbooks: str) -> _Group:
    model = config.models[name]
    group = _Group(f"mlvigil-model-{name}", runbooks)
    selector = f'model="{_escape(name)}"'
    performance = model.performance
    for metric in performance.metrics if performance else ():
        assert performance is not None
        limit = performance.limit(metric)
        if limit is None:
            continue
        threshold, lower_is_better = limit
        group.alert(
            "MLPerformanceBelowBaseline",
            f'{catalog.PERFORMANCE}{{{selector},metric="{metric}"}} '
            f"{'>' if lower_is_better else '<'} {threshold:g}",
            for_="5m",
            severity=performance.severity.value,
            labels={"metric": metric},
            summary=f"{{{{ $labels.model }}}}: {metric} below baseline",
            description=f'{metric} is {{{{ printf "%.3g" $value }}}} in the latest labelled '
            f"window (baseline {performance.baseline[metric]:g}, worst allowed {threshold:g}).",
        )
    if model.window is not None:
        age = 3 * model.window + config.lateness + config.evaluation_interval
        group.alert(
            "MLMonitoringStale",
            f"time() - {catalog.LAST_WINDOW_END}{{{selector}}} > {age.total_seconds():g}",
            for_="10m",
            severity="warning",
            summary="{{ $labels.model }}: monitoring is behind",
            description="The latest evaluated window of {{ $labels.model }} ended "
            f"{{{{ $value | humanizeDuration }}}} ago; windows of {_duration(model.window)} "
            "should close and be evaluated continuously.",
        )
    return group


def _escape(value: str) -> str:
    """A PromQL string literal's content."""
    return value.replace("\\", "\\\\").replace('"', '\\"')
