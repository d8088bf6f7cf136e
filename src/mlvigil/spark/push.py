"""Sending window summaries to the mlvigil service, and writing them as files.

A window's profile goes to ``POST /api/v1/models/{model}/profiles?window=&source=``
with the body ``application/vnd.mlvigil.profile`` (``DatasetProfile.serialize()``);
a window's performance state to ``POST /api/v1/models/{model}/performance`` with
the same parameters and the body ``application/vnd.mlvigil.performance``
(``PerformanceState.serialize()``). The service keeps one summary per (model,
window, source): a job run again replaces what it sent, and several sources merge.
Transient failures (connection errors, 429, 5xx) are retried with backoff; other
refusals raise :class:`~mlvigil.exceptions.ReceiverError` with the service's reason.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from mlvigil.exceptions import ReceiverError

__all__ = [
    "PERFORMANCE_TYPE",
    "PROFILE_TYPE",
    "Pushed",
    "Pusher",
    "default_source",
    "summary_path",
]

PROFILE_TYPE = "application/vnd.mlvigil.profile"
PERFORMANCE_TYPE = "application/vnd.mlvigil.performance"
#: The environment variable holding the service token (as the prediction logger reads it).
TOKEN_ENV = "MLVIGIL_TOKEN"
_TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})


def default_source(*parts: str) -> str:
    """A stable source name for a job: the same input, model and options, the same name.

    Examples
    --------
    >>> default_source("s3a://lake/predictions", "churn") == default_source(
    ...     "s3a://lake/predictions", "churn")
    True
    >>> default_source("a", "b")[:6]
    'spark-'
    """
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return f"spark-{digest[:16]}"


def summary_path(directory: Path, model: str, start: datetime | None, suffix: str) -> Path:
    """Where a window's summary file goes: ``DIR/<model>/<start, UTC>.<suffix>``."""
    stamp = "no-timestamp" if start is None else start.strftime("%Y-%m-%dT%H-%M-%SZ")
    return directory / quote(model, safe="") / f"{stamp}.{suffix}"


@dataclass(frozen=True)
class Pushed:
    """The service's answer to one push."""

    status: int
    body: dict[str, Any]


class Pusher:
    """Posts window summaries to one service.

    Parameters
    ----------
    url
        The service's base URL, e.g. ``http://mlvigil:8000``.
    token
        Bearer token with the ``ingest`` scope, or ``None``.
    transport
        An httpx transport (tests pass ``httpx.MockTransport``).
    attempts
        Tries per push when the failure may pass (connection errors, 429, 5xx).
    timeout
        Seconds per request.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        attempts: int = 4,
        timeout: float = 60.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, transport=transport, timeout=timeout
        )
        self._attempts = max(1, attempts)

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def __enter__(self) -> Pusher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def push(self, model: str, kind: str, start: datetime, source: str, body: bytes) -> Pushed:
        """Send one window's ``profile`` or ``performance`` summary.

        Raises
        ------
        ReceiverError
            When the service refuses it, or stays unreachable through the retries.
        """
        path = "profiles" if kind == "profile" else "performance"
        media = PROFILE_TYPE if kind == "profile" else PERFORMANCE_TYPE
        url = f"/api/v1/models/{quote(model, safe='')}/{path}"
        params = {"window": start.isoformat(), "source": source}
        problem = ""
        for attempt in range(self._attempts):
            if attempt:
                time.sleep(min(0.5 * 2**attempt, 8.0))
            try:
                answer = self._client.post(
                    url, params=params, content=body, headers={"Content-Type": media}
                )
            except httpx.TransportError as error:
                problem = f"cannot reach {self._client.base_url}: {error}"
                continue
            if answer.status_code in _TRANSIENT:
                problem = f"{answer.status_code} {_detail(answer)}"
                continue
            if answer.is_error:
                raise ReceiverError(
                    f"the service refused the {kind} of window {start.isoformat()}: "
                    f"{answer.status_code} {_detail(answer)}"
                )
            return Pushed(answer.status_code, _json(answer))
        raise ReceiverError(
            f"the {kind} of window {start.isoformat()} was not delivered after "
            f"{self._attempts} attempts: {problem}"
        )


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _detail(answer: httpx.Response) -> str:
    detail = _json(answer).get("detail")
    return str(detail) if detail else answer.text[:300]
