"""Host and GPU metrics in one call: on a monitor, or at start-up with configure_metrics."""

import sys

import psutil
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from fake_nvml import FakeGpu, FakeNvml
from mlvigil.telemetry import ModelMonitor, configure_metrics


def scrape(registry):
    text = generate_latest(registry).decode()
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def count(samples, name):
    return len([s for s in samples if s.name == name])


def test_a_monitor_exports_host_and_gpu_series_from_its_registry():
    registry = CollectorRegistry()
    monitor = ModelMonitor("churn", registry=registry)
    monitor.collect_host_metrics(nvml=FakeNvml([FakeGpu("GPU-a", "NVIDIA L4")]))
    assert registry.get_sample_value("mlvigil_host_memory_total_bytes") == (
        psutil.virtual_memory().total
    )
    assert registry.get_sample_value("mlvigil_gpu_available", {"reason": "ok"}) == 1
    gpu = {"gpu": "0", "uuid": "GPU-a", "name": "NVIDIA L4"}
    assert registry.get_sample_value("mlvigil_gpu_memory_total_bytes", gpu) == 16 << 30


def test_asking_twice_or_from_two_monitors_registers_once():
    registry = CollectorRegistry()
    nvml = FakeNvml([FakeGpu("GPU-a", "NVIDIA L4")])
    first = ModelMonitor("churn", registry=registry).collect_host_metrics(nvml=nvml)
    again = ModelMonitor("fraud", registry=registry).collect_host_metrics(nvml=nvml)
    assert again is first
    assert configure_metrics(registry, host=True, nvml=nvml) is first
    assert nvml.inits == 1
    samples = scrape(registry)
    assert count(samples, "mlvigil_host_memory_total_bytes") == 1
    assert count(samples, "mlvigil_gpu_available") == 1


def test_configure_metrics_with_host_exports_the_host_series():
    registry = CollectorRegistry()
    metrics = configure_metrics(registry, host=True, gpu=False)
    assert metrics is not None
    assert metrics.gpu is None
    names = {s.name for s in scrape(registry)}
    assert {"mlvigil_host_cpu_seconds_total", "mlvigil_host_memory_available_bytes"} <= names
    assert not any(name.startswith("mlvigil_gpu_") for name in names)


def test_configure_metrics_without_host_registers_nothing():
    registry = CollectorRegistry()
    assert configure_metrics(registry) is None
    assert configure_metrics(registry, host=False) is None
    assert scrape(registry) == []


def test_a_server_without_nvml_exports_why_there_are_no_gpu_series(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    registry = CollectorRegistry()
    configure_metrics(registry, host=True)
    gpu_samples = [
        (s.labels, s.value) for s in scrape(registry) if s.name.startswith("mlvigil_gpu_")
    ]
    assert gpu_samples == [({"reason": "nvml_not_installed"}, 0.0)]
    assert registry.get_sample_value("mlvigil_host_memory_total_bytes") > 0
