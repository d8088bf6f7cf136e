"""The real service: `mlvigil serve` under uvicorn on 127.0.0.1, killed and restarted."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import httpx
from service_data import AUTH, records

from live_servers import wait_until
from mlvigil.service.evaluation import window_bounds


def test_acknowledged_rows_survive_sigkill(serve):
    url, server = serve()
    acknowledged = 0
    for batch in range(20):
        response = httpx.post(
            f"{url}/api/v1/models/credit/predictions",
            json={"records": records(100, seed=batch)},
            headers=AUTH,
        )
        assert response.status_code == 201
        acknowledged += response.json()["stored"]
    server.send_signal(signal.SIGKILL)  # no shutdown, no checkpoint
    server.wait()

    url, _ = serve()
    models = httpx.get(f"{url}/api/v1/models", headers=AUTH).json()["models"]
    assert models[0]["predictions"] == acknowledged == 2_000


def test_the_scheduler_evaluates_closed_windows_once_across_restarts(serve):
    url, server = serve()
    # Data in the hour that closed last: exactly one window is due (an empty window
    # after it would be reported as "no data").
    last_hour, _ = window_bounds(datetime.now(UTC) - timedelta(hours=1), timedelta(hours=1))
    batch = records(300, seed=9, start=last_hour)
    response = httpx.post(
        f"{url}/api/v1/models/credit/predictions", json={"records": batch}, headers=AUTH
    )
    assert response.status_code == 201

    def evaluated() -> list[dict]:
        return httpx.get(f"{url}/api/v1/models/credit/windows", headers=AUTH).json()["windows"]

    wait_until(lambda: len(evaluated()) == 1)
    first = evaluated()
    assert first[0]["rows"] == 300
    results = httpx.get(f"{url}/api/v1/models/credit/results", headers=AUTH).json()["results"]
    assert {r["check"] for r in results} >= {"drift", "completeness", "performance"}
    metrics = httpx.get(f"{url}/metrics", headers=AUTH).text
    assert 'mlvigil_window_rows{model="credit"} 300.0' in metrics

    # Labels arrive later, joined by id; evaluating the window again uses them.
    labels = [{"id": r["id"], "label": r["prediction"]} for r in batch[:240]]
    posted = httpx.post(
        f"{url}/api/v1/models/credit/labels", json={"records": labels}, headers=AUTH
    )
    assert posted.json() == {"stored": 240, "unknown_ids": 0, "duplicate_batch": False}
    window = {"start": first[0]["start"], "end": first[0]["end"]}
    httpx.post(
        f"{url}/api/v1/models/credit/evaluate", params=window, headers=AUTH
    ).raise_for_status()
    performance = httpx.get(
        f"{url}/api/v1/models/credit/results", params={"check": "performance"}, headers=AUTH
    ).json()["results"]
    values = {r["metric"]: r["value"] for r in performance}
    assert values["label_coverage"] == 0.8
    assert values["accuracy"] == 1.0
    first = evaluated()

    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    url, _ = serve()
    time.sleep(1.0)  # several scheduler ticks
    assert evaluated() == first  # not evaluated again
