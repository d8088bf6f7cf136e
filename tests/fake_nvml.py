"""A stand-in for ``pynvml`` (the machines running the tests have no GPU).

Only the slice of NVML that :class:`mlvigil.telemetry.gpu.GpuCollector` calls, over a
list of fake GPUs whose queries can be made to fail or to be unsupported.
"""

from types import SimpleNamespace


class NVMLError(Exception):
    def __init__(self, value):
        super().__init__(value)
        self.value = value


UNKNOWN, NOT_SUPPORTED, LIBRARY_NOT_FOUND = 999, 3, 12


class FakeGpu:
    def __init__(self, uuid, name, *, fail=(), unsupported=(), processes=(), graphics=()):
        self.uuid, self.name = uuid, name
        self.fail, self.unsupported = set(fail), set(unsupported)
        self.processes, self.graphics = list(processes), list(graphics)

    def answer(self, query, result):
        if query in self.fail:
            raise NVMLError(UNKNOWN)
        if query in self.unsupported:
            raise NVMLError(NOT_SUPPORTED)
        return result


class FakeNvml:
    """The slice of pynvml the collector uses, over a list of fake GPUs.

    Each GPU reports 37% utilisation, 12% memory utilisation, 3 of 16 GiB used, 61 °C
    and 70.25 W.
    """

    NVMLError = NVMLError

    def __init__(self, gpus, *, init_error=None):
        self.gpus, self.init_error = gpus, init_error
        self.inits = self.shutdowns = 0

    def nvmlInit(self):  # noqa: N802
        self.inits += 1
        if self.init_error is not None:
            raise NVMLError(self.init_error)

    def nvmlShutdown(self):  # noqa: N802
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):  # noqa: N802
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):  # noqa: N802
        return self.gpus[index].answer("handle", self.gpus[index])

    def nvmlDeviceGetUUID(self, gpu):  # noqa: N802
        return gpu.uuid

    def nvmlDeviceGetName(self, gpu):  # noqa: N802
        return gpu.name.encode()  # old pynvml versions return bytes

    def nvmlDeviceGetUtilizationRates(self, gpu):  # noqa: N802
        return gpu.answer("utilization", SimpleNamespace(gpu=37, memory=12))

    def nvmlDeviceGetMemoryInfo(self, gpu):  # noqa: N802
        return gpu.answer("memory", SimpleNamespace(total=16 << 30, used=3 << 30, free=13 << 30))

    def nvmlDeviceGetTemperature(self, gpu, sensor):  # noqa: N802
        assert sensor == 0  # NVML_TEMPERATURE_GPU
        return gpu.answer("temperature", 61)

    def nvmlDeviceGetPowerUsage(self, gpu):  # noqa: N802
        return gpu.answer("power", 70_250)  # milliwatts

    def nvmlDeviceGetComputeRunningProcesses(self, gpu):  # noqa: N802
        return gpu.answer("processes", gpu.processes)

    def nvmlDeviceGetGraphicsRunningProcesses(self, gpu):  # noqa: N802
        return gpu.answer("processes", gpu.graphics)


def proc(pid, used):
    """A process as NVML lists it; ``used=None`` when NVML cannot tell its memory."""
    return SimpleNamespace(pid=pid, usedGpuMemory=used)
