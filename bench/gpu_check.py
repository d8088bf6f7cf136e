"""Check the exported GPU series against ``nvidia-smi`` on a machine with a GPU.

Scrapes a registry holding only mlvigil's GPU collector (real ``pynvml``, so
``pip install 'mlvigil[gpu]'`` first), prints its GPU series, then asks ``nvidia-smi``
for the same values right after and compares them per GPU (matched by UUID):

- memory total: equal to 1 MiB (nvidia-smi prints MiB);
- memory used: NVML's used (total - free) against nvidia-smi's ``memory.used`` plus
  ``memory.reserved`` (drivers >= R510 show the driver's reserve apart), to 1% of the
  total, as allocations move between the two reads;
- temperature: 2 °C; power: 10% or 5 W; utilisation: 10 points (both are sampled
  by the driver, and a few milliseconds separate the two reads);
- per-process memory: the pids and MiB of ``--query-compute-apps``, to 1 MiB.

Prints one JSON object (the series, and per GPU each value from both sides with its
verdict). Exit code 0 when everything agrees, 1 when something does not, 2 when there
is nothing to check here: no ``pynvml``, no driver, no GPU or no ``nvidia-smi``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mlvigil.telemetry.gpu import GpuCollector

MIB = 1 << 20
GPU_FIELDS = (
    "uuid,memory.total,memory.used,memory.reserved,temperature.gpu,power.draw,utilization.gpu"
)


def _smi(query: str, fields: str) -> list[list[str]]:
    command = ["nvidia-smi", f"--query-{query}={fields}", "--format=csv,noheader,nounits"]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=30)
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(output.stdout))]


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None


def _compare(ours: float | None, theirs: float | None, tolerance: float) -> dict[str, Any]:
    """Both values and whether they agree; ``None`` when one side has no value."""
    agree = None if ours is None or theirs is None else abs(ours - theirs) <= tolerance
    return {"mlvigil": ours, "nvidia_smi": theirs, "tolerance": tolerance, "agree": agree}


def _compare_process(ours: float | None, theirs: float | None) -> dict[str, Any]:
    """A compute process nvidia-smi lists with its memory must be exported too.

    Ours without theirs is no disagreement: nvidia-smi's compute-apps query leaves out
    graphics processes, which mlvigil exports.
    """
    compared = _compare(ours, theirs, 1.0)
    if ours is None and theirs is not None:
        compared["agree"] = False
    return compared


def _gpu_rows() -> list[list[str]]:
    try:
        return _smi("gpu", GPU_FIELDS)
    except subprocess.CalledProcessError:  # drivers before R510: no memory.reserved
        rows = _smi("gpu", GPU_FIELDS.replace("memory.reserved,", ""))
        return [[*row[:3], "0", *row[3:]] for row in rows]


def main() -> int:
    collector = GpuCollector()
    if not collector.available:
        print(f"gpu_check: no GPU to check here (NVML: {collector.reason})", file=sys.stderr)
        return 2
    if shutil.which("nvidia-smi") is None:
        print("gpu_check: NVML sees a GPU but nvidia-smi is not on PATH", file=sys.stderr)
        return 2
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    gpu_rows = _gpu_rows()
    app_rows = _smi("compute-apps", "pid,gpu_uuid,used_memory")
    collector.close()

    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    by_uuid: dict[str, dict[str, float]] = {}
    processes: dict[str, dict[str, float]] = {}
    for sample in samples:
        uuid = sample.labels.get("uuid")
        if uuid is None:
            continue
        if sample.name == "mlvigil_gpu_process_memory_used_bytes":
            processes.setdefault(uuid, {})[sample.labels["pid"]] = sample.value / MIB
        else:
            by_uuid.setdefault(uuid, {})[sample.name.removeprefix("mlvigil_gpu_")] = sample.value

    checks = []
    for uuid, total, used, reserved, celsius, watts, busy in gpu_rows:
        ours = by_uuid.get(uuid, {})
        total_mib = _number(total) or 0.0
        smi_used = _number(used)
        reserve = _number(reserved) or 0.0
        our_watts = ours.get("power_watts")
        smi_watts = _number(watts)
        smi_apps = {pid: _number(mib) for pid, app_uuid, mib in app_rows if app_uuid == uuid}
        our_apps = processes.get(uuid, {})
        checks.append(
            {
                "uuid": uuid,
                "exported": uuid in by_uuid,
                "memory_total_mib": _compare(
                    _mib(ours.get("memory_total_bytes")), _number(total), 1.0
                ),
                "memory_used_mib": _compare(
                    _mib(ours.get("memory_used_bytes")),
                    None if smi_used is None else smi_used + reserve,
                    0.01 * total_mib,
                ),
                "temperature_celsius": _compare(
                    ours.get("temperature_celsius"), _number(celsius), 2.0
                ),
                "power_watts": _compare(our_watts, smi_watts, max(5.0, 0.1 * (smi_watts or 0.0))),
                "utilization_percent": _compare(
                    _percent(ours.get("utilization_ratio")), _number(busy), 10.0
                ),
                "process_memory_mib": {
                    pid: _compare_process(our_apps.get(pid), smi_apps.get(pid))
                    for pid in sorted(set(our_apps) | set(smi_apps), key=int)
                },
            }
        )

    def verdicts(check: dict[str, Any]) -> list[bool | None]:
        found = [v["agree"] for v in check.values() if isinstance(v, dict) and "agree" in v]
        return found + [v["agree"] for v in check["process_memory_mib"].values()]

    agree = all(c["exported"] and False not in verdicts(c) for c in checks)
    series = [line for line in text.splitlines() if line and not line.startswith("#")]
    print(json.dumps({"agree": agree, "series": series, "gpus": checks}, indent=2))
    return 0 if agree else 1


def _mib(value: float | None) -> float | None:
    return None if value is None else value / MIB


def _percent(value: float | None) -> float | None:
    return None if value is None else value * 100


if __name__ == "__main__":
    sys.exit(main())
