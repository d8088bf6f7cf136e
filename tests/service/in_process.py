"""Calling a service in the test process: a settable clock and an ASGI client."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx

from mlvigil.service.app import create_app
from mlvigil.service.monitor import MonitoringService


class Clock:
    """A clock the test moves by setting ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Client:
    """Synchronous HTTP calls into the service's ASGI app (scheduler off), with a token."""

    def __init__(self, service: MonitoringService, token: str) -> None:
        self._app = create_app(service, schedule=False)
        self._headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers, **kwargs.pop("headers", {})}

        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost", headers=headers
            ) as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(call())

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)
