"""A clean stop: on SIGTERM or SIGINT `mlvigil serve` finishes what is in flight,
checkpoints its store and exits 0.

uvicorn raised the signal again once it had stopped, so the process died with 143
before the store was closed: its write-ahead log was left for the next start to
replay, and the README's "checkpoints the store" was not true.
"""

from __future__ import annotations

import signal
import socket

import duckdb
import httpx
import pytest

from service.service_data import TOKEN, records

MODEL = "credit"


def _predictions(url: str, auth: dict[str, str]) -> int:
    models = httpx.get(f"{url}/api/v1/models", headers=auth).json()["models"]
    return next(m["predictions"] for m in models if m["name"] == MODEL)


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_checkpoints_the_store_and_exits_0(serve_with, auth, stop_with):
    served = serve_with()
    response = httpx.post(
        f"{served.url}/api/v1/models/{MODEL}/predictions",
        json={"records": records(300)},
        headers=auth,
    )
    assert response.status_code == 201
    wal = served.store.with_name(served.store.name + ".wal")
    assert wal.exists()  # acknowledged rows are in the write-ahead log until a checkpoint

    served.process.send_signal(stop_with)
    assert served.process.wait(timeout=60) == 0
    assert not wal.exists()  # checkpointed: everything is in the database file
    with duckdb.connect(str(served.store), read_only=True) as db:
        (table,) = db.execute("SELECT 'predictions_g' || row_table FROM models").fetchone()
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (300,)


def test_a_request_in_flight_finishes_before_the_process_exits(serve_with, auth):
    served = serve_with()
    body = httpx.Request(
        "POST", "http://x", json={"records": records(20, prefix="inflight")}
    ).content
    head = (
        f"POST /api/v1/models/{MODEL}/predictions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    )
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as client:
        client.sendall(head.encode())
        # "100 Continue" comes once the app reads the body: the request is in flight.
        assert client.recv(1024).startswith(b"HTTP/1.1 100")
        served.process.send_signal(signal.SIGTERM)
        client.sendall(body)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    assert served.process.wait(timeout=60) == 0

    restarted = serve_with(config=served.config)
    assert _predictions(restarted.url, auth) == 20
