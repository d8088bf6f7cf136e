"""Checks on ``mlvigil.yaml`` that span keys: names the API can address, long retention.

Each is run once at start (:func:`startup_problems`, :func:`limit_problems`); a
configuration that fails one would pass every key's own validation and then misbehave
quietly: a model whose name holds a ``/`` cannot be reached at
``/api/v1/models/{model}``, rows or windows deleted before their labels are final leave
windows that never finalise, and a budget of bodies in flight smaller than the largest
body refuses that body for ever.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["MODEL_NAME", "ModelTimes", "format_duration", "limit_problems", "startup_problems"]

#: What a model name may hold: it is a path segment of the API and a metric label.
MODEL_NAME = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ModelTimes:
    """How long a model's windows take to be final, and how long its rows are kept."""

    name: str
    window: timedelta | None
    """Length of its time windows; ``None`` for row-counted windows."""
    label_delay: timedelta
    retention: timedelta | None
    """Its ``retention`` key (raw predictions and labels), if given."""


def format_duration(value: timedelta) -> str:
    """A duration as ``mlvigil.yaml`` writes it.

    Examples
    --------
    >>> format_duration(timedelta(days=7, hours=1, minutes=1))
    '7d1h1m'
    >>> format_duration(timedelta(seconds=90.5))
    '1m30.5s'
    """
    seconds = value.total_seconds()
    whole = int(seconds)
    parts = [(whole // 86_400, "d"), (whole % 86_400 // 3_600, "h"), (whole % 3_600 // 60, "m")]
    text = "".join(f"{n}{unit}" for n, unit in parts if n)
    rest = round(seconds - whole // 60 * 60, 6)
    if rest or not text:
        text += f"{rest:g}s"
    return text


def startup_problems(
    models: Iterable[ModelTimes], *, lateness: timedelta, windows_retention: timedelta
) -> list[str]:
    """What stops the service from starting, one line per problem (empty when none).

    A window needs its rows until its labels are final: its length, then ``lateness``
    before it is evaluated, then ``label_delay``. A model's ``retention`` and
    ``retention.windows`` shorter than that are refused.

    Examples
    --------
    >>> times = ModelTimes("credit/risk", timedelta(hours=1), timedelta(days=7), timedelta(days=1))
    >>> for line in startup_problems([times], lateness=timedelta(minutes=1),
    ...                              windows_retention=timedelta(days=400)):
    ...     print(line)
    models.credit/risk: the name cannot be a path segment of the API; use only letters, digits, '.', '_' and '-'
    models.credit/risk.retention: 1d is shorter than the 7d1h1m a window needs its rows (window 1h + lateness 1m + label_delay 7d); its windows would never finalise; set it to 7d1h1m or more
    """  # noqa: E501
    problems = []
    for model in models:
        if not MODEL_NAME.fullmatch(model.name) or set(model.name) == {"."}:
            problems.append(
                f"models.{model.name}: the name cannot be a path segment of the API; "
                "use only letters, digits, '.', '_' and '-'"
            )
        need = model.label_delay + lateness + (model.window or timedelta(0))
        parts = " + ".join(
            f"{key} {format_duration(value)}"
            for key, value in (
                ("window", model.window),
                ("lateness", lateness),
                ("label_delay", model.label_delay),
            )
            if value
        )
        for key, kept, whose in (
            (f"models.{model.name}.retention", model.retention, ""),
            ("retention.windows", windows_retention, f" of model {model.name!r}"),
        ):
            if kept is not None and kept < need:
                problems.append(
                    f"{key}: {format_duration(kept)} is shorter than the "
                    f"{format_duration(need)} a window{whose} needs its rows ({parts}); its "
                    f"windows would never finalise; set it to {format_duration(need)} or more"
                )
    return problems


def limit_problems(*, max_body_bytes: int, max_bodies_in_flight_bytes: int) -> list[str]:
    """A budget of bodies in flight too small for one body of the largest size.

    Examples
    --------
    >>> limit_problems(max_body_bytes=2048, max_bodies_in_flight_bytes=1024)
    ['limits.max_bodies_in_flight_bytes: 1024 is less than max_body_bytes (2048): a body of the largest accepted size would always be refused; raise it to 2048 or more']
    """  # noqa: E501
    if max_bodies_in_flight_bytes >= max_body_bytes:
        return []
    return [
        f"limits.max_bodies_in_flight_bytes: {max_bodies_in_flight_bytes} is less than "
        f"max_body_bytes ({max_body_bytes}): a body of the largest accepted size would "
        f"always be refused; raise it to {max_body_bytes} or more"
    ]
