"""Several worker processes, one scrape: the counts add up across workers, and the
machine-wide host and GPU metrics come along."""

import os
import subprocess
import sys
import textwrap

import psutil
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from fake_nvml import FakeGpu, FakeNvml
from mlvigil.telemetry import configure_metrics
from mlvigil.telemetry.exposition import MULTIPROCESS_ENV, render_metrics

WORKER = textwrap.dedent(
    """
    import os
    import sys
    from mlvigil.telemetry.monitor import ModelMonitor

    monitor = ModelMonitor("credit", version="1")
    for _ in range(int(sys.argv[1])):
        monitor.record({"income": None}, 1, score=0.9, latency_s=0.01)
    monitor.set_model_memory(1000)
    print(os.getpid())
    """
)


def samples(body: bytes) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_scrape_aggregates_every_worker_process(tmp_path, monkeypatch):
    env = {**os.environ, MULTIPROCESS_ENV: str(tmp_path)}
    pids = [
        int(
            subprocess.run(
                [sys.executable, "-c", WORKER, str(predictions)],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for predictions in (3, 5)
    ]
    # What gunicorn's child_exit hook does for a worker that died.
    multiprocess.mark_process_dead(pids[0], str(tmp_path))

    monkeypatch.setenv(MULTIPROCESS_ENV, str(tmp_path))
    body, _ = render_metrics(None)
    values = samples(body)

    model = {("model", "credit"), ("version", "1")}
    requests = ("ml_prediction_requests_total", frozenset({*model, ("status", "success")}))
    assert values[requests] == 8
    assert values[("ml_prediction_latency_seconds_count", frozenset(model))] == 8
    missing = frozenset({("model", "credit"), ("feature", "income")})
    assert values[("ml_feature_missing_total", missing)] == 8
    # Memory is summed over workers not marked dead: only the second one's.
    assert values[("ml_model_memory_bytes", frozenset(model))] == 1000


def test_host_and_gpu_metrics_join_the_aggregate_but_process_metrics_do_not(tmp_path, monkeypatch):
    monkeypatch.setenv(MULTIPROCESS_ENV, str(tmp_path))
    registry = CollectorRegistry()
    configure_metrics(registry, host=True, nvml=FakeNvml([FakeGpu("GPU-a", "NVIDIA L4")]))

    for _ in range(2):  # each scrape builds a new aggregate around the same collectors
        values = samples(render_metrics(None, registry)[0])
        names = {name for name, _ in values}
        assert values[("mlvigil_gpu_available", frozenset({("reason", "ok")}))] == 1
        memory = ("mlvigil_host_memory_total_bytes", frozenset())
        assert values[memory] == psutil.virtual_memory().total
        assert not any(name.startswith("process_") for name in names)


def test_a_registry_without_host_metrics_gets_none_in_the_aggregate(tmp_path, monkeypatch):
    monkeypatch.setenv(MULTIPROCESS_ENV, str(tmp_path))
    configure_metrics(CollectorRegistry(), host=True, gpu=False)
    body, _ = render_metrics(None, CollectorRegistry())
    assert b"mlvigil_host_" not in body
