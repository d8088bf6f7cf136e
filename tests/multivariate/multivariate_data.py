"""Data shaped like users send it, for the multivariate drift tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


def correlated(rng: np.random.Generator, rows: int, rho: float, extra: int = 3) -> pa.Table:
    """Columns ``a`` and ``b``: standard normals with correlation ``rho``; ``c0``.. independent.

    Every column's marginal is N(0, 1) whatever ``rho`` is.
    """
    a = rng.normal(size=rows)
    b = rho * a + np.sqrt(1.0 - rho**2) * rng.normal(size=rows)
    columns = {"a": a, "b": b}
    columns |= {f"c{i}": rng.normal(size=rows) for i in range(extra)}
    return pa.table(columns)


def graded(rng: np.random.Generator, rows: int, *, linked: bool) -> pd.DataFrame:
    """A pandas frame with a category grade, an income that depends on it (or not), nulls.

    The grade's shares and the income's marginal are the same either way: unlinked,
    the incomes are those of a random grade.
    """
    grades = np.array(["A", "B", "C"])
    grade = grades[rng.choice(3, rows, p=[0.5, 0.3, 0.2])]
    level = {"A": 0.0, "B": 2.0, "C": 4.0}
    source = grade if linked else grades[rng.choice(3, rows, p=[0.5, 0.3, 0.2])]
    income = np.array([level[g] for g in source]) + rng.normal(size=rows)
    income[rng.random(rows) < 0.02] = np.nan
    member = np.where(rng.random(rows) < 0.4, 1.0, 0.0)  # pandas float labels
    region = rng.choice(["north", "south"], rows).astype(object)
    region[rng.random(rows) < 0.03] = None
    return pd.DataFrame(
        {
            "grade": pd.Categorical(grade),
            "income": income,
            "member": member,
            "region": pd.array(region, dtype="str"),
        }
    )


def embeddings(
    rng: np.random.Generator, rows: int, *, dim: int = 16, shift: float = 0.0
) -> np.ndarray:
    """Vectors with variances falling from 1 to 0.01 along the axes; ``shift`` moves the last.

    The shift is in reference standard deviations of that (lowest-variance) axis.
    """
    scales = np.sqrt(np.geomspace(1.0, 0.01, dim))
    vectors = rng.normal(size=(rows, dim)) * scales
    vectors[:, -1] += shift * scales[-1]
    return vectors


def as_list_column(vectors: np.ndarray, kind: pa.DataType | None = None) -> pa.Array:
    """Vectors as an Arrow list<float32> column (or ``kind``)."""
    return pa.array(list(vectors.astype(np.float32)), kind or pa.list_(pa.float32()))
