"""Drift benchmark: mlvigil vs. a read-and-sort floor (and optionally Evidently).

Prints one JSON object on stdout; progress goes to stderr. Every run of every
measurement happens in a fresh interpreter, and each figure is the median over runs.
This process imports only the standard library so that it stays small.

Usage: ``python bench/drift.py [--rows N] [--runs R] [--data-dir DIR] [--compare-evidently]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
EVIDENTLY_VENV = BENCH_DIR / ".venv-evidently"
EVIDENTLY_BASE_PYTHON = "python3.11"
EVIDENTLY_REQUIREMENTS = ("evidently==0.7.23", "pandas<3", "pyarrow")
EVIDENTLY_STAMP = "mlvigil-bench-requirements.txt"
REPORTED_PACKAGES = ("numpy", "pyarrow", "scipy", "pandas", "polars", "mlvigil")

Result = dict[str, Any]


class ChildError(RuntimeError):
    """A child process exited with a non-zero status."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_child(command: list[str | Path]) -> Result:
    """Run ``command`` and parse the JSON object on the last line of its stdout."""
    process = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stderr.write(process.stderr)
    if process.returncode != 0:
        lines = process.stderr.strip().splitlines()
        raise ChildError(lines[-1] if lines else f"exit status {process.returncode}")
    result: Result = json.loads(process.stdout.strip().splitlines()[-1])
    return result


def repeat(name: str, command: list[str | Path], runs: int) -> list[Result]:
    results = []
    for index in range(1, runs + 1):
        log(f"{name}: run {index}/{runs}")
        started = time.perf_counter()
        results.append(run_child(command))
        log(f"{name}: run {index}/{runs} done in {time.perf_counter() - started:.1f}s")
    return results


def medians(results: list[Result], keys: tuple[str, ...]) -> Result:
    """Per-key (low) medians plus the raw per-run values of those keys."""
    runs = [{key: result[key] for key in keys} for result in results]
    return {key: statistics.median_low(run[key] for run in runs) for key in keys} | {"runs": runs}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def make_dataset(data_dir: Path, rows: int) -> Result:
    log(f"dataset: {rows:,} rows in {data_dir} (reused when cached)")
    return run_child([sys.executable, BENCH_DIR / "datagen.py", data_dir, "--rows", str(rows)])


def measure_floor(dataset: Result, runs: int, name: str = "floor") -> Result:
    command = [sys.executable, BENCH_DIR / "workers.py", name]
    results = repeat(name, [*command, dataset["reference"], dataset["current"]], runs)
    floor = medians(results, ("seconds", "peak_rss_bytes"))
    floor["input_in_memory_bytes"] = results[0]["input_in_memory_bytes"]
    return floor


def measure_mlvigil(dataset: Result, runs: int) -> Result:
    command = [sys.executable, BENCH_DIR / "workers.py", "mlvigil"]
    try:
        results = repeat("mlvigil", [*command, dataset["reference"], dataset["current"]], runs)
    except ChildError as error:
        log(f"mlvigil: failed: {error}")
        return {"error": str(error)}
    drift_keys = ("dataset_drift", "number_of_drifted_columns", "drift_share", "columns")
    return medians(results, ("import_seconds", "seconds", "peak_rss_bytes")) | {
        key: results[0][key] for key in drift_keys
    }


def check_call(command: list[str | Path]) -> None:
    """Run a setup command, sending its output to stderr."""
    if subprocess.run(command, stdout=sys.stderr, check=False).returncode != 0:
        raise ChildError(f"command failed: {' '.join(map(str, command))}")


def evidently_python() -> Path:
    """Create ``bench/.venv-evidently`` if needed and return its interpreter."""
    python = EVIDENTLY_VENV / "bin" / "python"
    stamp = EVIDENTLY_VENV / EVIDENTLY_STAMP
    requirements = "\n".join(EVIDENTLY_REQUIREMENTS)
    if stamp.is_file() and stamp.read_text() == requirements:
        return python
    if not python.exists():
        log(f"evidently: creating {EVIDENTLY_VENV}")
        check_call([EVIDENTLY_BASE_PYTHON, "-m", "venv", EVIDENTLY_VENV])
    log(f"evidently: installing {', '.join(EVIDENTLY_REQUIREMENTS)}")
    check_call([python, "-m", "pip", "install", "--quiet", *EVIDENTLY_REQUIREMENTS])
    stamp.write_text(requirements)
    return python


def measure_evidently(dataset: Result, runs: int) -> Result:
    try:
        command = [evidently_python(), BENCH_DIR / "evidently_run.py"]
        results = repeat("evidently", [*command, dataset["reference"], dataset["current"]], runs)
    except ChildError as error:
        log(f"evidently: failed: {error}")
        return {"error": str(error)}
    details = ("versions", "dataset_drift", "number_of_drifted_columns", "drift_share", "columns")
    return medians(results, ("read_seconds", "run_seconds", "seconds", "peak_rss_bytes")) | {
        key: results[0][key] for key in details
    }


def installed_version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def machine() -> Result:
    return {
        "cpu_count": os.cpu_count(),
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": {package: installed_version(package) for package in REPORTED_PACKAGES},
    }


def summary(
    floor: Result, floor_parallel: Result, mlvigil: Result, evidently: Result | None
) -> Result:
    input_bytes = floor["input_in_memory_bytes"]
    figures: Result = {
        "input_in_memory_bytes": input_bytes,
        "floor_seconds": floor["seconds"],
        "floor_parallel_seconds": floor_parallel["seconds"],
        "mlvigil_seconds": mlvigil.get("seconds"),
        "mlvigil_peak_rss_bytes": mlvigil.get("peak_rss_bytes"),
        "mlvigil_vs_floor": ratio(mlvigil.get("seconds"), floor["seconds"]),
        "mlvigil_vs_floor_parallel": ratio(mlvigil.get("seconds"), floor_parallel["seconds"]),
        "peak_rss_vs_input": ratio(mlvigil.get("peak_rss_bytes"), input_bytes),
    }
    if evidently is not None:
        figures |= {
            "evidently_seconds": evidently.get("seconds"),
            "evidently_run_only_seconds": evidently.get("run_seconds"),
            "evidently_peak_rss_bytes": evidently.get("peak_rss_bytes"),
            "speedup_vs_evidently": ratio(evidently.get("seconds"), mlvigil.get("seconds")),
        }
    return figures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / ".data")
    parser.add_argument(
        "--compare-evidently",
        action="store_true",
        help=f"also time Evidently's DataDriftPreset (in {EVIDENTLY_VENV.name})",
    )
    args = parser.parse_args()
    if args.runs < 1 or args.rows < 1:
        parser.error("--rows and --runs must be positive")
    return args


def main() -> None:
    args = parse_args()
    dataset = make_dataset(args.data_dir.resolve(), args.rows)
    floor = measure_floor(dataset, args.runs)
    floor_parallel = measure_floor(dataset, args.runs, "floor_parallel")
    mlvigil = measure_mlvigil(dataset, args.runs)
    evidently = measure_evidently(dataset, args.runs) if args.compare_evidently else None
    report: Result = {
        "parameters": {
            "rows": args.rows,
            "runs": args.runs,
            "compare_evidently": args.compare_evidently,
            "dataset": dataset,
        },
        "machine": machine(),
        "summary": summary(floor, floor_parallel, mlvigil, evidently),
        "floor": floor,
        "floor_parallel": floor_parallel,
        "mlvigil": mlvigil,
    }
    if evidently is not None:
        report["evidently"] = evidently
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
