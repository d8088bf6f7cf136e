import os
import sys

import psutil
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from fake_nvml import LIBRARY_NOT_FOUND, UNKNOWN, FakeGpu, FakeNvml, proc
from mlvigil.telemetry.gpu import GpuCollector
from mlvigil.telemetry.host import HostCollector, register_host_metrics


def scrape(registry):
    """Every sample of one scrape, parsed back from the exposition text."""
    text = generate_latest(registry).decode()
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(samples, name, /, **labels):
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) == 1, f"{name}{labels}: {found}"
    return found[0]


def names(samples):
    return {s.name for s in samples}


@pytest.fixture
def host_registry(tmp_path):
    registry = CollectorRegistry()
    registry.register(HostCollector(tmp_path))
    return registry


# --- host collector, against the real host ---


def test_memory_total_is_the_hosts(host_registry):
    samples = scrape(host_registry)
    assert value(samples, "mlvigil_host_memory_total_bytes") == psutil.virtual_memory().total
    available = value(samples, "mlvigil_host_memory_available_bytes")
    used = value(samples, "mlvigil_host_memory_used_bytes")
    assert 0 < available <= psutil.virtual_memory().total
    assert 0 < used <= psutil.virtual_memory().total


def test_cpu_seconds_by_mode_lie_between_readings_before_and_after(host_registry):
    before = psutil.cpu_times()
    samples = scrape(host_registry)
    after = psutil.cpu_times()
    for mode in ("user", "system", "idle"):
        exported = value(samples, "mlvigil_host_cpu_seconds_total", mode=mode)
        assert getattr(before, mode) <= exported <= getattr(after, mode)
    modes = {s.labels["mode"] for s in samples if s.name == "mlvigil_host_cpu_seconds_total"}
    assert "guest" not in modes  # already inside user time on Linux
    assert value(samples, "mlvigil_host_logical_cpus") == psutil.cpu_count()


def test_cpu_utilisation_is_a_ratio_once_cpu_time_has_passed(tmp_path):
    registry = CollectorRegistry()
    registry.register(HostCollector(tmp_path))
    start = sum(psutil.cpu_times())
    while sum(psutil.cpu_times()) == start:  # wait out one kernel clock tick, busily
        sum(range(10_000))
    ratio = value(scrape(registry), "mlvigil_host_cpu_utilization_ratio")
    assert 0.0 <= ratio <= 1.0


def test_network_counters_never_decrease_and_leave_out_loopback(host_registry):
    first = scrape(host_registry)
    second = scrape(host_registry)
    counters = [n for n in names(first) if n.startswith("mlvigil_host_network_")]
    assert set(counters) == {
        "mlvigil_host_network_receive_bytes_total",
        "mlvigil_host_network_transmit_bytes_total",
        "mlvigil_host_network_receive_packets_total",
        "mlvigil_host_network_transmit_packets_total",
    }
    devices = set(psutil.net_io_counters(pernic=True)) - {"lo"}
    for name in counters:
        exported = {s.labels["device"]: s.value for s in first if s.name == name}
        later = {s.labels["device"]: s.value for s in second if s.name == name}
        assert set(exported) == devices
        assert all(later[device] >= exported[device] for device in exported)


def test_disk_io_counters_never_decrease(host_registry, tmp_path):
    if psutil.disk_io_counters() is None:
        pytest.skip("no disk visible to psutil on this machine")
    first = scrape(host_registry)
    (tmp_path / "file").write_bytes(b"x" * 4096)
    second = scrape(host_registry)
    for name in (
        "mlvigil_host_disk_read_bytes_total",
        "mlvigil_host_disk_written_bytes_total",
        "mlvigil_host_disk_reads_completed_total",
        "mlvigil_host_disk_writes_completed_total",
    ):
        assert 0 <= value(first, name) <= value(second, name)


def test_filesystem_usage_is_that_of_the_given_paths_filesystem(tmp_path):
    collector = HostCollector(tmp_path)
    registry = CollectorRegistry()
    registry.register(collector)
    samples = scrape(registry)
    mountpoint = collector.mountpoint
    assert os.path.ismount(mountpoint)
    assert str(tmp_path.resolve()).startswith(mountpoint)
    size = value(samples, "mlvigil_host_filesystem_size_bytes", mountpoint=mountpoint)
    assert size == psutil.disk_usage(str(tmp_path)).total
    used = value(samples, "mlvigil_host_filesystem_used_bytes", mountpoint=mountpoint)
    avail = value(samples, "mlvigil_host_filesystem_avail_bytes", mountpoint=mountpoint)
    assert 0 < used <= size
    assert 0 <= avail <= size


@pytest.mark.skipif(not hasattr(os, "getloadavg"), reason="no load average on this OS")
def test_load_averages_are_exported(host_registry):
    samples = scrape(host_registry)
    for minutes in (1, 5, 15):
        assert value(samples, f"mlvigil_host_load{minutes}") >= 0


def test_process_metrics_are_left_to_prometheus_client(host_registry):
    assert not any(n.startswith("process_") for n in names(scrape(host_registry)))


def test_an_unreadable_group_is_reported_and_the_rest_still_scraped(host_registry, monkeypatch):
    def refused(pernic=False):
        raise PermissionError("/proc/net/dev: permission denied")

    monkeypatch.setattr(psutil, "net_io_counters", refused)
    samples = scrape(host_registry)
    assert value(samples, "mlvigil_host_collector_success", collector="network") == 0
    assert value(samples, "mlvigil_host_collector_success", collector="memory") == 1
    assert not any(n.startswith("mlvigil_host_network_") for n in names(samples))
    assert value(samples, "mlvigil_host_memory_total_bytes") == psutil.virtual_memory().total


# --- one-call registration ---


def test_registering_twice_registers_once(tmp_path):
    registry = CollectorRegistry()
    first = register_host_metrics(registry, gpu=False, path=tmp_path)
    assert register_host_metrics(registry, gpu=False, path=tmp_path) is first
    samples = scrape(registry)
    assert len([s for s in samples if s.name == "mlvigil_host_memory_total_bytes"]) == 1
    assert len([s for s in samples if s.name == "process_start_time_seconds"]) <= 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process_* only on Linux")
def test_a_custom_registry_gets_process_metrics_once():
    registry = CollectorRegistry()
    register_host_metrics(registry, gpu=False)
    samples = scrape(registry)
    assert len([s for s in samples if s.name == "process_resident_memory_bytes"]) == 1


def test_gpus_asked_for_later_are_added_once():
    registry = CollectorRegistry()
    nvml = FakeNvml([FakeGpu("GPU-a", "Tesla T4")])
    assert register_host_metrics(registry, gpu=False).gpu is None
    with_gpu = register_host_metrics(registry, nvml=nvml)
    assert register_host_metrics(registry, nvml=nvml) is with_gpu
    assert nvml.inits == 1
    assert value(scrape(registry), "mlvigil_gpu_available", reason="ok") == 1


# --- GPU collector through a fake NVML module ---


def gpu_registry(nvml):
    registry = CollectorRegistry()
    collector = GpuCollector(nvml=nvml)
    registry.register(collector)
    return registry, collector


def two_gpus():
    healthy = FakeGpu(
        "GPU-aaaa",
        "NVIDIA A100",
        processes=[proc(4242, 2 << 30), proc(777, None)],
        graphics=[proc(4242, 2 << 30), proc(5150, 512 << 20)],
    )
    failing = FakeGpu("GPU-bbbb", "NVIDIA A100", fail={"utilization"}, unsupported={"power"})
    return FakeNvml([healthy, failing])


def test_each_gpu_exports_utilisation_memory_temperature_and_power():
    registry, collector = gpu_registry(two_gpus())
    samples = scrape(registry)
    gpu0 = {"gpu": "0", "uuid": "GPU-aaaa", "name": "NVIDIA A100"}
    assert collector.available
    assert value(samples, "mlvigil_gpu_available", reason="ok") == 1
    assert value(samples, "mlvigil_gpu_utilization_ratio", **gpu0) == pytest.approx(0.37)
    assert value(samples, "mlvigil_gpu_memory_utilization_ratio", **gpu0) == pytest.approx(0.12)
    assert value(samples, "mlvigil_gpu_memory_used_bytes", **gpu0) == 3 << 30
    assert value(samples, "mlvigil_gpu_memory_total_bytes", **gpu0) == 16 << 30
    assert value(samples, "mlvigil_gpu_temperature_celsius", **gpu0) == 61
    assert value(samples, "mlvigil_gpu_power_watts", **gpu0) == pytest.approx(70.25)


def test_process_memory_per_pid_counts_a_compute_and_graphics_process_once():
    registry, _ = gpu_registry(two_gpus())
    samples = scrape(registry)
    per_pid = {
        s.labels["pid"]: s.value
        for s in samples
        if s.name == "mlvigil_gpu_process_memory_used_bytes" and s.labels["gpu"] == "0"
    }
    # pid 777: NVML could not tell its memory, so no series rather than a made-up 0.
    assert per_pid == {"4242": 2 << 30, "5150": 512 << 20}
    assert value(
        samples, "mlvigil_gpu_process_memory_used_bytes", gpu="0", uuid="GPU-aaaa", pid="4242"
    ) == (2 << 30)


def test_a_failing_query_drops_only_its_series_and_is_counted():
    registry, _ = gpu_registry(two_gpus())
    gpu1 = {"gpu": "1", "uuid": "GPU-bbbb", "name": "NVIDIA A100"}
    samples = scrape(registry)
    assert value(samples, "mlvigil_gpu_memory_used_bytes", **gpu1) == 3 << 30
    assert value(samples, "mlvigil_gpu_temperature_celsius", **gpu1) == 61
    exported = {(s.name, s.labels.get("gpu")) for s in samples}
    assert ("mlvigil_gpu_utilization_ratio", "0") in exported
    assert ("mlvigil_gpu_utilization_ratio", "1") not in exported
    assert ("mlvigil_gpu_power_watts", "1") not in exported  # not supported: absent
    assert value(samples, "mlvigil_gpu_query_errors_total", gpu="1", query="utilization") == 1
    errors = [s for s in samples if s.name == "mlvigil_gpu_query_errors_total"]
    assert len(errors) == 1  # "not supported" is a property of the GPU, not an error
    again = scrape(registry)
    assert value(again, "mlvigil_gpu_query_errors_total", gpu="1", query="utilization") == 2


def test_a_gpu_that_cannot_be_opened_leaves_the_others_exported():
    nvml = FakeNvml([FakeGpu("GPU-lost", "A10", fail={"handle"}), FakeGpu("GPU-ok", "A10")])
    registry, _ = gpu_registry(nvml)
    samples = scrape(registry)
    total = [s for s in samples if s.name == "mlvigil_gpu_memory_total_bytes"]
    assert [s.labels["uuid"] for s in total] == ["GPU-ok"]
    assert value(samples, "mlvigil_gpu_query_errors_total", gpu="0", query="device") == 1


def test_an_unexpected_exception_in_a_query_does_not_fail_the_scrape():
    nvml = two_gpus()

    def broken(gpu, sensor):
        raise RuntimeError("ctypes surprise")

    nvml.nvmlDeviceGetTemperature = broken
    registry, _ = gpu_registry(nvml)
    samples = scrape(registry)
    assert "mlvigil_gpu_temperature_celsius" not in names(samples)
    assert value(samples, "mlvigil_gpu_query_errors_total", gpu="0", query="temperature") == 1
    gpu0 = {"gpu": "0", "uuid": "GPU-aaaa", "name": "NVIDIA A100"}
    assert value(samples, "mlvigil_gpu_memory_total_bytes", **gpu0) == 16 << 30


def test_no_driver_exports_only_the_availability_series():
    nvml = FakeNvml([], init_error=LIBRARY_NOT_FOUND)
    registry, collector = gpu_registry(nvml)
    samples = scrape(registry)
    assert [(s.name, s.labels, s.value) for s in samples] == [
        ("mlvigil_gpu_available", {"reason": "library_not_found"}, 0.0)
    ]
    assert not collector.available
    assert collector.reason == "library_not_found"


def test_an_unknown_init_error_is_reported_as_init_failed():
    registry, _ = gpu_registry(FakeNvml([], init_error=UNKNOWN))
    assert [(s.name, s.labels) for s in scrape(registry)] == [
        ("mlvigil_gpu_available", {"reason": "init_failed"})
    ]


def test_no_gpus_exports_only_the_availability_series():
    registry, _ = gpu_registry(FakeNvml([]))
    assert [(s.name, s.labels, s.value) for s in scrape(registry)] == [
        ("mlvigil_gpu_available", {"reason": "no_devices"}, 0.0)
    ]


def test_without_pynvml_installed_gpu_metrics_say_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    registry, _ = gpu_registry(None)
    assert [(s.name, s.labels, s.value) for s in scrape(registry)] == [
        ("mlvigil_gpu_available", {"reason": "nvml_not_installed"}, 0.0)
    ]


def test_close_releases_nvml_once_and_turns_the_series_off():
    nvml = two_gpus()
    registry, collector = gpu_registry(nvml)
    collector.close()
    collector.close()
    assert nvml.shutdowns == 1
    assert [(s.name, s.labels) for s in scrape(registry)] == [
        ("mlvigil_gpu_available", {"reason": "closed"})
    ]
