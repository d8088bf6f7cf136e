"""Schemathesis drives the running service from its OpenAPI schema.

No generated request gets a 5xx, and every answer is one the schema documents: its
status, its content type and its body (the response models, the error bodies).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_data import AUTH, START, records, write_config

from mlvigil.service.app import create_app
from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import PERFORMANCE_TYPE, PROFILE_TYPE
from mlvigil.service.monitor import MonitoringService

# Pushed profiles are bytes like Parquet bodies: generated ones are arbitrary bytes,
# which the service must refuse with a documented 4xx.
schemathesis.serializer.alias(PROFILE_TYPE, "application/octet-stream")
schemathesis.serializer.alias(PERFORMANCE_TYPE, "application/octet-stream")

#: What every generated request's response is checked for.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def fill(url: str) -> None:
    """A drifted, labelled, evaluated first hour and a silence: bodies with content."""
    batch = records(300, seed=5, income_shift=25_000, null_income=0.2)
    labels = [{"id": r["id"], "label": r["prediction"]} for r in batch[:200]]
    with httpx.Client(base_url=url, timeout=30, headers=AUTH) as client:
        for path, body in (("predictions", batch), ("labels", labels)):
            client.post(f"/api/v1/models/credit/{path}", json={"records": body}).raise_for_status()
        client.post(
            "/api/v1/models/credit/evaluate",
            params={"start": START.isoformat(), "end": (START + timedelta(hours=1)).isoformat()},
        ).raise_for_status()
        silence = {
            "matchers": {"model": "credit"},
            "duration": 3600,
            "created_by": "t",
            "comment": "c",
        }
        client.post("/api/v1/silences", json=silence).raise_for_status()


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service under uvicorn in a thread, on a free port, over real HTTP."""
    service = MonitoringService(load_service_config(write_config(tmp_path_factory.mktemp("st"))))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service, schedule=False),
            host="127.0.0.1",
            port=port,
            log_config=None,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    fill(f"http://127.0.0.1:{port}")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join()
    service.close()


def test_every_generated_request_gets_a_documented_answer_never_a_server_error(service_url):
    schema = schemathesis.openapi.from_url(f"{service_url}/openapi.json", headers=AUTH)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def call(case: schemathesis.Case) -> None:
            if case.path_parameters and "model" in case.path_parameters:
                case.path_parameters["model"] = "credit"  # random names only reach the 404
            # Generous: an evaluate of up to 1,000 windows holds the evaluation lock, and
            # what is checked is the answer's documentation, not its speed.
            case.call_and_validate(base_url=service_url, headers=AUTH, checks=CHECKS, timeout=60)

        call()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
FIELDS = ("id", "timestamp", "prediction", "score", "latency_ms", "model_version")
FEATURES = ("income", "age", "region")


@given(
    records=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                **dict.fromkeys(FIELDS, JSON_VALUES),
                "features": st.fixed_dictionaries({}, optional=dict.fromkeys(FEATURES, JSON_VALUES))
                | JSON_VALUES,
            },
        ),
        min_size=1,
        max_size=4,
    ),
    labels=st.lists(
        st.fixed_dictionaries(
            {}, optional={"id": JSON_VALUES, "label": JSON_VALUES, "timestamp": JSON_VALUES}
        ),
        min_size=1,
        max_size=3,
    ),
)
@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_records_of_any_shape_get_a_clear_answer_never_a_server_error(service_url, records, labels):
    with httpx.Client(base_url=service_url, headers=AUTH) as client:
        for path, body in (("predictions", records), ("labels", labels)):
            response = client.post(f"/api/v1/models/credit/{path}", json={"records": body})
            assert response.status_code in (201, 422), response.text
            if response.status_code == 422:
                assert response.json()["problems"]
