"""Write the bundled example data: a loan-approval model's inputs, before and after drift.

The current window differs from the reference in known ways, so a drift report on
it has a right answer: ``income`` shifts up by about half a standard deviation,
``loan_purpose`` gains a new category and loses share elsewhere, ``employment_years``
starts arriving with 15% missing values, and everything else is unchanged.

Run ``python examples/make_example_data.py`` to regenerate ``examples/data/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import csv

ROWS = 3_000
OUT = Path(__file__).parent / "data"
PURPOSES = ["car", "debt_consolidation", "education", "home", "medical", "business"]
REGIONS = ["north", "south", "east", "west"]


def _loans(rng: np.random.Generator, *, drifted: bool) -> pa.Table:
    income = rng.lognormal(mean=10.8, sigma=0.45, size=ROWS)
    if drifted:
        income *= 1.25
    purpose_weights = np.array([0.2, 0.3, 0.1, 0.2, 0.1, 0.1])
    purposes = PURPOSES
    if drifted:
        purposes = [*PURPOSES, "crypto"]
        purpose_weights = np.array([0.15, 0.2, 0.1, 0.2, 0.1, 0.1, 0.15])
    employment = rng.gamma(shape=2.0, scale=3.0, size=ROWS).round(1)
    employment_mask = rng.random(ROWS) < (0.15 if drifted else 0.0)
    return pa.table(
        {
            "age": rng.integers(21, 70, size=ROWS),
            "income": income.round(2),
            "credit_score": rng.normal(680, 60, size=ROWS).clip(300, 850).round(),
            "loan_amount": rng.lognormal(mean=9.5, sigma=0.6, size=ROWS).round(2),
            "employment_years": pa.array(employment, mask=employment_mask),
            "loan_purpose": rng.choice(purposes, size=ROWS, p=purpose_weights),
            "region": rng.choice(REGIONS, size=ROWS),
            "has_cosigner": rng.random(ROWS) < 0.2,
        }
    )


def main() -> None:
    """Write ``reference.csv`` and ``current.csv``."""
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(20261124)
    csv.write_csv(_loans(rng, drifted=False), OUT / "reference.csv")
    csv.write_csv(_loans(rng, drifted=True), OUT / "current.csv")


if __name__ == "__main__":
    main()
