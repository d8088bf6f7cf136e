"""A pushed profile: checked, stored under its window and source, the window evaluated."""

from __future__ import annotations

from datetime import datetime

from mlvigil.exceptions import InputError
from mlvigil.profile import DatasetProfile
from mlvigil.profile.errors import ProfileFormatError, ProfileMergeError
from mlvigil.service.api_models import ProfileStored
from mlvigil.service.config import ModelConfig
from mlvigil.service.evaluation import window_bounds
from mlvigil.service.monitor import MonitoringService

__all__ = ["push_profile"]


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
    if config.window is None:
        raise InputError(
            f"model {config.name!r} counts its windows in rows; pushed profiles need time "
            "windows (window: 1h in mlvigil.yaml)"
        )
    profile = _profile(body, config)
    start, end = window_bounds(moment, config.window)
    others = service.store.pushed_profile(config.name, start, besides=source)
    if others is not None:
        try:
            others.merge(profile)  # refused now, not when the window is evaluated
        except ProfileMergeError as error:
            raise ProfileMergeError(
                f"the profile cannot be merged with the window's other sources: {error}; "
                "profile every source with the same settings"
            ) from None
    sources = service.store.save_pushed_profile(config.name, start, source, profile)
    (evaluation,) = service.evaluate(config.name, start, end)
    return ProfileStored(
        window_start=start.isoformat(),
        window_end=end.isoformat(),
        sources=sources,
        rows=evaluation.window.rows,
        results=len(evaluation.results),
        failed=sum(1 for r in evaluation.results if r.status.value == "failed"),
    )
