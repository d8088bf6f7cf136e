"""Host metrics read at scrape time: CPU, memory, disk and network I/O, filesystem, load.

:class:`HostCollector` is a ``prometheus_client`` custom collector: every scrape reads
``psutil`` (``/proc`` on Linux) once and nothing runs between scrapes or in the request
path. The process itself (CPU seconds, resident memory, open files) is already exported
as ``process_*`` by prometheus-client's ``ProcessCollector``, so it is not repeated here;
:func:`register_host_metrics` adds a ``ProcessCollector`` to registries that lack one.

Names follow node_exporter's (the ones Grafana dashboards and alert rules already know)
under an ``mlvigil_host_`` prefix, in Prometheus conventions (base units in the name,
``_total`` counters):

- ``mlvigil_host_cpu_seconds_total`` (mode): CPU time of all cores by mode
  (``user``, ``system``, ``idle``, ``iowait`` ...). Guest time is left out because Linux
  already counts it in ``user``/``nice``, so the modes add up to the elapsed CPU time.
- ``mlvigil_host_cpu_utilization_ratio``: busy share (not idle, not iowait) of all cores
  since the collector's previous scrape (since its creation on the first), in [0, 1];
  absent until the kernel has counted some CPU time (a clock tick) after creation.
  ``rate(mlvigil_host_cpu_seconds_total[5m])`` gives the same per mode over any window.
- ``mlvigil_host_logical_cpus``: logical CPUs, to normalise load and CPU seconds.
- ``mlvigil_host_memory_total_bytes``, ``..._available_bytes``, ``..._used_bytes``.
- ``mlvigil_host_disk_read_bytes_total``, ``..._written_bytes_total``,
  ``..._reads_completed_total``, ``..._writes_completed_total``: all whole disks
  (partitions are not counted twice).
- ``mlvigil_host_filesystem_size_bytes``, ``..._avail_bytes`` (available to unprivileged
  users), ``..._used_bytes`` (mountpoint): the filesystem holding the working directory,
  or the ``path`` you give.
- ``mlvigil_host_network_receive_bytes_total``, ``..._transmit_bytes_total``,
  ``..._receive_packets_total``, ``..._transmit_packets_total`` (device): per network
  interface, loopback excluded. Per interface rather than summed, so an interface that
  disappears does not look like a counter reset of the total.
- ``mlvigil_host_load1``, ``..._load5``, ``..._load15``: load averages (where the OS has
  them).
- ``mlvigil_host_collector_success`` (collector): 1 when that group was read on this
  scrape, 0 when the OS refused (its series are then absent); a scrape never fails.

Examples
--------
>>> from prometheus_client import CollectorRegistry, generate_latest
>>> registry = CollectorRegistry()
>>> metrics = register_host_metrics(registry, gpu=False)
>>> register_host_metrics(registry, gpu=False) is metrics
True
>>> b"mlvigil_host_memory_total_bytes" in generate_latest(registry)
True
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector

from mlvigil.telemetry.gpu import GpuCollector

__all__ = ["HostCollector", "HostMetrics", "register_host_metrics", "registered_host_metrics"]

_log = logging.getLogger("mlvigil.telemetry.host")

#: Counted inside ``user``/``nice`` by Linux; exporting them would count that time twice.
_GUEST_MODES = frozenset({"guest", "guest_nice"})
#: Not busy: what psutil's ``cpu_percent`` also leaves out.
_IDLE_MODES = frozenset({"idle", "iowait"})
_LOOPBACK = re.compile(r"lo\d*")
#: What the OS may raise while reading its counters; anything else is a bug to surface.
_READ_ERRORS = (OSError, RuntimeError, ValueError, NotImplementedError, psutil.Error)

_P = "mlvigil_host_"


def _mountpoint(path: Path) -> str:
    """The mount point of the filesystem holding ``path``."""
    current = path.resolve()
    while not os.path.ismount(current) and current != current.parent:
        current = current.parent
    return str(current)


class _Families:
    """The families of one scrape, built empty (``describe``) or with samples."""

    def __init__(self, mountpoint: str) -> None:
        self.mountpoint = mountpoint
        self.cpu_seconds = CounterMetricFamily(
            f"{_P}cpu_seconds", "CPU time of all cores by mode.", labels=["mode"]
        )
        self.cpu_utilization = GaugeMetricFamily(
            f"{_P}cpu_utilization_ratio",
            "Busy share of all CPUs since the previous scrape of this collector.",
        )
        self.logical_cpus = GaugeMetricFamily(f"{_P}logical_cpus", "Logical CPUs of the host.")
        self.memory = {
            field: GaugeMetricFamily(f"{_P}memory_{field}_bytes", f"Host memory {field}.")
            for field in ("total", "available", "used")
        }
        self.disk = {
            "read_bytes": CounterMetricFamily(f"{_P}disk_read_bytes", "Bytes read from all disks."),
            "write_bytes": CounterMetricFamily(
                f"{_P}disk_written_bytes", "Bytes written to all disks."
            ),
            "read_count": CounterMetricFamily(
                f"{_P}disk_reads_completed", "Reads completed on all disks."
            ),
            "write_count": CounterMetricFamily(
                f"{_P}disk_writes_completed", "Writes completed on all disks."
            ),
        }
        self.filesystem = {
            "total": GaugeMetricFamily(
                f"{_P}filesystem_size_bytes", "Filesystem size.", labels=["mountpoint"]
            ),
            "free": GaugeMetricFamily(
                f"{_P}filesystem_avail_bytes",
                "Filesystem space available to unprivileged users.",
                labels=["mountpoint"],
            ),
            "used": GaugeMetricFamily(
                f"{_P}filesystem_used_bytes", "Filesystem space used.", labels=["mountpoint"]
            ),
        }
        self.network = {
            "bytes_recv": CounterMetricFamily(
                f"{_P}network_receive_bytes", "Bytes received.", labels=["device"]
            ),
            "bytes_sent": CounterMetricFamily(
                f"{_P}network_transmit_bytes", "Bytes sent.", labels=["device"]
            ),
            "packets_recv": CounterMetricFamily(
                f"{_P}network_receive_packets", "Packets received.", labels=["device"]
            ),
            "packets_sent": CounterMetricFamily(
                f"{_P}network_transmit_packets", "Packets sent.", labels=["device"]
            ),
        }
        self.load = {
            minutes: GaugeMetricFamily(f"{_P}load{minutes}", f"{minutes}-minute load average.")
            for minutes in (1, 5, 15)
        }
        self.success = GaugeMetricFamily(
            f"{_P}collector_success",
            "Whether this group of host metrics was read on this scrape.",
            labels=["collector"],
        )

    def all(self) -> Iterator[Metric]:
        yield self.cpu_seconds
        yield self.cpu_utilization
        yield self.logical_cpus
        yield from self.memory.values()
        yield from self.disk.values()
        yield from self.filesystem.values()
        yield from self.network.values()
        yield from self.load.values()
        yield self.success


class HostCollector:
    """Host CPU, memory, disk, filesystem, network and load, read at every scrape.

    Parameters
    ----------
    path
        A path on the filesystem whose usage to export; the working directory at
        construction when omitted.

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry
    >>> registry = CollectorRegistry()
    >>> registry.register(HostCollector())
    >>> registry.get_sample_value("mlvigil_host_collector_success", {"collector": "memory"})
    1.0
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._mountpoint = _mountpoint(Path.cwd() if path is None else Path(path))
        self._lock = threading.Lock()
        self._previous: tuple[float, float] | None = None
        self._ratio: float | None = None
        # Unreadable now: the first scrape then reports utilisation since boot.
        with contextlib.suppress(*_READ_ERRORS):
            self._previous = self._busy_and_total(psutil.cpu_times())

    @property
    def mountpoint(self) -> str:
        """The mount point whose filesystem usage is exported."""
        return self._mountpoint

    def describe(self) -> Iterable[Metric]:
        """The families :meth:`collect` yields, without samples (for the registry)."""
        return list(_Families(self._mountpoint).all())

    def collect(self) -> Iterable[Metric]:
        """Read the host's counters now and return them as metric families."""
        families = _Families(self._mountpoint)
        groups: dict[str, Callable[[_Families], None]] = {
            "cpu": self._cpu,
            "memory": self._memory,
            "disk": self._disk,
            "filesystem": self._filesystem,
            "network": self._network,
            "load": self._load,
        }
        for name, read in groups.items():
            try:
                read(families)
            except _READ_ERRORS as error:
                # Leave this group out of the scrape rather than fail all of /metrics.
                _log.debug("host metrics group %s unreadable: %s", name, error)
                families.success.add_metric([name], 0.0)
            else:
                families.success.add_metric([name], 1.0)
        return list(families.all())

    @staticmethod
    def _busy_and_total(times: Any) -> tuple[float, float]:
        modes = {k: v for k, v in times._asdict().items() if k not in _GUEST_MODES}
        total = sum(modes.values())
        return total - sum(modes.get(k, 0.0) for k in _IDLE_MODES), total

    def _cpu(self, families: _Families) -> None:
        times = psutil.cpu_times()
        for mode, seconds in times._asdict().items():
            if mode not in _GUEST_MODES:
                families.cpu_seconds.add_metric([mode], seconds)
        busy, total = self._busy_and_total(times)
        with self._lock:
            before_busy, before_total = self._previous or (0.0, 0.0)
            elapsed = total - before_total
            # Two scrapes within one clock tick see no elapsed time: keep the last ratio.
            if elapsed > 0:
                self._ratio = min(1.0, max(0.0, (busy - before_busy) / elapsed))
                self._previous = (busy, total)
            ratio = self._ratio
        if ratio is not None:
            families.cpu_utilization.add_metric([], ratio)
        cpus = psutil.cpu_count()
        if cpus:
            families.logical_cpus.add_metric([], cpus)

    @staticmethod
    def _memory(families: _Families) -> None:
        memory = psutil.virtual_memory()
        for field, family in families.memory.items():
            family.add_metric([], getattr(memory, field))

    @staticmethod
    def _disk(families: _Families) -> None:
        counters = psutil.disk_io_counters()
        if counters is None:  # no disks visible (some containers)
            return
        for field, family in families.disk.items():
            family.add_metric([], getattr(counters, field))

    @staticmethod
    def _filesystem(families: _Families) -> None:
        usage = psutil.disk_usage(families.mountpoint)
        for field, family in families.filesystem.items():
            family.add_metric([families.mountpoint], getattr(usage, field))

    @staticmethod
    def _network(families: _Families) -> None:
        for device, counters in sorted(psutil.net_io_counters(pernic=True).items()):
            if _LOOPBACK.fullmatch(device):
                continue
            for field, family in families.network.items():
                family.add_metric([device], getattr(counters, field))

    @staticmethod
    def _load(families: _Families) -> None:
        # os.getloadavg rather than psutil's: on Windows psutil emulates it with a thread.
        if not hasattr(os, "getloadavg"):
            return
        for minutes, value in zip((1, 5, 15), os.getloadavg(), strict=True):
            families.load[minutes].add_metric([], value)


@dataclass(frozen=True)
class HostMetrics:
    """The collectors :func:`register_host_metrics` put on a registry.

    Attributes
    ----------
    host
        The host collector.
    gpu
        The GPU collector, or ``None`` when GPUs were not asked for.
    """

    host: HostCollector
    gpu: GpuCollector | None


_lock = threading.Lock()
_registered: weakref.WeakKeyDictionary[CollectorRegistry, HostMetrics] = weakref.WeakKeyDictionary()


def _has_process_metrics(registry: CollectorRegistry) -> bool:
    if registry is REGISTRY:
        return True  # prometheus-client registers its ProcessCollector there at import
    return registry.get_sample_value("process_start_time_seconds") is not None


def register_host_metrics(
    registry: CollectorRegistry | None = None,
    *,
    gpu: bool = True,
    process: bool = True,
    path: str | os.PathLike[str] | None = None,
    nvml: Any = None,
) -> HostMetrics:
    """Export host (and GPU) metrics from ``registry``, once.

    Calling it again on the same registry registers only what is still missing (the
    GPU collector, when asked for now and not before) and never removes anything.

    Parameters
    ----------
    registry
        Where to register; the global registry when omitted.
    gpu
        Also export GPU metrics through NVML (:class:`~mlvigil.telemetry.gpu.GpuCollector`).
        Without a GPU, a driver or ``pip install 'mlvigil[gpu]'``, that collector exports
        only ``mlvigil_gpu_available 0`` and why.
    process
        Add prometheus-client's ``ProcessCollector`` (``process_*``) when the registry
        has none (the global registry always has one).
    path
        Passed to :class:`HostCollector`: the filesystem whose usage is exported.
    nvml
        Passed to :class:`~mlvigil.telemetry.gpu.GpuCollector`: an NVML module to use
        instead of ``pynvml``.

    Returns
    -------
    The collectors now registered for host metrics on ``registry``.

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry
    >>> registry = CollectorRegistry()
    >>> metrics = register_host_metrics(registry, gpu=False)
    >>> metrics.gpu is None, registry.get_sample_value("mlvigil_host_logical_cpus") > 0
    (True, True)
    """
    target = REGISTRY if registry is None else registry
    with _lock:
        known = _registered.get(target)
        if known is None:
            if process and not _has_process_metrics(target):
                ProcessCollector(registry=target)
            host = HostCollector(path)
            target.register(host)
            known = HostMetrics(host=host, gpu=None)
        if gpu and known.gpu is None:
            collector = GpuCollector(nvml=nvml)
            target.register(collector)
            known = HostMetrics(host=known.host, gpu=collector)
        _registered[target] = known
        return known


def registered_host_metrics(registry: CollectorRegistry | None = None) -> HostMetrics | None:
    """What :func:`register_host_metrics` registered on ``registry``, if anything.

    Parameters
    ----------
    registry
        The registry; the global one when omitted.

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry
    >>> registered_host_metrics(CollectorRegistry()) is None
    True
    """
    target = REGISTRY if registry is None else registry
    with _lock:
        return _registered.get(target)
