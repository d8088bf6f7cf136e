"""The service's state: the store, reference profiles, and window evaluation on a clock.

:class:`MonitoringService` is what the API and the scheduler share. Evaluation is
idempotent per window (results are replaced), and which windows are done is kept in the
store, so a restart resumes where it stopped: closed windows not yet evaluated are
evaluated, evaluated ones are not redone (except once more when their labels mature).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa

from mlvigil.exceptions import ConfigError, InputError
from mlvigil.profile import DatasetProfile, profile_table
from mlvigil.service.config import ModelConfig, ServiceConfig
from mlvigil.service.evaluation import Evaluation, evaluate_window, window_bounds
from mlvigil.service.store import Store

_log = logging.getLogger("mlvigil.service")

Clock = Callable[[], datetime]

#: Most windows one evaluate request may cover (a backfill goes in several requests).
MAX_WINDOWS_PER_REQUEST = 1_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MonitoringService:
    """Models, store and evaluation of one running service.

    Parameters
    ----------
    config
        The validated configuration.
    clock
        Current time; the system clock by default (the demo compresses time with it).
    """

    def __init__(self, config: ServiceConfig, *, clock: Clock = _utc_now) -> None:
        self.config = config
        self.clock = clock
        self.store = Store(config.store, config.models)
        self._references: dict[str, DatasetProfile | None] = {
            name: _file_reference(model) for name, model in config.models.items()
        }
        self._evaluating = threading.Lock()
        self.ready = True

    def close(self) -> None:
        """Close the store (checkpointing it)."""
        self.ready = False
        self.store.close()

    def model(self, name: str) -> ModelConfig:
        """The configuration of model ``name``.

        Raises
        ------
        UnknownModelError
            When no such model is configured.
        """
        try:
            return self.config.models[name]
        except KeyError:
            raise UnknownModelError(name, sorted(self.config.models)) from None

    # -- evaluation --------------------------------------------------------------

    def evaluate(self, name: str, start: datetime, end: datetime) -> list[Evaluation]:
        """Evaluate every window of ``name`` overlapping ``[start, end)`` now."""
        config = self.model(name)
        if end <= start:
            raise InputError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
        try:
            first, last = (
                window_bounds(start, config.window)[0],
                window_bounds(end, config.window)[1],
            )
        except OverflowError:
            raise InputError("start and end must be between years 1 and 9999") from None
        count = (last - first) // config.window
        if count > MAX_WINDOWS_PER_REQUEST:
            raise InputError(
                f"{start.isoformat()} to {end.isoformat()} spans {count} windows of "
                f"{config.window}; evaluate at most {MAX_WINDOWS_PER_REQUEST} at a time"
            )
        evaluations = []
        with self._evaluating:
            window_start = first
            while window_start < end:
                evaluations.append(self._evaluate_one(config, window_start))
                window_start += config.window
        return evaluations

    def evaluate_due(self) -> int:
        """Evaluate closed windows not yet evaluated, and windows whose labels matured.

        Returns
        -------
        How many windows were evaluated.
        """
        now = self.clock()
        done = 0
        with self._evaluating:
            for config in self.config.models.values():
                span = self.store.data_range(config.name)
                if span is None:
                    continue
                evaluated = {w.start: w for w in self.store.windows(config.name)}
                window_start, _ = window_bounds(span[0], config.window)
                while window_start + config.window + self.config.lateness <= now:
                    window_end = window_start + config.window
                    known = evaluated.get(window_start)
                    matured = now >= window_end + config.label_delay
                    if known is None or (matured and not known.labels_final):
                        self._evaluate_one(config, window_start)
                        done += 1
                    window_start = window_end
                if config.retention is not None:
                    self.store.delete_before(config.name, now - config.retention)
        return done

    def _evaluate_one(self, config: ModelConfig, start: datetime) -> Evaluation:
        end = start + config.window
        evaluation = evaluate_window(
            config, self.store, start, end, reference=self._reference(config), now=self.clock()
        )
        self.store.save_window(
            config.name, evaluation.window, evaluation.profile, evaluation.results
        )
        _log.info(
            "window evaluated",
            extra={
                "model": config.name,
                "window_start": start.isoformat(),
                "rows": evaluation.window.rows,
                "failed": sum(1 for r in evaluation.results if not r.passed),
            },
        )
        return evaluation

    def _reference(self, config: ModelConfig) -> DatasetProfile | None:
        reference = self._references.get(config.name)
        if reference is None and config.reference_windows:
            reference = self._reference_from_windows(config, config.reference_windows)
            self._references[config.name] = reference
        return reference

    def _reference_from_windows(self, config: ModelConfig, count: int) -> DatasetProfile | None:
        profiles = []
        for window in self.store.windows(config.name):
            blob = self.store.profile(config.name, window.start) if window.rows else None
            if blob is not None:
                profiles.append(DatasetProfile.deserialize(blob))
            if len(profiles) == count:
                merged = profiles[0]
                for profile in profiles[1:]:
                    merged = merged.merge(profile)
                return merged
        return None

    async def run_scheduler(self) -> None:
        """Evaluate due windows every ``evaluation_interval``, until cancelled."""
        interval = self.config.evaluation_interval.total_seconds()
        while True:
            try:
                await asyncio.to_thread(self.evaluate_due)
            except Exception:  # one bad window must not stop the scheduler for good
                _log.exception("scheduled evaluation failed; retrying at the next tick")
            await asyncio.sleep(interval)


class UnknownModelError(InputError):
    """A request named a model the configuration does not declare."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown model {name!r}; configured models: {', '.join(known)}")


def _file_reference(config: ModelConfig) -> DatasetProfile | None:
    if config.reference_path is None:
        return None
    from mlvigil.io.tables import open_table

    source = open_table(config.reference_path)
    wanted = (*config.column_types, config.schema.target)
    keep = [c for c in wanted if c in source.column_names]
    if not keep:
        raise ConfigError(
            f"model {config.name!r}: reference {config.reference_path} has none of the "
            f"monitored columns {list(wanted)}"
        )
    return profile_table(pa.table({c: source.column(c) for c in keep}))
