"""The OpenAPI schema documents every answer, and real answers conform to it.

Every operation documents a body schema for each status it lists (its success and the
errors of :mod:`mlvigil.service.errors`); a service with drifted, labelled windows,
firing alerts and a silence answers each operation with a body its schema accepts,
including the dashboard's model view, which is written with orjson and not validated by
FastAPI on the way out.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pyarrow as pa
import pytest
import schemathesis
from service_data import AUTH, START, records

from mlvigil.checks.performance_state import PerformanceState
from mlvigil.exceptions import InputError
from mlvigil.io.conform import ConformError
from mlvigil.profile import profile_table
from mlvigil.service.api_models import ModelSchemaBody
from mlvigil.service.app import create_app
from mlvigil.service.auth import AccessError
from mlvigil.service.config import SchemaModel
from mlvigil.service.errors import ERROR_STATUS, BodyTooLargeError, error_body, status_of
from mlvigil.service.ingest import PERFORMANCE_TYPE, PROFILE_TYPE, BadBatchError, Problem
from mlvigil.service.lookup_errors import UnknownModelError

MODEL = "/api/v1/models/{model}"


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost", headers=AUTH
        ) as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(send())


@pytest.fixture
def app(service_factory) -> Any:
    return create_app(service_factory(), schedule=False)


@pytest.fixture
def openapi(app) -> dict[str, Any]:
    return call(app, "GET", "/openapi.json").json()


def test_every_operation_documents_a_body_schema_for_each_status(openapi):
    operations = [
        (path, method, op) for path, ops in openapi["paths"].items() for method, op in ops.items()
    ]
    assert len(operations) >= 19
    undocumented = []
    for path, method, operation in operations:
        responses = operation["responses"]
        if not any(status.startswith("2") for status in responses):
            undocumented.append(f"{method} {path}: no success status")
        for status, response in responses.items():
            schemas = [media.get("schema") for media in response.get("content", {}).values()]
            if not schemas or not all(s and ("$ref" in s or "type" in s) for s in schemas):
                undocumented.append(f"{method} {path} {status}: {response}")
    assert undocumented == []


def test_errors_are_documented_as_json_with_the_detail_even_on_the_html_report(openapi):
    report = openapi["paths"][f"{MODEL}/report"]["get"]["responses"]
    assert list(report["200"]["content"]) == ["text/html"]
    for status in ("400", "404"):
        assert report[status]["content"] == {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
        }
    ingest = openapi["paths"][f"{MODEL}/predictions"]["post"]["responses"]
    assert sorted(ingest) == [
        "201",
        "400",
        "401",
        "403",
        "404",
        "408",
        "409",
        "413",
        "415",
        "422",
        "503",
    ]
    bad_batch = ingest["422"]["content"]["application/json"]["schema"]
    assert bad_batch == {"$ref": "#/components/schemas/BadBatchBody"}


def test_an_exception_takes_the_status_of_its_nearest_class_in_the_table():
    assert status_of(UnknownModelError("nope", ["credit"])) == 404
    assert status_of(BodyTooLargeError("too big")) == 413
    assert status_of(ConformError("not a number")) == 400  # an InputError, not in the table
    client_mistakes = (InputError, AccessError)
    assert all(
        issubclass(cls, client_mistakes) or status >= 500 for cls, status in ERROR_STATUS.items()
    )
    body = error_body(BadBatchError([Problem(2, "age", "expected a number")]))
    assert body["problems"] == [{"row": 2, "field": "age", "message": "expected a number"}]
    assert body["problem_count"] == 1


def test_the_model_schema_body_has_every_field_of_the_configured_schema():
    assert list(ModelSchemaBody.model_fields) == list(SchemaModel.model_fields)


def _fill(app: Any) -> None:
    """Two windows, the second drifted with null incomes (alerts fire), labels, a silence."""
    batch = records(300, seed=1) + records(
        300, seed=2, start=START + timedelta(hours=1), income_shift=25_000, null_income=0.3
    )
    labels = [{"id": r["id"], "label": r["prediction"]} for r in batch[::2]]
    for kind, body in (("predictions", batch), ("labels", labels)):
        response = call(app, "POST", f"/api/v1/models/credit/{kind}", json={"records": body})
        assert response.status_code == 201, response.text
    end = START + timedelta(hours=2)
    params = {"start": START.isoformat(), "end": end.isoformat()}
    assert call(app, "POST", "/api/v1/models/credit/evaluate", params=params).status_code == 200


def pushed_profile() -> bytes:
    """A profile of some of the credit model's rows, as a Spark job would push it."""
    rows = [{**r["features"], "prediction": r["prediction"]} for r in records(50, seed=4)]
    return profile_table(pa.Table.from_pylist(rows)).serialize()


def test_a_filled_service_answers_every_operation_as_its_schema_documents(app, openapi):
    _fill(app)
    schema = schemathesis.openapi.from_dict(openapi)
    silence = {"matchers": {"alertname": "dataset_drift"}, "duration": 600}
    silence |= {"created_by": "on-call", "comment": "known"}
    credit = "/api/v1/models/credit"
    window = (START + timedelta(hours=1)).isoformat()
    later = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}
    requests: list[tuple[str, str, str, int, dict[str, Any]]] = [
        (
            "POST",
            f"{MODEL}/predictions",
            f"{credit}/predictions",
            201,
            {"json": {"records": records(3, seed=9)}},
        ),
        ("POST", f"{MODEL}/predictions", f"{credit}/predictions", 422, {"json": {"records": [{}]}}),
        (  # an idempotency key reused for another body
            "POST",
            f"{MODEL}/predictions",
            f"{credit}/predictions",
            409,
            {"json": {"records": records(2, seed=9)}, "headers": {"Idempotency-Key": "k"}},
        ),
        (
            "POST",
            f"{MODEL}/labels",
            f"{credit}/labels",
            201,
            {"json": {"records": [{"id": "x", "label": 1}]}},
        ),
        ("GET", "/api/v1/models", "/api/v1/models", 200, {}),
        ("GET", MODEL, credit, 200, {}),
        ("GET", f"{MODEL}/windows", f"{credit}/windows", 200, {}),
        ("GET", f"{MODEL}/results", f"{credit}/results", 200, {}),
        ("POST", "/api/v1/silences", "/api/v1/silences", 201, {"json": silence}),
        ("GET", "/api/v1/silences", "/api/v1/silences", 200, {}),
        ("GET", "/api/v1/alerts", "/api/v1/alerts", 200, {}),
        ("GET", "/api/v1/alerts/history", "/api/v1/alerts/history", 200, {}),
        (
            "POST",
            "/api/v1/alerts/test",
            "/api/v1/alerts/test",
            404,
            {"json": {"receiver": "pager"}},
        ),
        ("GET", "/api/v1/overview", "/api/v1/overview", 200, {}),
        ("GET", "/api/v1/slos", "/api/v1/slos", 200, {}),
        # The credit model has no canary guards: a 400 saying what to add.
        (
            "GET",
            f"{MODEL}/canary",
            f"{credit}/canary",
            400,
            {"params": {"baseline": "1", "candidate": "2"}},
        ),
        ("GET", f"{MODEL}/dashboard", f"{credit}/dashboard", 200, {}),
        (
            "GET",
            f"{MODEL}/distribution",
            f"{credit}/distribution",
            200,
            {"params": {"column": "income"}},
        ),
        (
            "GET",
            f"{MODEL}/distribution",
            f"{credit}/distribution",
            400,
            {"params": {"column": "wage"}},
        ),
        ("GET", f"{MODEL}/report", f"{credit}/report", 200, {"params": {"window": window}}),
        ("GET", f"{MODEL}/report", "/api/v1/models/nope/report", 404, {}),
        ("GET", "/healthz", "/healthz", 200, {}),
        ("GET", "/readyz", "/readyz", 200, {}),
        (  # late: a window pushed as a profile (what a Spark job sends) is the newest
            "POST",
            f"{MODEL}/profiles",
            f"{credit}/profiles",
            201,
            {
                "params": {"window": (START + timedelta(days=2)).isoformat()},
                "content": pushed_profile(),
                "headers": {"Content-Type": PROFILE_TYPE},
            },
        ),
        (
            "POST",
            f"{MODEL}/profiles",
            f"{credit}/profiles",
            400,
            {
                "params": {"window": START.isoformat()},
                "content": b"no profile",
                "headers": {"Content-Type": PROFILE_TYPE},
            },
        ),
        (  # its labels, as a performance state
            "POST",
            f"{MODEL}/performance",
            f"{credit}/performance",
            201,
            {
                "params": {"window": (START + timedelta(days=2)).isoformat()},
                "content": PerformanceState.of_arrays(
                    y_true=[1, 0, 1, 0],
                    y_pred=[1, 0, 0, 0],
                    y_score=[0.9, 0.1, 0.4, 0.2],
                    positive_label=1,
                ).serialize(),
                "headers": {"Content-Type": PERFORMANCE_TYPE},
            },
        ),
        (
            "POST",
            f"{MODEL}/performance",
            f"{credit}/performance",
            400,
            {
                "params": {"window": START.isoformat()},
                "content": b"no state",
                "headers": {"Content-Type": PERFORMANCE_TYPE},
            },
        ),
        # Last: it adds empty windows after the data.
        ("POST", f"{MODEL}/evaluate", f"{credit}/evaluate", 200, {"params": later}),
    ]
    first = {"records": records(1, seed=8)}
    key = {"Idempotency-Key": "k"}
    assert call(app, "POST", f"{credit}/predictions", json=first, headers=key).status_code == 201
    answered: dict[str, Any] = {}
    for method, template, path, status, kwargs in requests:
        response = call(app, method, path, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        schema[template][method].validate_response(response)
        answered[f"{method} {path}"] = response
    silence_id = answered["POST /api/v1/silences"].json()["id"]
    expired = call(app, "DELETE", f"/api/v1/silences/{silence_id}")
    schema["/api/v1/silences/{silence_id}"]["DELETE"].validate_response(expired)
    assert expired.json()["active"] is False

    covered = {(method, template) for method, template, *_ in requests}
    covered.add(("DELETE", "/api/v1/silences/{silence_id}"))
    documented = {(m.upper(), p) for p, ops in openapi["paths"].items() for m in ops}
    assert documented == covered
    # The bodies checked are not empty ones: alerts fired, results and scores exist.
    assert answered["GET /api/v1/alerts"].json()["alerts"]
    view = answered[f"GET {credit}/dashboard"].json()
    assert view["alerts"]
    assert view["silences"]
    assert view["quality_latest"]
    assert any(score is not None for row in view["drift_scores"]["scores"] for score in row)
