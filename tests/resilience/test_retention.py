"""Nothing grows without bound: every table keeps its rows for its retention, no longer.

Windows, their results, profiles and rows go once their labels are final and they are
older than ``retention.windows`` / ``retention.profiles``; a window still waiting for
labels stays. Alert events, delivered or superseded notifications, idempotency keys and
ended silences go after theirs; an undelivered notification stays. The in-process tests
move a fake clock over days; the last ones watch a real `mlvigil serve` prune by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from live_servers import wait_until
from mlvigil.service.app import create_app
from mlvigil.service.config import load_service_config
from mlvigil.service.monitor import MonitoringService
from service.service_data import AUTH, START, records, write_config

MODEL = "credit"
#: Labels final 2 h after a window; windows kept 6 h, their profiles 4 h.
RETENTION = """
retention:
  windows: 6h
  profiles: 4h
  alert_events: 90d
  notifications: 7d
  silences: 30d
"""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def open_service(tmp_path: Path) -> Iterator:
    """Open a MonitoringService on the test config (label_delay 2h) and a clock."""
    opened: list[MonitoringService] = []

    def open_(clock: Clock, *, extra: str = RETENTION, reference: str | None = None):
        path = tmp_path / "mlvigil.yaml"
        if not path.exists():
            write_config(tmp_path)
            text = path.read_text().replace(
                "min_labels: 20", "min_labels: 20\n        label_delay: 2h"
            )
            if reference is not None:
                text = text.replace("reference: {path: reference.parquet}", reference)
            path.write_text(text + extra)
        opened.append(MonitoringService(load_service_config(path), clock=clock))
        return opened[-1]

    yield open_
    for service in opened:
        if service.ready:
            service.close()


def _call(service: MonitoringService, method: str, path: str, **kwargs) -> httpx.Response:
    """A request to the app, in process (no lifespan: the test runs the scheduler)."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(service, schedule=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.request(method, path, headers=AUTH, **kwargs)

    return asyncio.run(call())


def _post(service: MonitoringService, rows: list[dict]) -> None:
    path = f"/api/v1/models/{MODEL}/predictions"
    response = _call(service, "POST", path, json={"records": rows})
    assert response.status_code == 201, response.text


def _starts(service: MonitoringService) -> list[datetime]:
    return [w.start for w in service.store.windows(MODEL)]


def test_final_windows_go_with_their_results_profiles_and_rows_but_never_before(open_service):
    clock = Clock(START + timedelta(hours=2, minutes=30))
    service = open_service(clock)
    _post(service, records(100, start=START))
    _post(service, records(100, start=START + timedelta(hours=1), seed=2))
    assert service.evaluate_due() == 2  # 10:00 and 11:00, labels final at 14:30

    clock.now = START + timedelta(hours=12)  # both ended 10 h ago, over the 6 h kept
    assert service.prune().total == 0  # their labels are not final yet: kept
    assert _starts(service)[:2] == [START, START + timedelta(hours=1)]
    assert service.store.counts(MODEL) == (200, 0)

    service.evaluate_due()  # final now; and the empty windows since, not final yet
    pruned = service.prune()
    assert (pruned.windows, pruned.profiles, pruned.predictions) == (2, 2, 200)
    assert pruned.results > 0
    assert _starts(service)[0] == START + timedelta(hours=2)
    assert service.store.results(MODEL, end=START + timedelta(hours=2)) == []
    assert service.store.profile(MODEL, START) is None
    assert service.store.counts(MODEL) == (0, 0)

    # A late row for a pruned window is never evaluated, and goes at the next pass.
    _post(service, records(1, start=START + timedelta(minutes=10), prefix="late"))
    service.evaluate_due()
    assert _starts(service)[0] == START + timedelta(hours=2)
    assert service.prune().predictions == 1


def test_profiles_go_before_their_windows(open_service):
    clock = Clock(START + timedelta(hours=2, minutes=30))
    service = open_service(clock, extra="retention: {windows: 30d, profiles: 4h}\n")
    _post(service, records(100, start=START))
    service.evaluate_due()
    clock.now = START + timedelta(hours=12)
    service.evaluate_due()
    assert service.store.profile(MODEL, START) is not None
    assert service.prune().profiles >= 1
    assert service.store.profile(MODEL, START) is None
    assert _starts(service)[0] == START  # the window and its results stay
    assert service.store.results(MODEL, start=START, end=START + timedelta(hours=1))
    shares = _call(
        service,
        "GET",
        f"/api/v1/models/{MODEL}/distribution",
        params={"column": "income", "window": START.isoformat()},
    )
    assert shares.status_code == 400
    assert "deleted after retention.profiles (4h)" in shares.json()["detail"]


def test_the_windows_a_reference_is_built_from_outlive_retention(open_service):
    clock = Clock(START + timedelta(hours=2, minutes=30))
    first = "reference: {first_windows: 1}"
    service = open_service(clock, reference=first)
    _post(service, records(100, start=START))
    _post(service, records(100, start=START + timedelta(hours=1), seed=2))
    service.evaluate_due()
    clock.now = START + timedelta(hours=12)
    service.evaluate_due()
    pruned = service.prune()
    assert (pruned.windows, pruned.predictions) == (1, 100)  # 11:00 goes, 10:00 stays
    assert _starts(service)[:2] == [START, START + timedelta(hours=2)]

    service.close()
    restarted = open_service(clock, reference=first)
    reference = restarted.reference(MODEL)
    assert reference is not None
    assert reference.table.num_rows == 100
    restarted.evaluate_due()
    assert START + timedelta(hours=1) not in _starts(restarted)  # not evaluated again


def test_alert_history_notifications_and_silences_go_after_their_retention(open_service):
    clock = Clock(START)
    service = open_service(clock)
    store = service.store
    note = {
        "receiver": "team",
        "group_labels": {"alertname": "a"},
        "external_url": "",
        "alerts": [],
    }
    store.save_alerts(None, [("k", "firing", {"labels": {}})], [("team", note)], {}, now=START)
    store.mark_delivered(store.outbox()[0]["id"], START)
    waiting = {**note, "group_labels": {"alertname": "b"}}
    store.save_alerts(None, [], [("team", waiting)], {}, now=START)
    short = service.add_silence(
        {"alertname": "a"}, duration=timedelta(hours=1), created_by="x", comment="maintenance"
    )
    long = service.add_silence(
        {"alertname": "b"}, duration=timedelta(days=60), created_by="x", comment="migration"
    )

    clock.now = START + timedelta(days=8)  # notifications are kept 7 days
    assert service.prune().notifications == 1
    assert [n["delivered_at"] for n in store.outbox()] == [None]
    assert {s.id for s in service.silences()} == {short.id, long.id}

    clock.now = START + timedelta(days=32)  # the short silence ended 31 days ago
    assert service.prune().silences == 1
    assert {s.id for s in service.silences()} == {long.id}

    clock.now = START + timedelta(days=91)
    assert service.prune().alert_events == 1
    assert store.alert_events() == []
    assert len(store.outbox()) == 1  # never delivered: never pruned


def test_a_running_service_prunes_by_itself(serve_with, auth):
    served = serve_with("retention: {windows: 2h, ingest_batches: 1s, silences: 1s}\n")
    now = datetime.now(UTC)
    old, recent = (
        records(50, start=now - timedelta(hours=5)),
        records(50, start=now - timedelta(minutes=31), prefix="r"),
    )
    predictions = f"{served.url}/api/v1/models/{MODEL}/predictions"
    keyed = {**auth, "Idempotency-Key": "batch-1"}
    assert httpx.post(predictions, json={"records": old}, headers=keyed).status_code == 201
    assert httpx.post(predictions, json={"records": recent}, headers=auth).status_code == 201
    silence = {"matchers": {"alertname": "a"}, "duration": 1, "created_by": "x", "comment": "y"}
    assert httpx.post(f"{served.url}/api/v1/silences", json=silence, headers=auth).is_success

    def counts() -> int:
        models = httpx.get(f"{served.url}/api/v1/models", headers=auth).json()["models"]
        return models[0]["predictions"]

    wait_until(lambda: counts() == 50)  # the windows of 5 h ago went, with their rows
    windows = httpx.get(f"{served.url}/api/v1/models/{MODEL}/windows", headers=auth).json()
    cut = now - timedelta(hours=2)
    assert all(datetime.fromisoformat(w["end"]) >= cut for w in windows["windows"])
    wait_until(
        lambda: httpx.get(f"{served.url}/api/v1/silences", headers=auth).json()["silences"] == []
    )
    # Its idempotency key went too: the same batch is stored again, not a duplicate.
    wait_until(
        lambda: (
            not httpx.post(predictions, json={"records": old}, headers=keyed).json()[
                "duplicate_batch"
            ]
        )
    )
