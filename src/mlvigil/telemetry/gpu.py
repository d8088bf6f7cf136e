"""GPU metrics read through NVML at scrape time (``pip install 'mlvigil[gpu]'``).

:class:`GpuCollector` is a ``prometheus_client`` custom collector over NVML, the library
behind ``nvidia-smi``, through the ``pynvml`` module of NVIDIA's ``nvidia-ml-py``
package. NVML is initialised once, when the collector is built; every scrape then asks
each GPU for its current values. Names follow the Prometheus conventions and the
OpenTelemetry ``hw.gpu.*`` semantics, under an ``mlvigil_gpu_`` prefix. Per GPU, with
the labels ``gpu`` (index), ``uuid`` and ``name``:

- ``mlvigil_gpu_utilization_ratio``: share of the last sample period in which a kernel
  ran (``utilization.gpu`` of nvidia-smi, as a ratio).
- ``mlvigil_gpu_memory_utilization_ratio``: share of it the memory was read or written.
- ``mlvigil_gpu_memory_used_bytes``, ``mlvigil_gpu_memory_total_bytes``.
- ``mlvigil_gpu_temperature_celsius``: core temperature.
- ``mlvigil_gpu_power_watts``: power draw.

And:

- ``mlvigil_gpu_process_memory_used_bytes`` (gpu, uuid, pid): GPU memory of each compute
  or graphics process, where NVML can tell (not under Windows WDDM). Inside a container
  the pids may be the host's.
- ``mlvigil_gpu_query_errors_total`` (gpu, query): NVML queries that failed. A failing
  query drops only its own series; the other values and GPUs are still exported. Values
  a GPU does not support (power on some boards) are simply absent.
- ``mlvigil_gpu_available`` (reason): 1 with reason ``ok`` when NVML works and sees a
  GPU. Otherwise 0 with the reason (``nvml_not_installed``, ``library_not_found``,
  ``driver_not_loaded``, ``no_permission``, ``init_failed``, ``no_devices``, or
  ``closed`` after :meth:`GpuCollector.close`), and it is the collector's only series:
  a machine without a GPU never errors a scrape.

Examples
--------
>>> from prometheus_client import CollectorRegistry
>>> registry = CollectorRegistry()
>>> collector = GpuCollector()
>>> registry.register(collector)
>>> available = registry.get_sample_value("mlvigil_gpu_available", {"reason": collector.reason})
>>> available == collector.available
True
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

__all__ = ["GpuCollector"]

_log = logging.getLogger("mlvigil.telemetry.gpu")

# NVML's C API constants (nvml.h); stable across driver versions, and fixed here so an
# injected module needs only the functions and its error class.
_TEMPERATURE_GPU = 0
_ERROR_NOT_SUPPORTED = 3
_ERROR_NO_PERMISSION = 4
_ERROR_DRIVER_NOT_LOADED = 9
_ERROR_LIBRARY_NOT_FOUND = 12
_INIT_REASONS = {
    _ERROR_LIBRARY_NOT_FOUND: "library_not_found",
    _ERROR_DRIVER_NOT_LOADED: "driver_not_loaded",
    _ERROR_NO_PERMISSION: "no_permission",
}

_DEVICE_LABELS = ["gpu", "uuid", "name"]


def _text(value: Any) -> str:
    """NVML strings: ``str`` from recent ``pynvml``, ``bytes`` from old ones."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _call(module: Any, function: str, *args: Any) -> Any:
    """``module.function(*args)``; a missing function fails like the call would."""
    return getattr(module, function)(*args)


@dataclass(frozen=True)
class _Device:
    handle: Any
    labels: list[str]


class _Families:
    def __init__(self) -> None:
        def device(name: str, documentation: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"mlvigil_gpu_{name}", documentation, labels=_DEVICE_LABELS)

        self.utilization = device("utilization_ratio", "Share of time a kernel ran.")
        self.memory_utilization = device(
            "memory_utilization_ratio", "Share of time GPU memory was read or written."
        )
        self.memory_used = device("memory_used_bytes", "GPU memory used.")
        self.memory_total = device("memory_total_bytes", "GPU memory installed.")
        self.temperature = device("temperature_celsius", "GPU core temperature.")
        self.power = device("power_watts", "GPU power draw.")
        self.process_memory = GaugeMetricFamily(
            "mlvigil_gpu_process_memory_used_bytes",
            "GPU memory used by a process.",
            labels=["gpu", "uuid", "pid"],
        )
        self.errors = CounterMetricFamily(
            "mlvigil_gpu_query_errors", "NVML queries that failed.", labels=["gpu", "query"]
        )

    def all(self) -> Iterator[Metric]:
        yield self.utilization
        yield self.memory_utilization
        yield self.memory_used
        yield self.memory_total
        yield self.temperature
        yield self.power
        yield self.process_memory
        yield self.errors


def _available(reason: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "mlvigil_gpu_available", "Whether NVML reports GPUs; why not.", labels=["reason"]
    )
    family.add_metric([reason], 1.0 if reason == "ok" else 0.0)
    return family


class GpuCollector:
    """Per-GPU utilisation, memory, temperature, power and process memory via NVML.

    Parameters
    ----------
    nvml
        The NVML module; ``pynvml`` is imported when omitted. Tests pass a fake with the
        same functions and an ``NVMLError`` class whose instances carry the NVML error
        code as ``value``.

    Notes
    -----
    NVML is initialised here, once; when that fails the collector exports only
    ``mlvigil_gpu_available 0`` and the reason, and does not try again. Call
    :meth:`close` to release NVML before the process ends (optional).
    """

    def __init__(self, nvml: Any = None) -> None:
        self._lock = threading.Lock()
        self._devices: dict[int, _Device] = {}
        self._errors: dict[tuple[str, str], int] = {}
        self._logged: set[tuple[str, str]] = set()
        self._count = 0
        self._nvml: Any = None
        self._reason = self._start(nvml)

    def _start(self, nvml: Any) -> str:
        if nvml is None:
            try:
                nvml = importlib.import_module("pynvml")
            except ImportError:
                _log.info("GPU metrics off: pip install 'mlvigil[gpu]' for NVML")
                return "nvml_not_installed"
        # Any failure here turns GPU metrics off; it must not stop the server starting.
        error_type = getattr(nvml, "NVMLError", Exception)
        try:
            nvml.nvmlInit()
        except Exception as error:
            code = getattr(error, "value", None) if isinstance(error, error_type) else None
            _log.info("GPU metrics off: NVML did not start (%r)", error)
            return (
                _INIT_REASONS.get(code, "init_failed") if isinstance(code, int) else "init_failed"
            )
        try:
            self._count = int(nvml.nvmlDeviceGetCount())
        except Exception as error:
            _log.warning("GPU metrics off: NVML cannot count GPUs (%r)", error)
            self._shutdown(nvml)
            return "init_failed"
        self._nvml = nvml
        return "ok" if self._count else "no_devices"

    @property
    def available(self) -> bool:
        """Whether NVML started and sees at least one GPU."""
        return self._reason == "ok"

    @property
    def reason(self) -> str:
        """``ok``, or why no GPU metrics are exported."""
        return self._reason

    def close(self) -> None:
        """Release NVML; later scrapes export only ``mlvigil_gpu_available 0``."""
        with self._lock:
            if self._nvml is not None:
                nvml, self._nvml = self._nvml, None
                self._reason = "closed"
                self._shutdown(nvml)

    @staticmethod
    def _shutdown(nvml: Any) -> None:
        try:
            nvml.nvmlShutdown()
        except Exception as error:  # releasing is best effort
            _log.warning("NVML shutdown failed: %r", error)

    def describe(self) -> Iterable[Metric]:
        """The families :meth:`collect` may yield, without samples (for the registry)."""
        return [_available("ok"), *_Families().all()]

    def collect(self) -> Iterable[Metric]:
        """Query every GPU now and return the metric families."""
        with self._lock:
            if self._nvml is None or not self._count:
                return [_available(self._reason)]
            families = _Families()
            for index in range(self._count):
                self._collect_device(index, families)
            for (gpu, query), count in sorted(self._errors.items()):
                families.errors.add_metric([gpu, query], count)
            return [_available("ok"), *families.all()]

    def _query(self, gpu: str, query: str, call: Callable[[], Any]) -> Any:
        """``call()``, or ``None`` when it fails: a scrape survives any NVML failure."""
        try:
            return call()
        except self._nvml.NVMLError as error:
            if getattr(error, "value", None) == _ERROR_NOT_SUPPORTED:
                return None  # a permanent property of this GPU, not a failure
            failure: Exception = error
        except Exception as error:  # an old pynvml, a ctypes surprise: counted, logged
            failure = error
        self._errors[gpu, query] = self._errors.get((gpu, query), 0) + 1
        if (gpu, query) not in self._logged:
            self._logged.add((gpu, query))
            _log.warning("NVML query %s failed on GPU %s: %r", query, gpu, failure)
        return None

    def _device(self, index: int) -> _Device | None:
        known = self._devices.get(index)
        if known is not None:
            return known
        nvml, gpu = self._nvml, str(index)

        def open_device() -> _Device:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            uuid = _text(nvml.nvmlDeviceGetUUID(handle))
            return _Device(handle, [gpu, uuid, _text(nvml.nvmlDeviceGetName(handle))])

        device: _Device | None = self._query(gpu, "device", open_device)
        if device is not None:  # a failure is retried on the next scrape
            self._devices[index] = device
        return device

    def _collect_device(self, index: int, families: _Families) -> None:
        device = self._device(index)
        if device is None:
            return
        nvml, handle, labels = self._nvml, device.handle, device.labels
        gpu = labels[0]
        rates = self._query(gpu, "utilization", lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
        if rates is not None:
            families.utilization.add_metric(labels, rates.gpu / 100)
            families.memory_utilization.add_metric(labels, rates.memory / 100)
        memory = self._query(gpu, "memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        if memory is not None:
            families.memory_used.add_metric(labels, memory.used)
            families.memory_total.add_metric(labels, memory.total)
        celsius = self._query(
            gpu, "temperature", lambda: nvml.nvmlDeviceGetTemperature(handle, _TEMPERATURE_GPU)
        )
        if celsius is not None:
            families.temperature.add_metric(labels, celsius)
        milliwatts = self._query(gpu, "power", lambda: nvml.nvmlDeviceGetPowerUsage(handle))
        if milliwatts is not None:
            families.power.add_metric(labels, milliwatts / 1000)
        used_by_pid: dict[int, int] = {}
        for kind in ("compute", "graphics"):
            function = f"nvmlDeviceGet{kind.capitalize()}RunningProcesses"
            listing = functools.partial(_call, nvml, function, handle)
            processes = self._query(gpu, f"{kind}_processes", listing)
            for process in processes or ():
                used = getattr(process, "usedGpuMemory", None)
                if used is not None:  # None: NVML cannot tell (WDDM)
                    # A process doing compute and graphics is listed twice, same memory.
                    used_by_pid[process.pid] = max(used, used_by_pid.get(process.pid, 0))
        for pid, used in sorted(used_by_pid.items()):
            families.process_memory.add_metric([gpu, labels[1], str(pid)], used)
