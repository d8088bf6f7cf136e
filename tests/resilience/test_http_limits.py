"""HTTP limits of a real `mlvigil serve`: slow clients, bodies in flight, pages, text caps.

- A client that sends half a request line, its headers a byte at a time, or stops in
  the middle of its body is answered 408 and disconnected (``limits.header_timeout``,
  ``limits.body_timeout``); uvicorn alone kept such connections for ever.
- Bodies in flight are bounded across requests (``limits.max_bodies_in_flight_bytes``):
  past the budget, 503 with ``Retry-After``; a chunked body is counted as it arrives.
- ``GET /results`` comes in pages (``limits.results_page_size``) with a cursor.
- A silence's text is capped (``limits.max_string_length``), and a non-finite
  ``duration`` gets a 422 whose body encodes (it was a 500).
- ``/docs`` loads Swagger UI from the service, not a CDN; answers carry ``nosniff``.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from serving import Served, launch, stop

from live_servers import wait_until
from service.service_data import AUTH, START, TOKEN, records

MODEL = "credit"
PREDICTIONS = f"/api/v1/models/{MODEL}/predictions"

GUARDED = """
limits: {header_timeout: 1s, body_timeout: 1s}
"""
LIMITED = """
max_body_bytes: 65536
limits:
  max_bodies_in_flight_bytes: 100000
  results_page_size: 50
  max_string_length: 64
"""


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A service that gives a request 1 s for its headers and 1 s for its body."""
    served = launch(tmp_path_factory.mktemp("guarded"), GUARDED)
    yield served
    stop(served)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A service with small body, budget, page and text limits."""
    served = launch(tmp_path_factory.mktemp("limited"), LIMITED)
    yield served
    stop(served)


def _connect(served: Served) -> socket.socket:
    host, port = served.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=15)


def _until_closed(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    answer = b""
    try:
        while chunk := client.recv(65536):
            answer += chunk
    except TimeoutError:
        pytest.fail(f"the server kept the connection open; it sent {answer[:200]!r}")
    except ConnectionResetError:
        pass
    return answer


def _head(method: str, path: str, **headers: str | int) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {TOKEN}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# -- slow clients -----------------------------------------------------------------------


def test_half_a_request_line_is_answered_408_and_disconnected(guarded):
    with _connect(guarded) as client:
        client.sendall(b"GET /heal")
        answer = _until_closed(client)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"limits.header_timeout" in answer


def test_headers_sent_a_byte_at_a_time_are_cut_off_at_their_deadline(guarded):
    trickle = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    with _connect(guarded) as client:
        for byte in trickle:  # 10 s of bytes: each one used to reset nothing
            try:
                client.sendall(bytes([byte]))
            except OSError:
                break
            if select.select([client], [], [], 0.05)[0]:
                break  # the server answered
        answer = _until_closed(client)
    assert answer.startswith(b"HTTP/1.1 408")


def test_a_body_that_stops_arriving_is_answered_408_and_disconnected(guarded):
    head = _head("POST", PREDICTIONS, Content_Type="application/json", Content_Length=100)
    with _connect(guarded) as client:
        client.sendall(head + b'{"records": [')
        answer = _until_closed(client)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"limits.body_timeout" in answer
    assert httpx.get(f"{guarded.url}/healthz").status_code == 200


def test_a_kept_alive_connection_stalling_in_its_next_request_is_disconnected(guarded):
    with _connect(guarded) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while not re.search(rb"\r\n\r\n\{.*\}", first, re.S):
            first += client.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        client.sendall(b"GET /hea")  # the next request, never finished
        answer = _until_closed(client)
    assert answer.startswith(b"HTTP/1.1 408")


def test_headers_over_64_kib_are_refused_431(limited):
    with _connect(limited) as client:
        client.sendall(_head("GET", "/healthz", X_Big="a" * 70_000))
        answer = _until_closed(client)
    assert answer.startswith(b"HTTP/1.1 431")


# -- bodies in flight -------------------------------------------------------------------


@contextlib.contextmanager
def _hold(served: Served, size: int) -> Iterator[socket.socket]:
    """A request that reserved ``size`` bytes of body and sends them when done with."""
    with _connect(served) as client:
        head = _head(
            "POST",
            PREDICTIONS,
            Content_Type="application/json",
            Content_Length=size,
            Expect="100-continue",
            Connection="close",
        )
        client.sendall(head)
        # "100 Continue" is sent once the service reads the body: it has reserved it.
        assert client.recv(1024).startswith(b"HTTP/1.1 100")
        yield client
        client.sendall(b'{"records": []}'.ljust(size))
        # Answered (a 4xx: no records) once its body is read, and its bytes released.
        assert _until_closed(client).startswith(b"HTTP/1.1 4")


def test_bodies_past_the_budget_get_503_with_retry_after_until_one_ends(limited):
    with _hold(limited, 60_000), _connect(limited) as client:
        client.sendall(
            _head("POST", PREDICTIONS, Content_Type="application/json", Content_Length=60_000)
        )
        refused = _until_closed(client)
        assert refused.startswith(b"HTTP/1.1 503")
        assert re.search(rb"(?i)\r\nretry-after: 1\r\n", refused)
        assert b"max_bodies_in_flight_bytes" in refused
        small = httpx.post(
            f"{limited.url}{PREDICTIONS}", json={"records": records(5)}, headers=AUTH
        )
        assert small.status_code == 201  # what fits in the budget still goes in
    with _hold(limited, 60_000), _hold(limited, 40_000):
        pass  # the budget is whole again


def test_a_chunked_body_reserves_as_it_arrives(limited):
    with _hold(limited, 60_000), _connect(limited) as client:
        client.sendall(
            _head("POST", PREDICTIONS, Content_Type="application/json", Transfer_Encoding="chunked")
        )
        for _ in range(5):  # 50,000 bytes: 10,000 over what the budget has left
            client.sendall(b"2710\r\n" + b" " * 10_000 + b"\r\n")
        assert _until_closed(client).startswith(b"HTTP/1.1 503")


def test_a_chunked_body_over_max_body_bytes_gets_413_on_any_route(limited):
    with _connect(limited) as client:  # FastAPI read such a body whole, however large
        client.sendall(
            _head(
                "POST",
                "/api/v1/silences",
                Content_Type="application/json",
                Transfer_Encoding="chunked",
            )
        )
        for _ in range(7):  # 70,000 bytes > 65,536
            client.sendall(b"2710\r\n" + b" " * 10_000 + b"\r\n")
        assert _until_closed(client).startswith(b"HTTP/1.1 413")


# -- pages of results -------------------------------------------------------------------


def _pages(served: Served, **params: str | int) -> list[dict]:
    """Every page of the first three hours' results, following ``next_cursor``."""
    query = {"start": START.isoformat(), "end": (START + timedelta(hours=3)).isoformat()}
    pages, cursor = [], None
    while True:
        page = httpx.get(
            f"{served.url}/api/v1/models/{MODEL}/results",
            params={**query, **params, **({"cursor": cursor} if cursor else {})},
            headers=AUTH,
        ).json()
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def test_results_come_in_pages_that_add_up_to_all_of_them(limited):
    for hour in range(3):
        rows = records(60, start=START + timedelta(hours=hour), seed=hour, prefix=f"h{hour}-")
        posted = httpx.post(f"{limited.url}{PREDICTIONS}", json={"records": rows}, headers=AUTH)
        assert posted.status_code == 201

    def evaluated() -> bool:
        windows = httpx.get(f"{limited.url}/api/v1/models/{MODEL}/windows", headers=AUTH).json()
        return len([w for w in windows["windows"] if w["rows"]]) >= 3

    wait_until(evaluated)
    default, small = _pages(limited), _pages(limited, limit=7)
    assert all(len(p["results"]) <= 50 for p in default)
    assert len(default) >= 2  # three windows hold more results than one page
    assert all(len(p["results"]) <= 7 for p in small)
    rows = [r for p in default for r in p["results"]]
    assert rows == [r for p in small for r in p["results"]]
    assert len({(r["window_start"], r["check"], r["metric"], r["column"]) for r in rows}) > 50
    starts = [r["window_start"] for r in rows]
    assert starts == sorted(starts)


def test_a_page_larger_than_the_page_size_or_a_foreign_cursor_is_refused(limited):
    url = f"{limited.url}/api/v1/models/{MODEL}/results"
    too_many = httpx.get(url, params={"limit": 51}, headers=AUTH)
    assert too_many.status_code == 400
    assert "limits.results_page_size" in too_many.json()["detail"]
    forged = httpx.get(url, params={"cursor": "not-a-cursor"}, headers=AUTH)
    assert forged.status_code == 400
    assert "next_cursor" in forged.json()["detail"]


# -- silences ---------------------------------------------------------------------------

SILENCE = {"matchers": {"alertname": "drift"}, "duration": 3600, "created_by": "ana"}


@pytest.mark.parametrize(
    ("field", "silence"),
    [
        ("comment", {**SILENCE, "comment": "x" * 65}),
        ("created_by", {**SILENCE, "created_by": "x" * 65, "comment": "retraining"}),
        ("alertname", {**SILENCE, "matchers": {"alertname": "x" * 65}, "comment": "c"}),
    ],
)
def test_silence_text_over_the_cap_is_refused_naming_the_field(limited, field, silence):
    answer = httpx.post(f"{limited.url}/api/v1/silences", json=silence, headers=AUTH)
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["loc"][-1] == field
    assert "at most 64" in problem["msg"]
    listed = httpx.get(f"{limited.url}/api/v1/silences", headers=AUTH).json()["silences"]
    assert not [s for s in listed if "x" * 65 in str(s)]  # nothing stored


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_silence_with_a_non_finite_duration_gets_a_422_that_encodes(limited, number):
    body = (
        f'{{"matchers": {{"alertname": "drift"}}, "duration": {number}, "created_by": "ana", '
        '"comment": "retraining"}'
    )
    answer = httpx.post(
        f"{limited.url}/api/v1/silences",
        content=body,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["loc"] == ["body", "duration"]
    assert problem["input"] == number


# -- docs and headers -------------------------------------------------------------------


def test_docs_load_swagger_ui_from_the_service_itself(limited):
    page = httpx.get(f"{limited.url}/docs", headers=AUTH)
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", page.text)
    assert assets
    assert not [a for a in assets if "//" in a]  # nothing from another host
    assert "url: '/openapi.json'" in page.text
    for asset in assets:
        assert httpx.get(f"{limited.url}{asset}").status_code == 200, asset


def test_answers_are_marked_nosniff(limited):
    for path, headers in (
        ("/api/v1/models", AUTH),  # 200
        ("/api/v1/models/nope", AUTH),  # 404
        ("/api/v1/models", {}),  # 401, from the gate
    ):
        answer = httpx.get(f"{limited.url}{path}", headers=headers)
        assert answer.headers["x-content-type-options"] == "nosniff", (path, answer.status_code)
