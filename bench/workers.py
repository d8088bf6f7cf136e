"""Child-process measurements for ``bench/drift.py``; each invocation is one run.

Usage: ``python bench/workers.py {floor,mlvigil} REFERENCE CURRENT``

Heavy imports happen inside the measurement functions so that each run's import cost
and peak RSS belong to the code being measured.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from _common import emit, peak_rss_bytes


def _read_and_sort(reference: str, current: str, workers: int) -> list[Any]:
    """Read both files and sort every numeric column of both, on ``workers`` threads."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(reference), pq.read_table(current)]
    columns = [
        table.column(field.name).to_numpy()
        for table in tables
        for field in table.schema
        if pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
    ]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(np.sort, columns))
    return tables


def measure_floor(reference: str, current: str, workers: int = 1) -> dict[str, Any]:
    """Read both files with pyarrow and sort every numeric column once, serially."""
    start = time.perf_counter()
    tables = _read_and_sort(reference, current, workers)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_bytes": peak_rss_bytes(),
        "input_in_memory_bytes": sum(table.nbytes for table in tables),
    }


def measure_mlvigil(reference: str, current: str) -> dict[str, Any]:
    """Time ``import mlvigil`` and ``detect_drift(reference, current)`` separately."""
    start = time.perf_counter()
    from mlvigil import detect_drift

    imported = time.perf_counter()
    report = detect_drift(reference, current)
    finished = time.perf_counter()
    peak_rss = peak_rss_bytes()
    return {
        "import_seconds": imported - start,
        "seconds": finished - imported,
        "peak_rss_bytes": peak_rss,
        "dataset_drift": bool(report.dataset_drift),
        "number_of_drifted_columns": int(report.number_of_drifted_columns),
        "drift_share": float(report.drift_share),
        "columns": {
            column.column: {"method": column.method, "drifted": bool(column.drifted)}
            for column in report
        },
    }


def measure_floor_parallel(reference: str, current: str) -> dict[str, Any]:
    """The floor's work spread over every core, as mlvigil spreads its own."""
    return measure_floor(reference, current, workers=os.cpu_count() or 1)


MEASUREMENTS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "floor": measure_floor,
    "floor_parallel": measure_floor_parallel,
    "mlvigil": measure_mlvigil,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Run one benchmark measurement.")
    parser.add_argument("measurement", choices=sorted(MEASUREMENTS))
    parser.add_argument("reference")
    parser.add_argument("current")
    args = parser.parse_args()
    emit(MEASUREMENTS[args.measurement](args.reference, args.current))


if __name__ == "__main__":
    main()
