"""Scrape cost of the host + GPU collectors (target: at most 2 ms per scrape without GPU).

A fresh ``CollectorRegistry`` holds only what ``register_host_metrics(registry,
process=False)`` puts there: the psutil host collector and the NVML GPU collector
(which, on a machine without a GPU, driver or ``pynvml``, exports its one availability
series). Per run, ``--scrapes`` back-to-back scrapes are timed with ``perf_counter``:

- ``scrape_ms``: ``prometheus_client.generate_latest(registry)``, i.e. what a
  ``/metrics`` request costs (reading psutil/NVML and encoding the text);
- ``collect_ms``: the collectors' ``collect()`` alone (reading, no encoding).

Each figure is the median over ``--runs`` runs of the mean per scrape in that run;
``runs_ms`` lists them. ``first_scrape_ms`` is the first scrape after registration
(cold caches, nothing amortised). Prints one JSON object; ``--output`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from _common import peak_rss_bytes
from mlvigil.telemetry.host import register_host_metrics

TARGET_MS = 2.0


def _per_call_ms(work: Callable[[], Any], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - started) / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=200, help="scrapes per run")
    parser.add_argument("--runs", type=int, default=7, help="timed runs (median)")
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    args = parser.parse_args()

    registry = CollectorRegistry()
    metrics = register_host_metrics(registry, process=False)
    collectors = [c for c in (metrics.host, metrics.gpu) if c is not None]

    first_scrape_ms = _per_call_ms(lambda: generate_latest(registry), 1)
    body = generate_latest(registry)

    def collect() -> None:
        for collector in collectors:
            list(collector.collect())

    scrape_runs, collect_runs = [], []
    for _ in range(args.runs):
        scrape_runs.append(_per_call_ms(lambda: generate_latest(registry), args.scrapes))
        collect_runs.append(_per_call_ms(collect, args.scrapes))

    scrape_ms = statistics.median(scrape_runs)
    lines = [line for line in body.decode().splitlines() if line and not line.startswith("#")]
    result = {
        "scrapes_per_run": args.scrapes,
        "runs": args.runs,
        "gpu_reason": None if metrics.gpu is None else metrics.gpu.reason,
        "series": len(lines),
        "body_bytes": len(body),
        "first_scrape_ms": round(first_scrape_ms, 4),
        "scrape_ms": round(scrape_ms, 4),
        "collect_ms": round(statistics.median(collect_runs), 4),
        "runs_ms": [round(ms, 4) for ms in scrape_runs],
        "target_ms": TARGET_MS,
        "within_target": scrape_ms <= TARGET_MS,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
