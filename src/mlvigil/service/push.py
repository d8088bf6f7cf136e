"""Pushed summaries: checked, stored under their window and source, the window evaluated.

A profile (drift, data quality) and a performance state (metrics, once labels are in)
are pushed separately, each replaced by its source's next push; the window is judged
once its profile is there.
"""

from __future__ import annotations

from datetime import datetime

from mlvigil.checks.performance_state import PerformanceState
from mlvigil.exceptions import InputError
from mlvigil.profile import DatasetProfile
from mlvigil.profile.errors import ProfileFormatError, ProfileMergeError
from mlvigil.service.api_models import ProfileStored
from mlvigil.service.config import ModelConfig
from mlvigil.service.evaluation import window_bounds
from mlvigil.service.monitor import MonitoringService

__all__ = ["push_performance", "push_profile"]


def _profile(body: bytes, config: ModelConfig) -> DatasetProfile:
    try:
        profile = DatasetProfile.deserialize(body)
    except ProfileFormatError as error:
        raise ProfileFormatError(
            f"the body is not a profile in mlvigil's format ({error}); send the bytes of "
            "DatasetProfile.serialize(), as `mlvigil spark profile --push` does"
        ) from None
    monitored = [c for c in config.column_types if c in profile.columns]
    if not monitored:
        raise InputError(
            f"the profile has none of model {config.name!r}'s columns "
            f"{list(config.column_types)[:20]}; its columns are {list(profile.columns)[:20]}"
        )
    return profile


def _window(config: ModelConfig, moment: datetime) -> tuple[datetime, datetime]:
    if config.window is None:
        raise InputError(
            f"model {config.name!r} counts its windows in rows; pushed summaries need time "
            "windows (window: 1h in mlvigil.yaml)"
        )
    return window_bounds(moment, config.window)


def _state(body: bytes, config: ModelConfig) -> PerformanceState:
    performance = config.performance
    if performance is None:
        raise InputError(
            f"model {config.name!r} has no checks.performance: declare it to judge "
            "pushed performance states"
        )
    try:
        state = PerformanceState.deserialize(body)
    except ProfileFormatError as error:
        raise ProfileFormatError(
            f"the body is not a performance state in mlvigil's format ({error}); send the "
            "bytes of PerformanceState.serialize(), as `mlvigil spark profile --push` does"
        ) from None
    if state.task != performance.task:
        raise InputError(
            f"the state is of a {state.task} model; model {config.name!r} is configured "
            f"for {performance.task} (checks.performance.task)"
        )
    return state


def _check_merge(
    others: DatasetProfile | PerformanceState | None,
    new: DatasetProfile | PerformanceState,
    what: str,
    advice: str,
) -> None:
    """Refuse now, not when the window is evaluated, a summary its window cannot merge."""
    if others is None:
        return
    try:
        others.merge(new)  # type: ignore[arg-type]  # both of one kind: the callers
    except ProfileMergeError as error:
        raise ProfileMergeError(
            f"{what} cannot be merged with the window's other sources: {error}; {advice}"
        ) from None


def _stored(
    service: MonitoringService, config: ModelConfig, start: datetime, end: datetime, sources: int
) -> ProfileStored:
    """Evaluate the window now if its profile is there, and say what came of it."""
    judged = service.store.pushed_profile(config.name, start) is not None
    evaluations = service.evaluate(config.name, start, end) if judged else []
    results = evaluations[0].results if evaluations else ()
    return ProfileStored(
        window_start=start.isoformat(),
        window_end=end.isoformat(),
        sources=sources,
        rows=evaluations[0].window.rows if evaluations else 0,
        results=len(results),
        failed=sum(1 for r in results if r.status.value == "failed"),
    )


def push_performance(
    service: MonitoringService, config: ModelConfig, body: bytes, moment: datetime, source: str
) -> ProfileStored:
    """Store ``source``'s performance state of the window holding ``moment``.

    The window is evaluated now if its profile was pushed (else when it is).

    Raises
    ------
    InputError
        For a body that is no performance state, one of another task or that cannot
        be merged with the window's other sources, a model without
        ``checks.performance``, or one whose windows count rows.
    """
    start, end = _window(config, moment)
    state = _state(body, config)
    others = service.store.pushed_performance(config.name, start, besides=source)
    _check_merge(
        others,
        state,
        "the state",
        "summarise every source with the same classes and score settings",
    )
    sources = service.store.save_pushed_performance(config.name, start, source, state)
    return _stored(service, config, start, end, sources)


def push_profile(
    service: MonitoringService, config: ModelConfig, body: bytes, moment: datetime, source: str
) -> ProfileStored:
    """Store ``source``'s profile of the window holding ``moment`` and evaluate it.

    Raises
    ------
    InputError
        For a body that is no profile, one without the model's columns or that cannot
        be merged with the window's other sources, or a model whose windows count rows
        (a profile names a time window).
    """
    start, end = _window(config, moment)
    profile = _profile(body, config)
    known = service.store.pushed_profile(config.name, start, besides=source)
    _check_merge(
        known,
        profile,
        "the profile",
        "profile every source with the same settings",
    )
    sources = service.store.save_pushed_profile(config.name, start, source, profile)
    return _stored(service, config, start, end, sources)
