"""The panels of mlvigil's Grafana dashboard: one row of time series per area.

Rows: serving, pipelines, ML health from the service, versions and business outcomes,
SLOs and infrastructure (see :mod:`mlvigil.grafana` for what each reads). Queries take
metric names from :mod:`mlvigil.catalog` where the service exports them, so a panel
cannot query a series nothing exports.
"""

from __future__ import annotations

from typing import NamedTuple

from mlvigil import catalog

__all__ = ["PANELS", "Panel"]

_MODEL = 'model=~"$model"'

_NAMESPACE = 'namespace=~"$namespace"'
_VERSION = "model_version=.*"  # the segment of a model version's results
_SLO = (
    "From the rules of `mlvigil slo export` (serving and model SLOs), else the "
    "service's gauges (model SLOs)."
)
_HOST = (
    "Needs host metrics on the model servers: configure_metrics(host=True) or "
    "monitor.collect_host_metrics()."
)
_GPU = (
    "From mlvigil's own series (configure_metrics(host=True), pip install 'mlvigil[gpu]'), "
    "or NVIDIA's DCGM exporter's where those are absent; a GPU watched by both shows twice."
)
_GPU_LEGEND = "{{instance}}{{Hostname}} GPU {{gpu}}"
_KSM = (
    "Needs kube-state-metrics (and the kubelet's cAdvisor metrics for usage) scraped by "
    "the same Prometheus; empty outside Kubernetes."
)


class Panel(NamedTuple):
    """One time-series panel: title, unit, (PromQL, legend) queries and a description."""

    title: str
    unit: str
    queries: list[tuple[str, str]]
    description: str = ""


#: (row title, panels).
PANELS: list[tuple[str, list[Panel]]] = [
    (
        "Serving",
        [
            Panel(
                "Prediction rate",
                "reqps",
                [
                    (
                        f"sum by (model, status) (rate(ml_prediction_requests_total{{{_MODEL}}}"
                        "[$__rate_interval]))",
                        "{{model}} {{status}}",
                    )
                ],
            ),
            Panel(
                "Error rate",
                "percentunit",
                [
                    (
                        "sum by (model) (rate(ml_prediction_requests_total"
                        f'{{{_MODEL},status="error"}}[$__rate_interval]))\n'
                        f"  / sum by (model) (rate(ml_prediction_requests_total{{{_MODEL}}}"
                        "[$__rate_interval]))",
                        "{{model}}",
                    )
                ],
            ),
            Panel(
                "Latency p50 / p95 / p99",
                "s",
                [
                    (
                        f"histogram_quantile({q}, sum by (model, le) "
                        f"(rate(ml_prediction_latency_seconds_bucket{{{_MODEL}}}"
                        "[$__rate_interval])))",
                        f"{{{{model}}}} p{round(q * 100)}",
                    )
                    for q in (0.5, 0.95, 0.99)
                ],
            ),
            Panel(
                "Median confidence",
                "percentunit",
                [
                    (
                        "histogram_quantile(0.5, sum by (model, le) "
                        f"(rate(ml_prediction_confidence_bucket{{{_MODEL}}}[$__rate_interval])))",
                        "{{model}}",
                    )
                ],
            ),
        ],
    ),
    (
        "Pipelines",
        [
            Panel(
                "Runs",
                "short",
                [
                    (
                        "sum by (pipeline, status) "
                        "(increase(ml_pipeline_runs_total[$__rate_interval]))",
                        "{{pipeline}} {{status}}",
                    )
                ],
            ),
            Panel(
                "Run duration p95",
                "s",
                [
                    (
                        "histogram_quantile(0.95, sum by (pipeline, le) "
                        "(rate(ml_pipeline_run_duration_seconds_bucket[$__rate_interval])))",
                        "{{pipeline}}",
                    )
                ],
            ),
            Panel(
                "Data age",
                "s",
                [("time() - ml_data_last_updated_timestamp_seconds", "{{dataset}}")],
            ),
            Panel(
                "Feature null ratio",
                "percentunit",
                [("ml_feature_null_ratio", "{{dataset}} {{feature}}")],
            ),
            Panel(
                "Records processed",
                "short",
                [
                    (
                        "sum by (pipeline, stage) "
                        "(rate(ml_pipeline_records_processed_total[$__rate_interval]))",
                        "{{pipeline}} {{stage}}",
                    )
                ],
            ),
        ],
    ),
    (
        "ML health (mlvigil service)",
        [
            Panel(
                "Drift share", "percentunit", [(f"{catalog.DRIFT_SHARE}{{{_MODEL}}}", "{{model}}")]
            ),
            Panel(
                "Drift score by column",
                "short",
                [(f"{catalog.DRIFT_SCORE}{{{_MODEL}}}", "{{model}} {{column}} ({{method}})")],
            ),
            Panel(
                "Null rate by column",
                "percentunit",
                [(f"{catalog.NULL_RATE}{{{_MODEL}}}", "{{model}} {{column}}")],
            ),
            Panel(
                "Failing quality checks",
                "short",
                [
                    (
                        f"count by (model) ({catalog.QUALITY_CHECK_PASSED}{{{_MODEL}}} == 0)",
                        "{{model}}",
                    )
                ],
            ),
            Panel(
                "Performance (labels matured)",
                "short",
                [(f"{catalog.PERFORMANCE}{{{_MODEL}}}", "{{model}} {{metric}}")],
            ),
            Panel(
                "Label coverage",
                "percentunit",
                [(f"{catalog.LABEL_COVERAGE}{{{_MODEL}}}", "{{model}}")],
            ),
            Panel(
                "Rows ingested",
                "short",
                [
                    (
                        f"sum by (model) (rate({catalog.ROWS_INGESTED}{{{_MODEL}}}"
                        "[$__rate_interval]))",
                        "{{model}}",
                    )
                ],
            ),
        ],
    ),
    (
        "Versions and business outcomes (mlvigil service)",
        [
            Panel(
                "Canary verdict",
                "short",
                [(f"{catalog.CANARY_VERDICT}{{{_MODEL}}}", "{{model}} {{segment}}")],
                "Each candidate version against the baseline, latest window: 1 pass, "
                "0 inconclusive, -1 fail (the canary_failed alert fires on a fail).",
            ),
            Panel(
                "Difference from the baseline version",
                "short",
                [(f"{catalog.VERSION_DIFFERENCE}{{{_MODEL}}}", "{{model}} {{segment}} {{metric}}")],
                "Candidate minus baseline for each compared metric, latest window.",
            ),
            Panel(
                "Performance by version",
                "short",
                [
                    (
                        f'{catalog.SEGMENT_PERFORMANCE}{{{_MODEL}, segment=~"{_VERSION}"}}',
                        "{{model}} {{segment}} {{metric}}",
                    )
                ],
            ),
            Panel(
                "Business outcomes",
                "short",
                [(f"{catalog.BUSINESS_METRIC}{{{_MODEL}}}", "{{model}} {{metric}}")],
                "Rates, means and sums of the schema's outcome columns, latest window.",
            ),
            Panel(
                "Business outcomes by version",
                "short",
                [
                    (
                        f'{catalog.SEGMENT_BUSINESS_METRIC}{{{_MODEL}, segment=~"{_VERSION}"}}',
                        "{{model}} {{segment}} {{metric}}",
                    )
                ],
            ),
        ],
    ),
    (
        "SLOs",
        [
            Panel(
                "Error budget left",
                "percentunit",
                [
                    (
                        "max by (slo, model) (slo:period_error_budget_remaining:ratio"
                        f"{{{_MODEL}}})\n  or max by (slo, model) "
                        f"({catalog.SLO_ERROR_BUDGET_REMAINING}{{{_MODEL}}})",
                        "{{slo}}",
                    )
                ],
                _SLO + " 100% untouched, 0 spent, below 0 overspent.",
            ),
            Panel(
                "Burn rate, shortest window",
                "short",
                [
                    (
                        f"max by (slo, model) (slo:current_burn_rate:ratio{{{_MODEL}}})",
                        "{{slo}}",
                    )
                ],
                "Error ratio over the SLO's shortest alert window ÷ its error budget (1 = "
                "the rate that spends the budget exactly over the period), from the rules "
                "of `mlvigil slo export`.",
            ),
            Panel(
                "Burn rate per window (service)",
                "short",
                [
                    (
                        f"max by (slo, window) ({catalog.SLO_BURN_RATE}{{{_MODEL}}})",
                        "{{slo}} {{window}}",
                    )
                ],
                "Model SLOs as the service evaluates them, for teams without the "
                "exported rules; the page and ticket alerts fire on pairs of these.",
            ),
        ],
    ),
    (
        "Infrastructure",
        [
            Panel(
                "Host CPU busy",
                "percentunit",
                [
                    (
                        "1 - sum by (job, instance) (rate(mlvigil_host_cpu_seconds_total"
                        '{mode=~"idle|iowait"}[$__rate_interval]))\n'
                        "  / sum by (job, instance) "
                        "(rate(mlvigil_host_cpu_seconds_total[$__rate_interval]))",
                        "{{instance}}",
                    )
                ],
                _HOST,
            ),
            Panel(
                "Process CPU",
                "percentunit",
                [("rate(process_cpu_seconds_total[$__rate_interval])", "{{job}} {{instance}}")],
                "CPU time of each scraped process per second (100% is one core), from "
                "prometheus-client's process_* metrics.",
            ),
            Panel(
                "Memory",
                "bytes",
                [
                    (
                        "mlvigil_host_memory_total_bytes - mlvigil_host_memory_available_bytes",
                        "{{instance}} host in use",
                    ),
                    ("mlvigil_host_memory_total_bytes", "{{instance}} host total"),
                    ("process_resident_memory_bytes", "{{job}} {{instance}} RSS"),
                    ("ml_model_memory_bytes", "{{model}} {{version}} model"),
                ],
                "Host memory in use (total less available) and installed, each process's "
                "resident memory, and the memory models report with set_model_memory. " + _HOST,
            ),
            Panel(
                "Disk I/O",
                "Bps",
                [
                    (
                        "rate(mlvigil_host_disk_read_bytes_total[$__rate_interval])",
                        "{{instance}} read",
                    ),
                    (
                        "rate(mlvigil_host_disk_written_bytes_total[$__rate_interval])",
                        "{{instance}} written",
                    ),
                ],
                "Bytes read from and written to the host's disks per second. " + _HOST,
            ),
            Panel(
                "Filesystem in use",
                "percentunit",
                [
                    (
                        "1 - mlvigil_host_filesystem_avail_bytes"
                        " / mlvigil_host_filesystem_size_bytes",
                        "{{instance}} {{mountpoint}}",
                    )
                ],
                "Share of the filesystem not available to the server (the one holding its "
                "working directory). " + _HOST,
            ),
            Panel(
                "Network I/O",
                "Bps",
                [
                    (
                        "sum by (job, instance) "
                        "(rate(mlvigil_host_network_receive_bytes_total[$__rate_interval]))",
                        "{{instance}} received",
                    ),
                    (
                        "sum by (job, instance) "
                        "(rate(mlvigil_host_network_transmit_bytes_total[$__rate_interval]))",
                        "{{instance}} sent",
                    ),
                ],
                "Bytes per second over all network interfaces but loopback. " + _HOST,
            ),
            Panel(
                "GPU utilisation",
                "percentunit",
                [
                    (
                        "mlvigil_gpu_utilization_ratio or DCGM_FI_DEV_GPU_UTIL / 100",
                        _GPU_LEGEND,
                    )
                ],
                "Share of time a kernel ran on each GPU. " + _GPU,
            ),
            Panel(
                "GPU memory in use",
                "percentunit",
                [
                    (
                        "mlvigil_gpu_memory_used_bytes / mlvigil_gpu_memory_total_bytes\n"
                        "  or DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)",
                        _GPU_LEGEND,
                    )
                ],
                "Share of each GPU's memory in use; MLGPUMemoryHigh fires above its limit. " + _GPU,
            ),
            Panel(
                "GPU memory by process",
                "bytes",
                [("mlvigil_gpu_process_memory_used_bytes", "{{instance}} GPU {{gpu}} pid {{pid}}")],
                "GPU memory of each process using the GPU, where NVML can tell (not under "
                "Windows WDDM; pids may be the host's inside a container). "
                "From collect_host_metrics() only.",
            ),
            Panel(
                "GPU temperature",
                "celsius",
                [("mlvigil_gpu_temperature_celsius or DCGM_FI_DEV_GPU_TEMP", _GPU_LEGEND)],
                "Core temperature of each GPU. " + _GPU,
            ),
            Panel(
                "GPU power",
                "watt",
                [("mlvigil_gpu_power_watts or DCGM_FI_DEV_POWER_USAGE", _GPU_LEGEND)],
                "Power draw of each GPU. " + _GPU,
            ),
            Panel(
                "Pod restarts (kube-state-metrics)",
                "short",
                [
                    (
                        "sum by (namespace, pod, container) (increase("
                        f"kube_pod_container_status_restarts_total{{{_NAMESPACE}}}[1h]))",
                        "{{namespace}}/{{pod}} {{container}}",
                    )
                ],
                "Container restarts over the preceding hour, per pod of the chosen "
                "namespaces. " + _KSM,
            ),
            Panel(
                "Pod CPU usage / limit (kube-state-metrics, cAdvisor)",
                "percentunit",
                [
                    (
                        "sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total"
                        f'{{{_NAMESPACE},container!="",container!="POD"}}[$__rate_interval]))\n'
                        "  / sum by (namespace, pod, container) (kube_pod_container_resource_limits"
                        f'{{{_NAMESPACE},resource="cpu"}})',
                        "{{namespace}}/{{pod}} {{container}}",
                    )
                ],
                "Each container's CPU use (cAdvisor's container_cpu_usage_seconds_total, "
                "scraped from the kubelet) as a share of its CPU limit; near 100% the "
                "container is throttled. Containers without a limit are not shown. " + _KSM,
            ),
            Panel(
                "Pod memory usage / limit (kube-state-metrics, cAdvisor)",
                "percentunit",
                [
                    (
                        "sum by (namespace, pod, container) (container_memory_working_set_bytes"
                        f'{{{_NAMESPACE},container!="",container!="POD"}})\n'
                        "  / sum by (namespace, pod, container) (kube_pod_container_resource_limits"
                        f'{{{_NAMESPACE},resource="memory"}})',
                        "{{namespace}}/{{pod}} {{container}}",
                    )
                ],
                "Each container's working-set memory (cAdvisor) as a share of its memory "
                "limit; at 100% the kernel kills it (OOMKilled, then a restart). Containers "
                "without a limit are not shown. " + _KSM,
            ),
        ],
    ),
]
