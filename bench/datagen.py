"""Deterministic synthetic reference/current datasets for the drift benchmark.

Each dataset has 20 float64 columns ``num_00``..``num_19`` and 5 string categoricals
``cat_0``..``cat_4`` (10 values each). In the current dataset 6 numeric columns drift
(mean shift of 0.5 reference standard deviations or a 1.5x scale change) and 2 categoricals
get a 10-point frequency shift; everything else is drawn from the same distribution.

Usage: ``python bench/datagen.py DIR [--rows N] [--seed S]`` (prints the paths and
parameters as one JSON line).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DEFAULT_ROWS = 1_000_000
DEFAULT_SEED = 20_240_601
# Bump whenever the generated data changes, so cached files are regenerated.
GENERATOR_VERSION = 1

REFERENCE_FILE = "reference.parquet"
CURRENT_FILE = "current.parquet"
SIDECAR_FILE = "dataset.json"

NULL_FRACTION = 0.01
CATEGORY_COUNT = 10
CATEGORY_SHIFT = 0.10
MEAN_SHIFT_SIGMAS = 0.5
SCALE_FACTOR = 1.5

Sampler = Callable[[np.random.Generator, int], np.ndarray]
Drift = Literal["mean", "scale"]


@dataclass(frozen=True)
class NumericColumn:
    sampler: Sampler
    drift: Drift | None = None
    nullable: bool = False


NUMERIC_COLUMNS: tuple[NumericColumn, ...] = (
    NumericColumn(lambda rng, n: rng.normal(0.0, 1.0, n)),
    NumericColumn(lambda rng, n: rng.normal(50.0, 10.0, n), drift="mean"),
    NumericColumn(lambda rng, n: rng.lognormal(0.0, 0.5, n), nullable=True),
    NumericColumn(lambda rng, n: rng.uniform(-1.0, 1.0, n)),
    NumericColumn(lambda rng, n: rng.exponential(2.0, n), drift="scale"),
    NumericColumn(lambda rng, n: rng.gamma(2.0, 3.0, n)),
    NumericColumn(lambda rng, n: rng.standard_t(5.0, n)),
    NumericColumn(lambda rng, n: rng.lognormal(1.0, 0.75, n), drift="mean"),
    NumericColumn(lambda rng, n: rng.beta(2.0, 5.0, n)),
    NumericColumn(lambda rng, n: rng.normal(-3.0, 0.1, n)),
    NumericColumn(lambda rng, n: rng.uniform(0.0, 100.0, n), drift="scale", nullable=True),
    NumericColumn(lambda rng, n: rng.exponential(0.5, n)),
    NumericColumn(lambda rng, n: rng.weibull(1.5, n)),
    NumericColumn(lambda rng, n: rng.normal(1_000.0, 250.0, n), drift="mean"),
    NumericColumn(lambda rng, n: rng.laplace(0.0, 1.0, n)),
    NumericColumn(lambda rng, n: rng.chisquare(4.0, n)),
    NumericColumn(lambda rng, n: rng.gamma(0.5, 1.0, n), drift="mean"),
    NumericColumn(lambda rng, n: rng.logistic(5.0, 2.0, n)),
    NumericColumn(lambda rng, n: rng.pareto(3.0, n)),
    NumericColumn(lambda rng, n: rng.normal(0.0, 5.0, n)),
)
CATEGORICAL_COUNT = 5
DRIFTED_CATEGORICALS = frozenset({1, 3})


def _apply_drift(current: np.ndarray, reference: np.ndarray, drift: Drift) -> np.ndarray:
    if drift == "mean":
        return current + MEAN_SHIFT_SIGMAS * float(reference.std())
    center = float(reference.mean())
    return center + (current - center) * SCALE_FACTOR


def _numeric_array(values: np.ndarray, rng: np.random.Generator, nullable: bool) -> pa.Array:
    mask = rng.random(values.size) < NULL_FRACTION if nullable else None
    return pa.array(values, type=pa.float64(), mask=mask)


def _numeric_pair(
    column: NumericColumn, rng: np.random.Generator, rows: int
) -> tuple[pa.Array, pa.Array]:
    reference = column.sampler(rng, rows)
    current = column.sampler(rng, rows)
    if column.drift is not None:
        current = _apply_drift(current, reference, column.drift)
    return (
        _numeric_array(reference, rng, column.nullable),
        _numeric_array(current, rng, column.nullable),
    )


def _shifted(probabilities: np.ndarray) -> np.ndarray:
    """Move ``CATEGORY_SHIFT`` of probability mass onto the rarest category."""
    rarest = int(np.argmin(probabilities))
    others = np.ones_like(probabilities, dtype=bool)
    others[rarest] = False
    shifted = probabilities.copy()
    shifted[others] *= 1.0 - CATEGORY_SHIFT / probabilities[others].sum()
    shifted[rarest] += CATEGORY_SHIFT
    return shifted


def _categorical_array(
    rng: np.random.Generator, rows: int, probabilities: np.ndarray, labels: pa.Array
) -> pa.Array:
    codes = rng.choice(CATEGORY_COUNT, size=rows, p=probabilities).astype(np.int8)
    return pa.DictionaryArray.from_arrays(pa.array(codes), labels).cast(pa.string())


def _categorical_pair(index: int, rng: np.random.Generator, rows: int) -> tuple[pa.Array, pa.Array]:
    labels = pa.array([f"c{index}_v{value}" for value in range(CATEGORY_COUNT)])
    probabilities = rng.dirichlet(np.full(CATEGORY_COUNT, 5.0))
    current_probabilities = (
        _shifted(probabilities) if index in DRIFTED_CATEGORICALS else probabilities
    )
    return (
        _categorical_array(rng, rows, probabilities, labels),
        _categorical_array(rng, rows, current_probabilities, labels),
    )


def generate_tables(rows: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """Build the reference and current tables in memory."""
    rng = np.random.default_rng(seed)
    reference: dict[str, pa.Array] = {}
    current: dict[str, pa.Array] = {}
    for index, column in enumerate(NUMERIC_COLUMNS):
        name = f"num_{index:02d}"
        reference[name], current[name] = _numeric_pair(column, rng, rows)
    for index in range(CATEGORICAL_COUNT):
        name = f"cat_{index}"
        reference[name], current[name] = _categorical_pair(index, rng, rows)
    return pa.table(reference), pa.table(current)


def _parameters(rows: int, seed: int) -> dict[str, int]:
    return {"rows": rows, "seed": seed, "generator_version": GENERATOR_VERSION}


def _is_cached(directory: Path, parameters: dict[str, int]) -> bool:
    sidecar = directory / SIDECAR_FILE
    files_exist = all((directory / name).is_file() for name in (REFERENCE_FILE, CURRENT_FILE))
    if not (files_exist and sidecar.is_file()):
        return False
    cached: object = json.loads(sidecar.read_text())
    return cached == parameters


def make_dataset(
    directory: str | Path, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED
) -> tuple[Path, Path]:
    """Write (or reuse) ``reference.parquet`` and ``current.parquet`` in ``directory``.

    Existing files are reused when the JSON sidecar records the same rows, seed and
    generator version. Returns the reference and current paths.
    """
    directory = Path(directory)
    reference_path, current_path = directory / REFERENCE_FILE, directory / CURRENT_FILE
    parameters = _parameters(rows, seed)
    if _is_cached(directory, parameters):
        return reference_path, current_path
    directory.mkdir(parents=True, exist_ok=True)
    # Remove the sidecar first so an interrupted run is never mistaken for a complete one.
    (directory / SIDECAR_FILE).unlink(missing_ok=True)
    reference, current = generate_tables(rows, seed)
    pq.write_table(reference, reference_path)
    pq.write_table(current, current_path)
    (directory / SIDECAR_FILE).write_text(json.dumps(parameters, indent=2) + "\n")
    return reference_path, current_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    reference, current = make_dataset(args.directory, rows=args.rows, seed=args.seed)
    description = {"reference": str(reference), "current": str(current)}
    print(json.dumps(description | _parameters(args.rows, args.seed)))


if __name__ == "__main__":
    main()
