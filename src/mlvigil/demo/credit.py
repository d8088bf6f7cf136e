"""A synthetic credit-risk world: applicants, their true default risk, and a model.

The applicants and the model are what a small lender might have: income, age, credit
score, loan amount, employment history, loan purpose and region; a gradient-boosted
classifier trained on last year's applicants. The world can change the way production
data does: incomes shift, a pipeline bug blanks a column, and the relation between
features and defaults moves (concept drift), which the model does not know about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

NUMERIC = ("age", "income", "credit_score", "loan_amount", "employment_years")
CATEGORICAL = ("loan_purpose", "region")
FEATURES = (*NUMERIC, *CATEGORICAL)
PURPOSES = ("car", "debt_consolidation", "education", "home", "medical", "business")
PURPOSE_SHARES = (0.2, 0.3, 0.1, 0.2, 0.1, 0.1)
REGIONS = ("north", "south", "east", "west")

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class World:
    """How production differs from training data."""

    income_factor: float = 1.0
    """Incomes are multiplied by this (0.7 = a downturn)."""
    null_employment: float = 0.0
    """Share of rows whose ``employment_years`` a pipeline bug blanks."""
    extra_risk: float = 0.0
    """Added to the default log-odds: defaults rise for reasons the model cannot see."""


def applicants(rows: int, rng: np.random.Generator, world: World = World()) -> dict[str, Any]:
    """Draw ``rows`` applicants as columns (lists for categories, arrays for numbers)."""
    employment = rng.gamma(shape=2.0, scale=3.0, size=rows).round(1)
    if world.null_employment:
        employment[rng.random(rows) < world.null_employment] = np.nan
    return {
        "age": rng.integers(21, 70, size=rows).astype(np.float64),
        "income": (rng.lognormal(10.8, 0.45, size=rows) * world.income_factor).round(2),
        "credit_score": rng.normal(680, 60, size=rows).clip(300, 850).round(),
        "loan_amount": rng.lognormal(9.5, 0.6, size=rows).round(2),
        "employment_years": employment,
        "loan_purpose": list(rng.choice(PURPOSES, size=rows, p=PURPOSE_SHARES)),
        "region": list(rng.choice(REGIONS, size=rows)),
    }


def default_probability(columns: dict[str, Any], world: World = World()) -> FloatArray:
    """The true chance each applicant defaults."""
    debt_to_income = columns["loan_amount"] / columns["income"]
    medical = np.array([p == "medical" for p in columns["loan_purpose"]], dtype=np.float64)
    logit = (
        -1.2
        + 6.0 * (debt_to_income - 0.3)
        - 0.012 * (columns["credit_score"] - 680)
        - 0.08 * np.nan_to_num(columns["employment_years"], nan=0.0)
        + 0.6 * medical
        + world.extra_risk
    )
    return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype=np.float64)


def _matrix(columns: dict[str, Any]) -> FloatArray:
    purpose = [PURPOSES.index(p) for p in columns["loan_purpose"]]
    region = [REGIONS.index(r) for r in columns["region"]]
    numbers = [np.asarray(columns[name], dtype=np.float64) for name in NUMERIC]
    return np.column_stack([*numbers, purpose, region]).astype(np.float64)


class CreditModel:
    """A scikit-learn classifier of defaults, trained on synthetic applicants."""

    def __init__(self, rows: int = 5_000, seed: int = 7) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        rng = np.random.default_rng(seed)
        self.training = applicants(rows, rng)
        self.training_labels = rng.random(rows) < default_probability(self.training)
        categorical = [False] * len(NUMERIC) + [True] * len(CATEGORICAL)
        self._model = HistGradientBoostingClassifier(
            max_iter=60, random_state=seed, categorical_features=categorical
        )
        self._model.fit(_matrix(self.training), self.training_labels)

    def default_chance(self, columns: dict[str, Any]) -> FloatArray:
        """The model's probability that each applicant defaults."""
        return np.asarray(self._model.predict_proba(_matrix(columns))[:, 1], dtype=np.float64)


def decisions(probability: FloatArray) -> tuple[list[int], list[float]]:
    """Predicted class (1 = default) and its score (the probability of default), per applicant.

    The score is the positive-class probability, as ``predict_proba(X)[:, 1]`` gives and
    as the service reads scores by default (``score_is: positive_probability``).
    """
    predicted = (probability >= 0.5).astype(int)
    return predicted.tolist(), np.round(probability, 4).tolist()
