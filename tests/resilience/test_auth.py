"""Nobody mutes the pager without a credential: tokens, scopes, trusted hosts, body types.

Every test talks to a real `mlvigil serve` over HTTP. The main service has three tokens
of the same length: ``sdk`` (ingest), ``viewer`` (read) and ``on-call`` (read, admin).
What each refused request tried is checked in the store afterwards: nothing changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from receivers import ScriptedReceiver
from typer.testing import CliRunner

from live_servers import free_port, start_logged, wait_until_serving
from mlvigil.cli.app import app as cli
from mlvigil.service.auth import check_exposure
from mlvigil.service.policies import Security, Token
from mlvigil.telemetry.records import PredictionRecord, RejectedBatchError
from mlvigil.telemetry.sinks import HttpSink
from service.service_data import START, records, write_config

SDK = "sdk-token-ingest-only-0123456789"
VIEWER = "viewer-token-read-only-012345678"
ON_CALL = "on-call-token-read-admin-0123456"
assert len(SDK) == len(VIEWER) == len(ON_CALL)

TOKENS = f"""
security:
  tokens:
    - {{name: sdk, scopes: [ingest], token: {SDK}}}
    - {{name: viewer, scopes: [read], token: {VIEWER}}}
    - {{name: on-call, scopes: [read, admin], token: {ON_CALL}}}
"""
MATCH_EVERYTHING = {
    "matchers": {"alertname": "~.*"},
    "duration": 3600,
    "created_by": "stranger",
    "comment": "mute it all",
}
WINDOW = {"start": START.isoformat(), "end": (START + timedelta(hours=1)).isoformat()}
CREDIT = "/api/v1/models/credit"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@dataclass(frozen=True)
class Service:
    url: str
    log: Path
    pager: ScriptedReceiver | None = None
    """The webhook behind receiver ``pager``, where a test page arrives."""

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", timeout=30, **kwargs)

    def predictions(self) -> int:
        models = self.call("GET", "/api/v1/models", headers=bearer(VIEWER)).json()["models"]
        return int(models[0]["predictions"])

    def silences(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/api/v1/silences", headers=bearer(VIEWER)).json()["silences"])

    def windows(self) -> list[dict[str, Any]]:
        return list(self.call("GET", f"{CREDIT}/windows", headers=bearer(VIEWER)).json()["windows"])


def _start(
    directory: Path, security: str, pager: ScriptedReceiver | None = None
) -> Iterator[Service]:
    config = write_config(directory, security=security)
    if pager is not None:
        hook = f"{pager.url}/hook"
        alerting = f"alerting:\n  receivers: {{pager: {{webhook: '{hook}'}}}}\n"
        config.write_text(config.read_text() + alerting + "  route: {receiver: pager}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    port = free_port()
    log = directory / "serve.log"
    argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(config)]
    server = start_logged([*argv, "--port", str(port)], log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/readyz", server, log)
        yield Service(url, log, pager)
    finally:
        server.kill()
        server.wait()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service with three tokens and a webhook receiver, ``pager``."""
    pager = ScriptedReceiver()
    try:
        yield from _start(tmp_path_factory.mktemp("auth"), TOKENS, pager)
    finally:
        pager.stop()


@pytest.fixture(scope="module")
def open_reads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    security = TOKENS.replace("security:\n", "security:\n  open_reads: true\n")
    security += '  trusted_hosts: [localhost, 127.0.0.1, "*.example.com"]\n'
    yield from _start(tmp_path_factory.mktemp("open-reads"), security)


@pytest.fixture(scope="module")
def tokenless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service on loopback with no tokens at all (local development)."""
    yield from _start(tmp_path_factory.mktemp("tokenless"), security="")


def _silence_id(service: Service) -> str:
    created = service.call(
        "POST",
        "/api/v1/silences",
        json={**MATCH_EVERYTHING, "duration": 60, "comment": "to expire"},
        headers=bearer(ON_CALL),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


ADMIN_ACTIONS: dict[str, Callable[[Service], tuple[str, str, dict[str, Any]]]] = {
    "create a silence matching every alert": lambda s: (
        "POST",
        "/api/v1/silences",
        {"json": MATCH_EVERYTHING},
    ),
    "expire a silence": lambda s: ("DELETE", f"/api/v1/silences/{_silence_id(s)}", {}),
    "evaluate windows": lambda s: ("POST", f"{CREDIT}/evaluate", {"params": WINDOW}),
    "send a test page": lambda s: ("POST", "/api/v1/alerts/test", {"json": {"receiver": "pager"}}),
}


def _state(service: Service) -> tuple[Any, ...]:
    """What an admin action changes: silences (active or not) and evaluated windows."""
    silences = [(s["id"], s["active"]) for s in service.silences()]
    return sorted(silences), len(service.windows())


@pytest.mark.parametrize("action", list(ADMIN_ACTIONS))
def test_every_admin_action_is_refused_without_a_token_or_with_one_lacking_admin(
    service: Service, action: str
) -> None:
    method, path, kwargs = ADMIN_ACTIONS[action](service)
    before = _state(service)

    anonymous = service.call(method, path, **kwargs)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "admin scope" in anonymous.json()["detail"]

    for name, secret in (("viewer", VIEWER), ("sdk", SDK)):
        refused = service.call(method, path, headers=bearer(secret), **kwargs)
        assert refused.status_code == 403, refused.text
        detail = refused.json()["detail"]
        assert f"token {name!r}" in detail
        assert "needs a token with the admin scope" in detail

    assert _state(service) == before
    assert service.pager is not None
    assert service.pager.seen == []  # no test page either
    log = service.log.read_text()
    assert f"refused {method} {path}" in log
    assert ON_CALL not in log
    assert VIEWER not in log
    assert SDK not in log


def test_admin_actions_are_taken_with_an_admin_token_and_logged_by_its_name(
    service: Service,
) -> None:
    admin = bearer(ON_CALL)
    silence = service.call("POST", "/api/v1/silences", json=MATCH_EVERYTHING, headers=admin)
    assert silence.status_code == 201, silence.text
    silence_id = silence.json()["id"]
    assert silence_id in [s["id"] for s in service.silences() if s["active"]]
    expired = service.call("DELETE", f"/api/v1/silences/{silence_id}", headers=admin)
    assert expired.status_code == 200
    assert expired.json()["active"] is False

    posted = service.call(
        "POST", f"{CREDIT}/predictions", json={"records": records(50, seed=4)}, headers=bearer(SDK)
    )
    assert posted.status_code == 201, posted.text
    evaluated = service.call("POST", f"{CREDIT}/evaluate", params=WINDOW, headers=admin)
    assert evaluated.status_code == 200, evaluated.text
    assert evaluated.json()["windows"][0]["rows"] == 50
    page = service.call("POST", "/api/v1/alerts/test", json={"receiver": "pager"}, headers=admin)
    assert page.status_code == 200, page.text
    assert service.pager is not None
    assert [seen.path for seen in service.pager.seen] == ["/hook"]

    log = service.log.read_text()
    assert "admin action by token 'on-call': POST /api/v1/silences answered 201" in log
    assert (
        f"admin action by token 'on-call': DELETE /api/v1/silences/{silence_id} answered 200" in log
    )
    assert f"admin action by token 'on-call': POST {CREDIT}/evaluate answered 200" in log
    assert "admin action by token 'on-call': POST /api/v1/alerts/test answered 200" in log
    assert ON_CALL not in log


def test_ingest_needs_a_token_with_the_ingest_scope(service: Service) -> None:
    before = service.predictions()
    batch = {"records": records(10, seed=5, prefix="ingest-scope")}
    labels = {"records": [{"id": r["id"], "label": 1} for r in batch["records"]]}
    for kind, body in (("predictions", batch), ("labels", labels)):
        assert service.call("POST", f"{CREDIT}/{kind}", json=body).status_code == 401
        for secret in (VIEWER, ON_CALL):  # admin does not imply ingest
            refused = service.call("POST", f"{CREDIT}/{kind}", json=body, headers=bearer(secret))
            assert refused.status_code == 403, refused.text
            assert "needs a token with the ingest scope" in refused.json()["detail"]
    assert service.predictions() == before

    for kind, body in (("predictions", batch), ("labels", labels)):
        stored = service.call("POST", f"{CREDIT}/{kind}", json=body, headers=bearer(SDK))
        assert stored.status_code == 201, stored.text
        assert stored.json()["stored"] == 10
    assert service.predictions() == before + 10


READS = [
    "/api/v1/models",
    f"{CREDIT}",
    f"{CREDIT}/windows",
    f"{CREDIT}/results",
    "/api/v1/overview",
    f"{CREDIT}/dashboard",
    "/api/v1/alerts",
    "/api/v1/alerts/history",
    "/api/v1/silences",
    "/metrics",
    "/openapi.json",
    "/docs",
]


def test_every_read_needs_the_read_scope_which_admin_implies(service: Service) -> None:
    for path in READS:
        anonymous = service.call("GET", path)
        assert anonymous.status_code == 401, path
        assert "read scope" in anonymous.json()["detail"]
        ingest_only = service.call("GET", path, headers=bearer(SDK))
        assert ingest_only.status_code == 403, path
        assert "needs a token with the read scope" in ingest_only.json()["detail"]
        for secret in (VIEWER, ON_CALL):
            assert service.call("GET", path, headers=bearer(secret)).status_code == 200, path


def test_probes_and_the_dashboard_page_need_no_token(service: Service) -> None:
    for path in ("/healthz", "/readyz", "/", "/ui/app.js"):
        assert service.call("GET", path).status_code == 200, path
    # The page holds no data: it asks the API, which asks for a token.
    assert "mlvigil" in service.call("GET", "/").text


def test_a_wrong_token_is_refused_however_close_it_is(service: Service) -> None:
    near_misses = [
        ON_CALL[:-1] + ("x" if ON_CALL[-1] != "x" else "y"),  # same length, last character
        "x" + ON_CALL[1:],  # same length, first character
        ON_CALL[:-1],  # a prefix
        ON_CALL + "0",  # longer
        ON_CALL.upper(),
    ]
    for secret in near_misses:
        assert len(secret) >= len(ON_CALL) - 1
        refused = service.call(
            "POST", "/api/v1/silences", json=MATCH_EVERYTHING, headers=bearer(secret)
        )
        assert refused.status_code == 401, secret
        assert refused.json()["detail"] == "unknown token: it matches none in security.tokens"
    for header in (f"Basic {ON_CALL}", ON_CALL, "Bearer", f"Token {ON_CALL}"):
        refused = service.call("GET", "/api/v1/models", headers={"Authorization": header})
        assert refused.status_code == 401, header
    assert not [s for s in service.silences() if s["comment"] == "mute it all" and s["active"]]


def test_reads_can_be_open_while_ingest_and_admin_still_need_tokens(open_reads: Service) -> None:
    for path in READS:
        assert open_reads.call("GET", path).status_code == 200, path
    # A token that is presented must be a known one, even where reads are open.
    assert open_reads.call("GET", "/api/v1/models", headers=bearer("z" * 32)).status_code == 401
    assert open_reads.call("GET", "/api/v1/models", headers=bearer(SDK)).status_code == 200

    body = {"records": records(5, seed=6)}
    assert open_reads.call("POST", f"{CREDIT}/predictions", json=body).status_code == 401
    assert open_reads.call("POST", "/api/v1/silences", json=MATCH_EVERYTHING).status_code == 401
    assert open_reads.call("POST", f"{CREDIT}/evaluate", params=WINDOW).status_code == 401
    assert open_reads.predictions() == 0
    assert open_reads.silences() == []


def test_without_tokens_a_loopback_service_refuses_every_admin_action(tokenless: Service) -> None:
    body = {"records": records(20, seed=7)}
    stored = tokenless.call("POST", f"{CREDIT}/predictions", json=body)
    assert stored.status_code == 201, stored.text
    assert tokenless.call("GET", "/api/v1/models").json()["models"][0]["predictions"] == 20
    assert tokenless.call("GET", "/metrics").status_code == 200

    actions = [
        ("POST", "/api/v1/silences", {"json": MATCH_EVERYTHING}),
        ("DELETE", "/api/v1/silences/any", {}),
        ("POST", f"{CREDIT}/evaluate", {"params": WINDOW}),
        ("POST", "/api/v1/alerts/test", {"json": {"receiver": "pager"}}),
    ]
    for method, path, kwargs in actions:
        for headers in ({}, bearer(ON_CALL)):  # no token is known, so none helps
            refused = tokenless.call(method, path, headers=headers, **kwargs)
            assert refused.status_code == 403, (path, refused.text)
            detail = refused.json()["detail"]
            assert "no tokens are configured" in detail
            assert "add a token with the admin scope under security.tokens" in detail
    assert tokenless.call("GET", "/api/v1/silences").json()["silences"] == []
    assert tokenless.call("GET", f"{CREDIT}/windows").json()["windows"] == []


def test_a_request_naming_an_untrusted_host_gets_400(service: Service, open_reads: Service) -> None:
    port = service.url.rsplit(":", 1)[1]
    for host in (f"evil.example:{port}", "rebound.attacker.test", f"127.0.0.2:{port}"):
        refused = service.call("GET", "/api/v1/models", headers={"Host": host, **bearer(VIEWER)})
        assert refused.status_code == 400, host
        assert "is not one of security.trusted_hosts" in refused.json()["detail"]
        # The probes answer whatever the host (a kubelet probes by the pod's address).
        assert service.call("GET", "/healthz", headers={"Host": host}).status_code == 200
    for host in (f"localhost:{port}", f"[::1]:{port}", f"127.0.0.1:{port}", "LOCALHOST"):
        allowed = service.call("GET", "/api/v1/models", headers={"Host": host, **bearer(VIEWER)})
        assert allowed.status_code == 200, host

    # Configured names, with a wildcard for subdomains.
    assert (
        open_reads.call("GET", "/api/v1/models", headers={"Host": "ml.example.com"}).status_code
        == 200
    )
    assert (
        open_reads.call("GET", "/api/v1/models", headers={"Host": "example.com.evil"}).status_code
        == 400
    )


def test_a_body_without_a_supported_content_type_gets_415_and_stores_nothing(
    service: Service,
) -> None:
    before = service.predictions()
    body = httpx.Request("POST", "http://x", json={"records": records(5, seed=8)}).read()
    for content_type in (
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        headers = bearer(SDK) | ({} if content_type is None else {"Content-Type": content_type})
        refused = service.call("POST", f"{CREDIT}/predictions", content=body, headers=headers)
        assert refused.status_code == 415, (content_type, refused.text)
        assert "send application/json" in refused.json()["detail"]
    silence = httpx.Request("POST", "http://x", json=MATCH_EVERYTHING).read()
    refused = service.call("POST", "/api/v1/silences", content=silence, headers=bearer(ON_CALL))
    assert refused.status_code == 415
    assert refused.json()["detail"].startswith("a body without a Content-Type")
    assert service.predictions() == before
    assert not [s for s in service.silences() if s["comment"] == "mute it all" and s["active"]]


def test_the_service_grants_no_cross_origin_preflight(service: Service) -> None:
    preflight = service.call(
        "OPTIONS",
        "/api/v1/silences",
        headers={
            "Origin": "http://attacker.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert preflight.status_code >= 400
    assert not any(name.startswith("access-control-") for name in preflight.headers)


def test_the_openapi_schema_declares_the_bearer_scheme_and_each_operations_scope(
    service: Service,
) -> None:
    schema = service.call("GET", "/openapi.json", headers=bearer(VIEWER)).json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    silences = schema["paths"]["/api/v1/silences"]
    assert silences["post"]["security"] == [{"bearer": []}]
    assert "`admin` scope" in silences["post"]["description"]
    assert "`read` scope" in silences["get"]["description"]
    for status in ("401", "403", "415"):
        assert silences["post"]["responses"][status]["content"]["application/json"]
    assert "security" not in schema["paths"]["/healthz"]["get"]
    assert (
        "`ingest` scope" in schema["paths"]["/api/v1/models/{model}/labels"]["post"]["description"]
    )


def _served_on(host: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(config)]
    return subprocess.run(
        [*argv, "--host", host, "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_serve_beyond_loopback_without_tokens_refuses_to_start(tmp_path: Path) -> None:
    config = write_config(tmp_path, security="")
    for host in ("0.0.0.0", "::"):
        done = _served_on(host, config)
        assert done.returncode == 2, done.stderr
        assert (
            f"the service would listen on {host}, beyond this machine, without tokens"
            in done.stderr
        )
        assert "Add security.tokens to mlvigil.yaml" in done.stderr
    assert not (tmp_path / "store").exists()  # refused before the store was opened


def test_the_sdk_sink_sends_its_token_given_or_from_the_environment(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def batch(prefix: str) -> list[PredictionRecord]:
        start = START.timestamp()
        return [
            PredictionRecord(
                f"{prefix}-{i}",
                start + i,
                "credit",
                "1",
                {"income": 1.0, "age": 30.0, "region": "north"},
                0,
                0.5,
                1.0,
            )
            for i in range(3)
        ]

    before = service.predictions()
    monkeypatch.delenv("MLVIGIL_TOKEN", raising=False)
    without = HttpSink(service.url)
    with pytest.raises(RejectedBatchError, match="token with the ingest scope"):
        without.write_predictions(batch("anonymous"))
    without.close()

    given = HttpSink(service.url, token=SDK)
    given.write_predictions(batch("given"))
    given.close()
    monkeypatch.setenv("MLVIGIL_TOKEN", SDK)
    from_env = HttpSink(service.url)
    from_env.write_predictions(batch("env"))
    from_env.close()
    assert service.predictions() == before + 6


def test_the_cli_sends_its_token_from_the_option_or_the_environment(service: Service) -> None:
    runner = CliRunner(env={"MLVIGIL_TOKEN": None})
    add = [
        "silence",
        "add",
        "--url",
        service.url,
        "-m",
        "alertname=no_data",
        "--author",
        "ana",
        "--comment",
        "c",
    ]
    refused = runner.invoke(cli, add)
    assert refused.exit_code == 2
    assert "401" in refused.output
    assert "pass --token or set MLVIGIL_TOKEN" in refused.output
    read_only = runner.invoke(cli, [*add, "--token", VIEWER])
    assert read_only.exit_code == 2
    assert "needs a token with the admin scope" in read_only.output

    added = runner.invoke(cli, [*add, "--token", ON_CALL])
    assert added.exit_code == 0, added.output
    silence_id = added.output.strip()
    listed = CliRunner(env={"MLVIGIL_TOKEN": VIEWER}).invoke(
        cli, ["silence", "list", "--url", service.url]
    )
    assert listed.exit_code == 0
    assert silence_id in listed.output
    alerts = CliRunner(env={"MLVIGIL_TOKEN": VIEWER}).invoke(
        cli, ["alerts", "list", "--url", service.url]
    )
    assert alerts.exit_code == 0, alerts.output
    expired = CliRunner(env={"MLVIGIL_TOKEN": ON_CALL}).invoke(
        cli, ["silence", "expire", silence_id, "--url", service.url]
    )
    assert expired.output.strip() == f"expired {silence_id}"


def test_listening_beyond_loopback_with_only_loopback_names_trusted_warns() -> None:
    token = (Token("on-call", ON_CALL, frozenset({"read", "admin"})),)
    warning = check_exposure("0.0.0.0", Security(token))
    assert warning is not None
    assert "security.trusted_hosts lists only loopback names" in warning
    assert check_exposure("0.0.0.0", Security(token, trusted_hosts=("ml.internal",))) is None
    assert check_exposure("127.0.0.1", Security()) is None
    assert check_exposure("localhost", Security()) is None
