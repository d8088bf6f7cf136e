"""A model in production on a compressed clock, shipping predictions through the SDK.

Phases (simulated time from the start): normal traffic; an income downturn (feature and
prediction drift); a pipeline bug that blanks ``employment_years`` (a quality failure);
a rise in defaults the model cannot see (concept drift: accuracy drops once the
delayed labels arrive); the pipeline fixed; then version 2, slower and trained on too
few rows, released as a canary on part of the traffic until its canary verdict fails
and the service's rollback receiver takes it out (:mod:`mlvigil.demo.rollback`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from mlvigil.demo.credit import (
    FEATURES,
    CreditModel,
    World,
    applicants,
    decisions,
    default_probability,
)
from mlvigil.demo.example import MODEL
from mlvigil.demo.rollback import Deployment
from mlvigil.telemetry.prediction_log import PredictionLogger

STABLE = "1"
CANARY = "2"
CANARY_SHARE = 0.4


class SimulatedClock:
    """Time that runs ``speed`` times faster than the wall clock, from ``start``."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start
        self.speed = speed
        self._origin = time.monotonic()

    def now(self) -> datetime:
        """The simulated current time (UTC)."""
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)


@dataclass(frozen=True)
class Phase:
    """From ``after`` (simulated time since the start) on, the world is ``world``."""

    after: timedelta
    world: World
    name: str
    canary: bool = False
    """Whether the canary version is released in this phase."""


PHASES = (
    Phase(timedelta(0), World(), "normal traffic"),
    Phase(timedelta(minutes=30), World(income_factor=0.6), "income downturn: feature drift"),
    Phase(
        timedelta(minutes=60),
        World(income_factor=0.6, null_employment=0.3),
        "pipeline bug: employment_years 30% empty",
    ),
    Phase(
        timedelta(minutes=90),
        World(income_factor=0.6, null_employment=0.3, extra_risk=1.5),
        "defaults rise: the model's accuracy drops",
    ),
    Phase(
        timedelta(minutes=120),
        World(income_factor=0.6, extra_risk=1.5),
        "pipeline fixed: employment_years complete again",
    ),
    Phase(
        timedelta(minutes=150),
        World(income_factor=0.6, extra_risk=1.5),
        f"version {CANARY} released as a canary on {CANARY_SHARE:.0%} of the traffic",
        canary=True,
    ),
)


class Simulation:
    """Predictions at a steady rate, and their labels ``label_delay`` later.

    Parameters
    ----------
    logger
        Where predictions and labels go (the SDK's prediction logger).
    model
        The model that scores applicants.
    clock
        The simulated clock, shared with the service.
    rate
        Predictions per real second.
    label_delay
        Simulated time until a prediction's outcome is known.
    label_share
        Share of predictions whose outcome ever arrives.
    canary
        The version released in the canary phase, if any.
    deployment
        The file saying which versions serve (:class:`~mlvigil.demo.rollback.Deployment`).
    """

    def __init__(
        self,
        logger: PredictionLogger,
        model: CreditModel,
        clock: SimulatedClock,
        *,
        canary: CreditModel | None = None,
        deployment: Path | None = None,
        rate: float = 200.0,
        label_delay: timedelta = timedelta(minutes=10),
        label_share: float = 0.8,
        seed: int = 3,
    ) -> None:
        self.logger = logger
        self.models = {STABLE: model} | ({CANARY: canary} if canary is not None else {})
        self.deployment_path = deployment
        self.deployment = Deployment(STABLE)
        self.clock = clock
        self.rate = rate
        self.label_delay = label_delay
        self.label_share = label_share
        self._rng = np.random.default_rng(seed)
        self._pending: deque[tuple[datetime, str, int]] = deque()
        self.sent = 0
        self.phase = PHASES[0]

    def run(self, stop: threading.Event, tick: float = 0.2) -> None:
        """Send traffic every ``tick`` real seconds until ``stop`` is set."""
        owed = 0.0
        while not stop.wait(tick):
            owed += self.rate * tick
            rows = int(owed)
            owed -= rows
            if rows:
                self.step(rows)

    def step(self, rows: int) -> None:
        """Score ``rows`` applicants now and release the labels that are due."""
        now = self.clock.now()
        elapsed = now - self.clock.start
        self.phase = [p for p in PHASES if p.after <= elapsed][-1]
        world = self.phase.world
        self._deploy()
        columns = applicants(rows, self._rng, world)
        on_canary = self._rng.random(rows) < self.deployment.canary_share
        chance = self.models[STABLE].default_chance(columns)
        if on_canary.any():
            chance = np.where(on_canary, self.models[CANARY].default_chance(columns), chance)
        predicted, score = decisions(chance)
        # The canary is a heavier model: three times the stable one's latency.
        latency = self._rng.gamma(2.0, 1.5, size=rows) * np.where(on_canary, 3.0, 1.0)
        defaulted = self._rng.random(rows) < default_probability(columns, world)
        labelled = self._rng.random(rows) < self.label_share
        stamp = now.timestamp()
        for i in range(rows):
            features = {name: _plain(columns[name][i]) for name in FEATURES}
            prediction_id = self.logger.log_prediction(
                model=MODEL,
                features=features,
                prediction=predicted[i],
                score=score[i],
                version=CANARY if on_canary[i] else STABLE,
                latency_ms=float(latency[i]),
                timestamp=stamp,
            )
            if labelled[i]:
                self._pending.append((now + self.label_delay, prediction_id, int(defaulted[i])))
        self.sent += rows
        while self._pending and self._pending[0][0] <= now:
            _, prediction_id, outcome = self._pending.popleft()
            self.logger.log_label(prediction_id, outcome, model=MODEL, timestamp=stamp)

    def _deploy(self) -> None:
        """Release the canary when its phase begins; follow a rollback written since."""
        if self.deployment_path is None:
            return
        current = Deployment.read(self.deployment_path) or Deployment(STABLE)
        if self.phase.canary and CANARY in self.models and current == Deployment(STABLE):
            current = Deployment(STABLE, CANARY, CANARY_SHARE)  # released once, never again
            current.write(self.deployment_path)
        self.deployment = current


def _plain(value: object) -> object:
    """Numpy scalars as Python values; NaN (a blanked value) as None."""
    item = getattr(value, "item", None)
    plain = item() if callable(item) else value
    return None if isinstance(plain, float) and plain != plain else plain


def aligned_start(width: timedelta) -> datetime:
    """The start of the current window of ``width`` on the wall clock."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    return epoch + ((now - epoch) // width) * width
