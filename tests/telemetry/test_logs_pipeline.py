"""JSON logs: structlog and stdlib in one chain, with trace and request ids, and no PII."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from mlvigil.telemetry.correlation import CorrelationIdMiddleware, current_request_id
from mlvigil.telemetry.logs import configure_logging, get_logger, reset_logging
from mlvigil.telemetry.redaction import Redactor, redact_text

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    level = logging.getLogger().level
    configure_logging(stream=stream, level="DEBUG")
    yield stream
    reset_logging()
    logging.getLogger().setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_structlog_and_stdlib_records_come_out_as_the_same_json(output):
    get_logger("svc").info("scored", rows=3)
    logging.getLogger("uvicorn.error").warning("worker %s restarted", 7)
    first, second = lines(output)
    assert first["event"] == "scored"
    assert first["rows"] == 3
    assert (first["level"], first["logger"]) == ("info", "svc")
    assert second["event"] == "worker 7 restarted"
    assert (second["level"], second["logger"]) == ("warning", "uvicorn.error")
    for line in (first, second):
        assert ISO_UTC.match(str(line["timestamp"])), line["timestamp"]


def test_level_filters_both_structlog_and_stdlib():
    stream = io.StringIO()
    configure_logging(stream=stream, level="WARNING")
    try:
        get_logger("svc").info("hidden")
        logging.getLogger("lib").info("hidden too")
        get_logger("svc").error("shown")
    finally:
        reset_logging()
        logging.getLogger().setLevel(logging.WARNING)
    assert [line["event"] for line in lines(stream)] == ["shown"]


def test_configuring_twice_does_not_duplicate_lines(output):
    configure_logging(stream=output)
    get_logger().info("once")
    assert len(lines(output)) == 1


def test_log_lines_carry_the_current_trace_and_span_ids(output):
    provider = TracerProvider()
    with provider.get_tracer("t").start_as_current_span("predict") as span:
        get_logger().info("inside")
        logging.getLogger("lib").info("stdlib inside")
    provider.shutdown()
    get_logger().info("outside")
    inside, stdlib_inside, outside = lines(output)
    context = span.get_span_context()
    for line in (inside, stdlib_inside):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in outside


PII = {
    "email": "jane.doe@example.com",
    "card": "4111-1111-1111-1111",
    "ssn": "078-05-1120",
    "phone": "+1 415 555 0132",
    "password": "hunter2-correct-horse",
}


def test_raw_pii_never_reaches_the_output(output):
    log = get_logger("signup")
    log.info(
        f"signup from {PII['email']}",
        customer={"contact": {"Phone-Number": PII["phone"]}, "notes": [f"ssn {PII['ssn']}"]},
        password=PII["password"],
        latency_ms=12.5,
        model_version="2.1.0",
    )
    logging.getLogger("payments").info(
        "charging card %s", PII["card"], extra={"user_email": PII["email"]}
    )
    try:
        raise ValueError(f"card {PII['card']} declined for {PII['email']}")
    except ValueError:
        log.exception("payment failed")
        logging.getLogger("payments").exception("stdlib payment failed, ssn %s", PII["ssn"])

    text = output.getvalue()
    for kind, value in PII.items():
        assert value not in text, f"raw {kind} leaked"
    first, second, third, fourth = lines(output)
    assert first["event"] == "signup from [EMAIL]"
    assert first["customer"]["notes"] == ["ssn [SSN]"]
    assert str(first["customer"]["contact"]["Phone-Number"]).startswith("sha256:")
    assert str(first["password"]).startswith("sha256:")
    assert (first["latency_ms"], first["model_version"]) == (12.5, "2.1.0")
    assert second["event"] == "charging card [CARD]"
    assert str(second["user_email"]).startswith("sha256:")
    assert "ValueError: card [CARD] declined for [EMAIL]" in str(third["exception"])
    assert "[CARD]" in str(fourth["exception"])


def test_hashed_values_are_stable_so_lines_can_be_joined():
    redact = Redactor(salt="pepper")
    one = redact(None, "info", {"email": "a@b.io"})
    two = redact(None, "info", {"EMAIL": "a@b.io"})
    other = Redactor(salt="other")(None, "info", {"email": "a@b.io"})
    assert one["email"] == two["EMAIL"] != other["email"]


@pytest.mark.parametrize(
    "harmless",
    [
        "2026-11-24T19:22:12.123456Z",
        "550e8400-e29b-41d4-a716-446655440000",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
        "model 2.10.3 took 12.5 ms for 1000 rows",
        "192.168.10.200:8000",
        "window 2026-11-24 13:00 to 14:00",
    ],
)
def test_ids_timestamps_and_numbers_are_not_mistaken_for_pii(harmless):
    assert redact_text(harmless) == harmless


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111111111111111", "[CARD]"),
        ("4111 1111 1111 1112", "[CARD]"),  # fails Luhn: still masked
        ("call (415) 555-0132 now", "call [PHONE] now"),
        ("call 415-555-0132", "call [PHONE]"),
        ("+44 20 7946 0958", "[PHONE]"),
        ("ssn=078-05-1120;", "ssn=[SSN];"),
        ("To: First.Last+tag@mail.example.co.uk", "To: [EMAIL]"),
    ],
)
def test_pii_patterns_are_masked(text, expected):
    assert redact_text(text) == expected


def test_each_request_logs_its_own_id_even_when_concurrent(output):
    app = FastAPI()
    log = get_logger("api")

    @app.get("/work/{n}")
    async def work(n: int) -> dict[str, str | None]:
        log.info("start", n=n)
        await asyncio.sleep(0.01 * (3 - n))  # interleave the requests
        log.info("end", n=n)
        return {"request_id": current_request_id()}

    app.add_middleware(CorrelationIdMiddleware)

    async def call_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await asyncio.gather(
                client.get("/work/0", headers={"X-Request-ID": "gateway-7"}),
                client.get("/work/1", headers={"X-Request-ID": 'bad id\n{"forged": 1}'}),
                client.get("/work/2"),
            )

    echoed, replaced, generated = asyncio.run(call_all())
    assert echoed.headers["x-request-id"] == "gateway-7"
    assert replaced.headers["x-request-id"] != 'bad id\n{"forged": 1}'
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    for n, response in enumerate((echoed, replaced, generated)):
        request_id = response.headers["x-request-id"]
        assert response.json() == {"request_id": request_id}
        mine = [line for line in lines(output) if line.get("n") == n]
        assert [line["event"] for line in mine] == ["start", "end"]
        assert {line["request_id"] for line in mine} == {request_id}
    assert current_request_id() is None


def test_console_renderer_writes_readable_lines_not_json():
    stream = io.StringIO()
    configure_logging(stream=stream, renderer="auto")  # a StringIO is not a terminal: JSON
    get_logger("svc").info("as json")
    configure_logging(stream=stream, renderer="console")
    try:
        get_logger("svc").info("for people", rows=3)
    finally:
        reset_logging()
    json_line, console_line = stream.getvalue().splitlines()
    assert json.loads(json_line)["event"] == "as json"
    assert "for people" in console_line
    assert "rows=3" in console_line
    assert not console_line.startswith("{")
