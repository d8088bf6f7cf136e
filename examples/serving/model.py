"""A small credit-risk model: synthetic applicants, a scikit-learn pipeline.

The applicants look like ``examples/data/reference.csv`` (the same generator's
columns); the default probability rises with debt-to-income and falls with credit
score and employment, with noise, so the model is good but not perfect.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

NUMERIC = ["age", "income", "credit_score", "loan_amount", "employment_years"]
CATEGORICAL = ["loan_purpose", "region"]
FEATURES = [*NUMERIC, *CATEGORICAL]
PURPOSES = ["car", "debt_consolidation", "education", "home", "medical", "business"]
REGIONS = ["north", "south", "east", "west"]


def applicants(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Draw ``rows`` synthetic loan applicants."""
    return pd.DataFrame(
        {
            "age": rng.integers(21, 70, size=rows),
            "income": rng.lognormal(mean=10.8, sigma=0.45, size=rows).round(2),
            "credit_score": rng.normal(680, 60, size=rows).clip(300, 850).round(),
            "loan_amount": rng.lognormal(mean=9.5, sigma=0.6, size=rows).round(2),
            "employment_years": rng.gamma(shape=2.0, scale=3.0, size=rows).round(1),
            "loan_purpose": rng.choice(PURPOSES, size=rows, p=[0.2, 0.3, 0.1, 0.2, 0.1, 0.1]),
            "region": rng.choice(REGIONS, size=rows),
        }
    )


def default_probability(frame: pd.DataFrame) -> np.ndarray:
    """The true chance each applicant defaults: what the labels are drawn from."""
    debt_to_income = frame["loan_amount"] / frame["income"]
    logit = (
        -1.2
        + 6.0 * (debt_to_income - 0.3)
        - 0.012 * (frame["credit_score"] - 680)
        - 0.08 * frame["employment_years"].fillna(0)
        + 0.6 * (frame["loan_purpose"] == "medical")
    )
    return 1.0 / (1.0 + np.exp(-logit.to_numpy(dtype=float)))


def train(rows: int = 5_000, seed: int = 7) -> Pipeline:
    """Fit the model on freshly drawn applicants and their sampled outcomes."""
    rng = np.random.default_rng(seed)
    frame = applicants(rows, rng)
    defaulted = rng.random(rows) < default_probability(frame)
    encode = ColumnTransformer(
        [
            (
                "categories",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                CATEGORICAL,
            )
        ],
        remainder="passthrough",
    )
    model = Pipeline(
        [
            ("encode", encode),
            ("classify", HistGradientBoostingClassifier(max_iter=60, random_state=seed)),
        ]
    )
    model.fit(frame[FEATURES], defaulted)
    return model


def to_frame(features: dict[str, Any]) -> pd.DataFrame:
    """One applicant as the one-row frame the model takes; absent features are null."""
    return pd.DataFrame([{name: features.get(name) for name in FEATURES}])


def default_chance(model: Pipeline, row: pd.DataFrame) -> float:
    """The model's probability that the applicant defaults."""
    return float(model.predict_proba(row)[0, 1])


def decide(probability: float, threshold: float = 0.5) -> tuple[int, float]:
    """Predicted class (1 = default) and the model's confidence in it."""
    predicted = int(probability >= threshold)
    return predicted, probability if predicted else 1.0 - probability
