"""Profiling benchmark: mlvigil.profile throughput, memory and profile size (and whylogs').

Prints one JSON object on stdout; progress goes to stderr. Every run happens in a fresh
interpreter and each figure is the median over runs. This process imports only the
standard library; the same file, run with ``--child``, is the measured child.

Usage: ``python bench/profile.py [--rows N] [--runs R] [--data-dir DIR] [--compare-whylogs]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import emit, peak_rss_bytes

BENCH_DIR = Path(__file__).resolve().parent
WHYLOGS_VENV = BENCH_DIR / ".venv-whylogs"
WHYLOGS_BASE_PYTHON = "python3.11"
WHYLOGS_REQUIREMENTS = ("whylogs==1.6.4", "pandas<3", "pyarrow")
WHYLOGS_STAMP = "mlvigil-bench-requirements.txt"

DATA_FILE = "profile.parquet"
SIDECAR_FILE = "profile-dataset.json"
DEFAULT_SEED = 20_240_615
# Bump whenever the generated data changes, so cached files are regenerated.
GENERATOR_VERSION = 1
#: Distinct values of the five string columns.
CARDINALITIES = (5, 50, 500, 5_000, 10_000)

Result = dict[str, Any]


class ChildError(RuntimeError):
    """A child process exited with a non-zero status."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- children


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def generate(directory: Path, rows: int, seed: int) -> Result:
    """Write (or reuse) 20 float64 and 5 string columns; return the path and parameters."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from datagen import NULL_FRACTION, NUMERIC_COLUMNS

    path, sidecar = directory / DATA_FILE, directory / SIDECAR_FILE
    parameters = {"rows": rows, "seed": seed, "generator_version": GENERATOR_VERSION}
    if path.is_file() and sidecar.is_file():
        cached: Result = json.loads(sidecar.read_text())
        if {key: cached.get(key) for key in parameters} == parameters:
            return cached | {"path": str(path)}
    directory.mkdir(parents=True, exist_ok=True)
    sidecar.unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {}
    for index, column in enumerate(NUMERIC_COLUMNS):
        mask = rng.random(rows) < NULL_FRACTION if column.nullable else None
        columns[f"num_{index:02d}"] = pa.array(column.sampler(rng, rows), mask=mask)
    for cardinality in CARDINALITIES:
        # Zipf-like shares (1 / rank): a few common values and a long tail, as in real data.
        weights = 1.0 / np.arange(1, cardinality + 1)
        codes = rng.choice(cardinality, size=rows, p=weights / weights.sum()).astype(np.int32)
        labels = pa.array([f"v{cardinality}_{i:05d}" for i in range(cardinality)])
        array = pa.DictionaryArray.from_arrays(pa.array(codes), labels).cast(pa.string())
        columns[f"str_{cardinality}"] = array
    table = pa.table(columns)
    pq.write_table(table, path)
    described = parameters | {"input_in_memory_bytes": table.nbytes, "columns": table.num_columns}
    sidecar.write_text(json.dumps(described, indent=2) + "\n")
    return described | {"path": str(path)}


def measure_mlvigil(path: str) -> Result:
    """Profile the Parquet file (read included), then the same table already in memory."""
    start = time.perf_counter()
    from mlvigil.profile import profile_table

    imported = time.perf_counter()
    baseline = _rss_bytes()
    profile = profile_table(path)
    finished = time.perf_counter()
    peak = peak_rss_bytes()
    size = len(profile.serialize())

    import pyarrow.parquet as pq

    table = pq.read_table(path)
    in_memory_start = time.perf_counter()
    profile_table(table)
    in_memory = time.perf_counter() - in_memory_start
    return {
        "import_seconds": imported - start,
        "seconds": finished - imported,
        "in_memory_seconds": in_memory,
        "peak_rss_bytes": peak,
        "peak_rss_growth_bytes": peak - baseline,
        "profile_bytes": size,
        "rows": profile.row_count,
        "columns": len(profile.columns),
    }


def measure_whylogs(path: str) -> Result:
    """``pandas.read_parquet`` then ``whylogs.log`` (whylogs' default schema), timed apart."""
    start = time.perf_counter()
    import pandas as pd
    import whylogs as why

    imported = time.perf_counter()
    baseline = _rss_bytes()
    frame = pd.read_parquet(path)
    read = time.perf_counter()
    view = why.log(frame).view()
    finished = time.perf_counter()
    peak = peak_rss_bytes()
    return {
        "version": why.__version__,
        "import_seconds": imported - start,
        "read_seconds": read - imported,
        "profile_seconds": finished - read,
        "seconds": finished - imported,
        "peak_rss_bytes": peak,
        "peak_rss_growth_bytes": peak - baseline,
        "profile_bytes": len(view.serialize()),
    }


def child(arguments: list[str]) -> None:
    kind = arguments[0]
    if kind != "generate":
        # This file is named like the standard library's ``profile`` module: keep it
        # from shadowing that module for the code being measured.
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
    if kind == "generate":
        emit(generate(Path(arguments[1]), int(arguments[2]), int(arguments[3])))
    elif kind == "mlvigil":
        emit(measure_mlvigil(arguments[1]))
    elif kind == "whylogs":
        emit(measure_whylogs(arguments[1]))
    else:
        raise SystemExit(f"unknown child {kind!r}")


# ---------------------------------------------------------------- parent


def run_child(command: list[str | Path], env: dict[str, str] | None = None) -> Result:
    """Run ``command`` and parse the JSON object on the last line of its stdout."""
    process = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    sys.stderr.write(process.stderr)
    if process.returncode != 0:
        lines = process.stderr.strip().splitlines()
        raise ChildError(lines[-1] if lines else f"exit status {process.returncode}")
    result: Result = json.loads(process.stdout.strip().splitlines()[-1])
    return result


def repeat(
    name: str, command: list[str | Path], runs: int, env: dict[str, str] | None = None
) -> list[Result]:
    results = []
    for index in range(1, runs + 1):
        log(f"{name}: run {index}/{runs}")
        started = time.perf_counter()
        results.append(run_child(command, env))
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


def check_call(command: list[str | Path]) -> None:
    """Run a setup command, sending its output to stderr."""
    if subprocess.run(command, stdout=sys.stderr, check=False).returncode != 0:
        raise ChildError(f"command failed: {' '.join(map(str, command))}")


def whylogs_python() -> Path:
    """Create ``bench/.venv-whylogs`` if needed and return its interpreter."""
    python = WHYLOGS_VENV / "bin" / "python"
    stamp = WHYLOGS_VENV / WHYLOGS_STAMP
    requirements = "\n".join(WHYLOGS_REQUIREMENTS)
    if stamp.is_file() and stamp.read_text() == requirements:
        return python
    if not python.exists():
        log(f"whylogs: creating {WHYLOGS_VENV}")
        check_call([WHYLOGS_BASE_PYTHON, "-m", "venv", WHYLOGS_VENV])
    log(f"whylogs: installing {', '.join(WHYLOGS_REQUIREMENTS)}")
    check_call([python, "-m", "pip", "install", "--quiet", *WHYLOGS_REQUIREMENTS])
    stamp.write_text(requirements)
    return python


MLVIGIL_KEYS = (
    "seconds",
    "in_memory_seconds",
    "import_seconds",
    "peak_rss_bytes",
    "peak_rss_growth_bytes",
    "profile_bytes",
)
WHYLOGS_KEYS = (
    "seconds",
    "read_seconds",
    "profile_seconds",
    "import_seconds",
    "peak_rss_bytes",
    "peak_rss_growth_bytes",
    "profile_bytes",
)


def measure(dataset: Result, runs: int, compare_whylogs: bool) -> Result:
    path = dataset["path"]
    this = Path(__file__).resolve()
    mlvigil = medians(
        repeat("mlvigil", [sys.executable, this, "--child", "mlvigil", path], runs), MLVIGIL_KEYS
    )
    report: Result = {"mlvigil": mlvigil}
    if compare_whylogs:
        try:
            # No usage statistics sent from the benchmark.
            env = os.environ | {"WHYLOGS_NO_ANALYTICS": "True"}
            command: list[str | Path] = [whylogs_python(), this, "--child", "whylogs", path]
            results = repeat("whylogs", command, runs, env)
            report["whylogs"] = medians(results, WHYLOGS_KEYS) | {"version": results[0]["version"]}
        except ChildError as error:
            log(f"whylogs: failed: {error}")
            report["whylogs"] = {"error": str(error)}
    return report


def summary(dataset: Result, report: Result) -> Result:
    rows, mlvigil = dataset["rows"], report["mlvigil"]
    input_bytes = dataset["input_in_memory_bytes"]
    figures: Result = {
        "rows": rows,
        "columns": dataset["columns"],
        "input_in_memory_bytes": input_bytes,
        "mlvigil_rows_per_second": ratio(rows, mlvigil["seconds"]),
        "mlvigil_in_memory_rows_per_second": ratio(rows, mlvigil["in_memory_seconds"]),
        "mlvigil_seconds": mlvigil["seconds"],
        "mlvigil_peak_rss_bytes": mlvigil["peak_rss_bytes"],
        "mlvigil_peak_rss_growth_bytes": mlvigil["peak_rss_growth_bytes"],
        "peak_rss_growth_vs_input": ratio(mlvigil["peak_rss_growth_bytes"], input_bytes),
        "mlvigil_profile_bytes": mlvigil["profile_bytes"],
    }
    whylogs = report.get("whylogs")
    if whylogs is not None:
        figures |= {
            "whylogs_rows_per_second": ratio(rows, whylogs.get("seconds")),
            "whylogs_profile_only_rows_per_second": ratio(rows, whylogs.get("profile_seconds")),
            "whylogs_peak_rss_growth_bytes": whylogs.get("peak_rss_growth_bytes"),
            "whylogs_profile_bytes": whylogs.get("profile_bytes"),
            # Read + profile against read + profile; and profiling alone on both sides.
            "speedup_vs_whylogs": ratio(whylogs.get("seconds"), mlvigil["seconds"]),
            "speedup_vs_whylogs_profile_only": ratio(
                whylogs.get("profile_seconds"), mlvigil["in_memory_seconds"]
            ),
        }
    return figures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / ".data" / "profile")
    parser.add_argument(
        "--compare-whylogs",
        action="store_true",
        help=f"also time whylogs 1.6.4 (in {WHYLOGS_VENV.name})",
    )
    args = parser.parse_args()
    if args.runs < 1 or args.rows < 1:
        parser.error("--rows and --runs must be positive")
    return args


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    args = parse_args()
    log(f"dataset: {args.rows:,} rows in {args.data_dir} (reused when cached)")
    this = Path(__file__).resolve()
    command: list[str | Path] = [sys.executable, this, "--child", "generate"]
    dataset = run_child([*command, args.data_dir.resolve(), str(args.rows), str(args.seed)])
    report = measure(dataset, args.runs, args.compare_whylogs)
    print(
        json.dumps(
            {
                "parameters": {
                    "rows": args.rows,
                    "runs": args.runs,
                    "compare_whylogs": args.compare_whylogs,
                    "dataset": dataset,
                },
                "machine": {"cpu_count": os.cpu_count(), "python": sys.version.split()[0]},
                "summary": summary(dataset, report),
                **report,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
