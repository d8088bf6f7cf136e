"""Spark benchmark: profile_dataframe on local[2] beside single-process profile_table and whylogs.

Prints one JSON object on stdout; progress goes to stderr. The data (25 columns: 20
float64, 5 strings of 5 to 10,000 Zipf-distributed values, as bench/profile.py) is
written once, seeded, as 1,000,000-row Parquet files under /tmp; the 1M, 3M and 10M
row scales read the first 1, 3 and 10 files. Every run is a fresh process and each
figure the median of the runs:

- ``single``: one Python process, ``pyarrow.dataset`` batches of 1,000,000 rows, each
  profiled with ``profile_table`` (two threads, one per core) and merged;
- ``spark``: ``profile_dataframe(spark.read.parquet(files))`` on ``local[2]`` (one
  Python task per core), Parquet reading included; Spark's start-up and a warm-up job
  on 1,000 rows (Python workers started, mlvigil imported in them) are timed apart;
- ``whylogs``: whylogs 1.6.4's ``collect_dataset_profile_view`` on the same DataFrame,
  in its own virtualenv (``--whylogs-venv``, created if missing; ``--skip-whylogs``);
- ``transfer_floor_seconds``: the same Spark read handing Arrow batches to Python
  tasks that only count rows, the floor of any Python profiler on Spark.

Memory: ``driver_python_peak_rss_bytes`` is the driver's Python process (where the
merged profiles live); ``jvm_peak_rss_bytes`` the Spark JVM, which in local mode is the
driver and the executor at once (its heap is capped by ``spark.driver.memory``);
``workers_peak_rss_bytes`` the sum over the Python worker processes.

Usage: ``python bench/spark.py [--scales 1,3,10] [--runs 3] [--skip-whylogs]``
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
DATA_DIR = Path("/tmp/mlvigil-bench-spark-data")
WHYLOGS_VENV = Path("/tmp/mlvigil-bench-whylogs-spark")
# whylogs 1.6.4 pins an old pyarrow, built against numpy 1.
WHYLOGS_REQUIREMENTS = ("whylogs[spark]==1.6.4", "pandas<3", "pyarrow", "numpy<2")
WHYLOGS_STAMP = "mlvigil-bench-requirements.txt"
FILE_ROWS = 1_000_000
DEFAULT_SEED = 20_261_203
GENERATOR_VERSION = 2
#: Rows per Parquet row group: ~20 MB groups, so Spark can split a file between cores.
ROW_GROUP_ROWS = 131_072
CARDINALITIES = (5, 50, 500, 5_000, 10_000)
SPARK_CONF = {
    "spark.master": "local[2]",
    "spark.driver.memory": "2g",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # 100,000-row Arrow batches (Spark's default is 10,000): less per-batch overhead.
    "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
}

Result = dict[str, Any]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- children


def generate(directory: Path, files: int, seed: int) -> Result:
    """Write (or reuse) ``files`` Parquet files of 1,000,000 rows each."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from datagen import NULL_FRACTION, NUMERIC_COLUMNS

    sidecar = directory / "dataset.json"
    parameters = {"file_rows": FILE_ROWS, "seed": seed, "generator_version": GENERATOR_VERSION}
    cached: Result = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    have = cached.get("files", 0) if all(cached.get(k) == v for k, v in parameters.items()) else 0
    directory.mkdir(parents=True, exist_ok=True)
    nbytes = cached.get("file_in_memory_bytes", 0) if have else 0
    for index in range(have, files):
        rng = np.random.default_rng([seed, index])
        columns: dict[str, pa.Array] = {}
        for number, column in enumerate(NUMERIC_COLUMNS):
            mask = rng.random(FILE_ROWS) < NULL_FRACTION if column.nullable else None
            columns[f"num_{number:02d}"] = pa.array(column.sampler(rng, FILE_ROWS), mask=mask)
        for cardinality in CARDINALITIES:
            weights = 1.0 / np.arange(1, cardinality + 1)
            codes = rng.choice(cardinality, size=FILE_ROWS, p=weights / weights.sum())
            labels = pa.array([f"v{cardinality}_{i:05d}" for i in range(cardinality)])
            array = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), labels)
            columns[f"str_{cardinality}"] = array.cast(pa.string())
        table = pa.table(columns)
        nbytes = table.nbytes
        pq.write_table(
            table, directory / f"part-{index:03d}.parquet", row_group_size=ROW_GROUP_ROWS
        )
        log(f"generated file {index + 1}/{files}")
    described = parameters | {
        "files": max(files, have),
        "columns": 25,
        "file_in_memory_bytes": nbytes,
        "file_parquet_bytes": (directory / "part-000.parquet").stat().st_size,
    }
    sidecar.write_text(json.dumps(described, indent=2) + "\n")
    return described


def _files(directory: str, count: int) -> list[str]:
    return [str(Path(directory) / f"part-{i:03d}.parquet") for i in range(count)]


def measure_single(directory: str, count: int) -> Result:
    """``pyarrow.dataset`` batches, each profiled with ``profile_table``, merged."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from mlvigil.profile import profile_table

    start = time.perf_counter()
    merged = None
    dataset = ds.dataset(_files(directory, count), format="parquet")
    # No read-ahead: memory stays one batch, as a task's does.
    for batch in dataset.to_batches(batch_size=FILE_ROWS, batch_readahead=0, fragment_readahead=0):
        profile = profile_table(pa.Table.from_batches([batch]))
        merged = profile if merged is None else merged.merge(profile)
    seconds = time.perf_counter() - start
    assert merged is not None
    return {
        "seconds": seconds,
        "rows": merged.row_count,
        "peak_rss_bytes": peak_rss_bytes(),
        "profile_bytes": len(merged.serialize()),
    }


def _spark_session(python: str) -> Any:
    os.environ["PYSPARK_PYTHON"] = python
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("mlvigil-bench")
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _descendants() -> list[tuple[int, str]]:
    """(pid, name) of every process below this one (read from /proc, no psutil needed)."""
    parents: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
        names[int(entry.name)] = name
    found, pending = [], [os.getpid()]
    while pending:
        for pid in parents.get(pending.pop(), []):
            found.append((pid, names[pid]))
            pending.append(pid)
    return found


def _peak(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _process_memory() -> Result:
    """Peak RSS (VmHWM) of the JVM and of the Python workers, children of this process."""
    jvm = workers = 0
    for pid, name in _descendants():
        if name == "java":
            jvm += _peak(pid)
        elif name.startswith("python"):
            workers += _peak(pid)
    return {"jvm_peak_rss_bytes": jvm, "workers_peak_rss_bytes": workers}


def measure_spark(directory: str, count: int) -> Result:
    import warnings

    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
    begin = time.perf_counter()
    spark = _spark_session(sys.executable)
    started = time.perf_counter()
    from mlvigil.spark import profile_dataframe

    frame = spark.read.parquet(*_files(directory, count))
    partitions = frame.rdd.getNumPartitions()
    warm = time.perf_counter()
    profile_dataframe(frame.limit(1000))  # starts the Python workers, imports mlvigil there
    start = time.perf_counter()
    profiles = profile_dataframe(frame)
    seconds = time.perf_counter() - start
    (profile,) = profiles.values()
    memory = _process_memory()
    # The floor: the same read and Arrow transfer to Python tasks that only count rows.
    import pyarrow as pa

    def count(batches: Any) -> Any:
        yield pa.RecordBatch.from_pydict({"n": [sum(b.num_rows for b in batches)]})

    floor_start = time.perf_counter()
    frame.mapInArrow(count, "n long").collect()
    floor = time.perf_counter() - floor_start
    spark.stop()
    return {
        "seconds": seconds,
        "startup_seconds": started - begin,
        "warmup_seconds": start - warm,
        "transfer_floor_seconds": floor,
        "rows": profile.row_count,
        "partitions": partitions,
        "profile_bytes": len(profile.serialize()),
        "driver_python_peak_rss_bytes": peak_rss_bytes(),
        **memory,
    }


def measure_whylogs(directory: str, count: int) -> Result:
    begin = time.perf_counter()
    spark = _spark_session(sys.executable)
    started = time.perf_counter()
    import whylogs
    from whylogs.api.pyspark.experimental import collect_dataset_profile_view

    frame = spark.read.parquet(*_files(directory, count))
    warm = time.perf_counter()
    collect_dataset_profile_view(frame.limit(1000))  # the same warm-up as mlvigil's
    start = time.perf_counter()
    view = collect_dataset_profile_view(frame)
    seconds = time.perf_counter() - start
    counts = view.get_column("num_00").get_metric("counts").to_summary_dict()
    memory = _process_memory()
    spark.stop()
    return {
        "version": whylogs.__version__,
        "seconds": seconds,
        "startup_seconds": started - begin,
        "warmup_seconds": start - warm,
        "rows": int(counts["n"]),
        "profile_bytes": len(view.serialize()),
        "driver_python_peak_rss_bytes": peak_rss_bytes(),
        **memory,
    }


def measure_sizes(directory: str, count: int) -> Result:
    """Bytes of one window's profile (25 columns) by rows per window: as one process
    builds it, and merged from 8 partitions as a Spark job builds it."""
    import pyarrow.parquet as pq

    from mlvigil.profile import ProfileConfig, profile_table

    table = pq.read_table(_files(directory, 1)[0])
    sizes: Result = {}
    for rows in (10_000, 100_000, 1_000_000):
        part = table.slice(0, rows)
        step = rows // 8
        pieces = [profile_table(part.slice(i * step, step), config=ProfileConfig(workers=1))
                  for i in range(8)]  # fmt: skip
        merged = pieces[0]
        for piece in pieces[1:]:
            merged = merged.merge(piece)
        sizes[str(rows)] = {
            "single_process_bytes": len(profile_table(part).serialize()),
            "merged_from_8_partitions_bytes": len(merged.serialize()),
        }
    return sizes


STORE_WINDOWS = 48


def measure_store(directory: str, count: int) -> Result:
    """Store growth per pushed window: a service (in process, as `mlvigil serve` runs
    it) takes 48 hourly profiles of 100,000 rows x 25 columns, each merged from 8
    partitions, evaluates each (drift, quality) and keeps profile and results."""
    import tempfile
    from datetime import UTC, datetime, timedelta

    import pyarrow.parquet as pq

    from mlvigil.profile import ProfileConfig, profile_table
    from mlvigil.service.config import load_service_config
    from mlvigil.service.monitor import MonitoringService
    from mlvigil.service.push import push_profile

    table = pq.read_table(_files(directory, 1)[0])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    names = table.column_names
    features = ", ".join(f"{n}: {'categorical' if n.startswith('str') else 'numerical'}"
                         for n in names[1:])  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        pq.write_table(table.slice(0, 100_000), root / "reference.parquet")
        (root / "mlvigil.yaml").write_text(
            "store: store.duckdb\nevaluation_interval: 3600\naccept: {max_age: 36500d}\n"
            "models:\n  m:\n    schema:\n"
            f"      features: {{{features}}}\n      prediction: {names[0]}\n      score: null\n"
            "    reference: {path: reference.parquet}\n    window: 1h\n"
            "    checks: {drift: {drift_share: 0.5}, "
            "quality: {completeness: {default_max_null_rate: 0.05}}}\n"
        )
        cwd = os.getcwd()
        os.chdir(root)
        service = MonitoringService(
            load_service_config(root / "mlvigil.yaml"), clock=lambda: start + timedelta(days=3)
        )
        config = service.model("m")

        def size() -> int:
            return sum(p.stat().st_size for p in root.glob("store.duckdb*"))

        service.evaluate("m", start - timedelta(hours=1), start)  # reference loaded
        before, profile_bytes = size(), 0
        for window in range(STORE_WINDOWS):
            rows = table.slice((window * 100_000) % 900_000, 100_000)
            pieces = [
                profile_table(rows.slice(i * 12_500, 12_500), config=ProfileConfig(workers=1))
                for i in range(8)
            ]
            merged = pieces[0]
            for piece in pieces[1:]:
                merged = merged.merge(piece)
            body = merged.serialize()
            profile_bytes += len(body)
            push_profile(service, config, body, start + timedelta(hours=window), "bench")
        service.close()
        after = size()
        os.chdir(cwd)
    per_window = (after - before) / STORE_WINDOWS
    return {
        "windows": STORE_WINDOWS,
        "store_bytes_before": before,
        "store_bytes_after": after,
        "store_bytes_per_window": per_window,
        "profile_bytes_per_window": profile_bytes / STORE_WINDOWS,
        "store_bytes_per_model_year_hourly": per_window * 24 * 365,
    }


def child(arguments: list[str]) -> None:
    kind = arguments[0]
    if kind == "generate":
        emit(generate(Path(arguments[1]), int(arguments[2]), int(arguments[3])))
        return
    # bench/profile.py is named like the standard library's profile module, which
    # PySpark imports (cProfile): keep this directory off the path of what is measured.
    # Spark's Python workers start in this process's directory (and put it on their path).
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
    os.chdir(arguments[1])
    measure = {
        "single": measure_single,
        "spark": measure_spark,
        "whylogs": measure_whylogs,
        "sizes": measure_sizes,
        "store": measure_store,
    }
    emit(measure[kind](arguments[1], int(arguments[2])))


# ---------------------------------------------------------------- parent


def run_child(command: list[str], env: dict[str, str] | None = None) -> Result:
    process = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if process.returncode != 0:
        sys.stderr.write(process.stderr[-4000:])
        raise RuntimeError(f"child {command[2:4]} failed with {process.returncode}")
    result: Result = json.loads(process.stdout.strip().splitlines()[-1])
    return result


def median_of(results: list[Result]) -> Result:
    numeric = [k for k, v in results[0].items() if isinstance(v, int | float)]
    summary: Result = {k: statistics.median_low(r[k] for r in results) for k in numeric}
    extra = {k: v for k, v in results[0].items() if k not in numeric}
    return summary | extra | {"runs": [{k: r[k] for k in numeric} for r in results]}


def repeat(name: str, command: list[str], runs: int, env: dict[str, str] | None = None) -> Result:
    results = []
    for index in range(runs):
        started = time.perf_counter()
        results.append(run_child(command, env))
        log(f"{name}: run {index + 1}/{runs} in {time.perf_counter() - started:.1f}s")
    return median_of(results)


def whylogs_python(venv: Path) -> Path:
    """The whylogs virtualenv's interpreter, created and filled if missing."""
    python = venv / "bin" / "python"
    stamp = venv / WHYLOGS_STAMP
    wanted = "\n".join(WHYLOGS_REQUIREMENTS)
    if stamp.is_file() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        log(f"whylogs: creating {venv}")
        subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    log(f"whylogs: installing {', '.join(WHYLOGS_REQUIREMENTS)}")
    pip = [str(python), "-m", "pip", "install", "--quiet", *WHYLOGS_REQUIREMENTS]
    subprocess.run(pip, check=True, stdout=sys.stderr)
    stamp.write_text(wanted)
    return python


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scales", default="1,3,10", help="millions of rows, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--whylogs-runs", type=int, default=None, help="default: --runs")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--whylogs-venv", type=Path, default=WHYLOGS_VENV)
    parser.add_argument("--skip-whylogs", action="store_true")
    args = parser.parse_args()
    scales = sorted(int(s) for s in args.scales.split(","))
    this = str(Path(__file__).resolve())
    log(f"data: {scales[-1]} files of {FILE_ROWS:,} rows in {args.data_dir} (reused when cached)")
    dataset = run_child([sys.executable, this, "--child", "generate", str(args.data_dir),
                         str(scales[-1]), str(args.seed)])  # fmt: skip
    sizes = run_child([sys.executable, this, "--child", "sizes", str(args.data_dir), "1"])
    store = run_child([sys.executable, this, "--child", "store", str(args.data_dir), "1"])
    load_before = os.getloadavg()
    whylogs = None if args.skip_whylogs else str(whylogs_python(args.whylogs_venv))
    env = os.environ | {"WHYLOGS_NO_ANALYTICS": "True"}
    by_scale: Result = {}
    for scale in scales:
        rows = scale * FILE_ROWS
        where = [str(args.data_dir), str(scale)]
        entry: Result = {"rows": rows}
        for name, python in (("single", sys.executable), ("spark", sys.executable)):
            entry[name] = repeat(f"{name} {scale}M", [python, this, "--child", name, *where],
                                 args.runs)  # fmt: skip
        if whylogs is not None:
            runs = args.whylogs_runs or args.runs
            command = [whylogs, this, "--child", "whylogs", *where]
            entry["whylogs"] = repeat(f"whylogs {scale}M", command, runs, env)
        for name in ("single", "spark", "whylogs"):
            if name in entry:
                entry[name]["rows_per_second"] = rows / entry[name]["seconds"]
        by_scale[f"{scale}M"] = entry
    largest = by_scale[f"{scales[-1]}M"]
    smallest = by_scale[f"{scales[0]}M"]
    spark_rate = largest["spark"]["rows_per_second"]
    single_rate = largest["single"]["rows_per_second"]
    whylogs_rate = largest.get("whylogs", {}).get("rows_per_second")
    growth = ratio(largest["spark"]["seconds"], smallest["spark"]["seconds"])
    summary = {
        "rows": largest["rows"],
        "columns": dataset["columns"],
        "spark_rows_per_second": spark_rate,
        "single_process_rows_per_second": single_rate,
        "whylogs_spark_rows_per_second": whylogs_rate,
        "spark_vs_single_process": ratio(spark_rate, single_rate),
        "spark_vs_whylogs": ratio(spark_rate, whylogs_rate),
        # Spark reading the Parquet and handing Arrow batches to Python tasks that only
        # count them: no profiler on Spark can be faster than this.
        "spark_transfer_floor_rows_per_second": largest["rows"]
        / largest["spark"]["transfer_floor_seconds"],
        "whylogs_vs_transfer_floor": ratio(
            whylogs_rate, largest["rows"] / largest["spark"]["transfer_floor_seconds"]
        ),
        "spark_seconds_by_scale": {k: v["spark"]["seconds"] for k, v in by_scale.items()},
        "spark_time_growth": growth,
        "rows_growth": ratio(largest["rows"], smallest["rows"]),
        "driver_python_peak_rss_bytes_by_scale": {
            k: v["spark"]["driver_python_peak_rss_bytes"] for k, v in by_scale.items()
        },
        "jvm_peak_rss_bytes_by_scale": {
            k: v["spark"]["jvm_peak_rss_bytes"] for k, v in by_scale.items()
        },
        "profile_bytes_by_scale": {k: v["spark"]["profile_bytes"] for k, v in by_scale.items()},
        "profile_bytes_per_window_by_rows": sizes,
        "store_growth": store,
        "targets": {
            "spark_at_least_half_of_single_process": (ratio(spark_rate, single_rate) or 0) >= 0.5,
            "spark_at_least_10x_whylogs": None
            if whylogs_rate is None
            else spark_rate >= 10 * whylogs_rate,
        },
    }
    print(
        json.dumps(
            {
                "parameters": {
                    "scales_millions": scales,
                    "runs": args.runs,
                    "whylogs_runs": None if whylogs is None else (args.whylogs_runs or args.runs),
                    "spark_conf": SPARK_CONF,
                    "dataset": dataset | {"path": str(args.data_dir)},
                },
                "machine": {
                    "cpu_count": os.cpu_count(),
                    "python": sys.version.split()[0],
                    # Other work on the machine slows every figure alike: shown, not hidden.
                    "load_average_before": load_before,
                    "load_average_after": os.getloadavg(),
                },
                "summary": summary,
                "by_scale": by_scale,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
