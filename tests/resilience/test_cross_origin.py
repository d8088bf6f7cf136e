"""A real browser page on another origin cannot ingest, mute alerts or evaluate.

Chromium (Debian's, driven by Playwright) opens an attacker's page served by a tiny
``http.server`` on another port. The page fires what a page may send without a CORS
preflight — ``fetch(..., {mode: "no-cors", method: "POST", body: new Blob([...])})``,
``text/plain`` and form bodies — at `mlvigil serve`, and a JSON request that needs a
preflight. The service's log shows each request arrived and was refused, and its store
shows nothing changed: against a service with tokens, and against one without (loopback
development, where ingest is open to local clients but not to a browser's pages). A
second test plays DNS rebinding: a name the attacker controls, resolved to 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from live_servers import system_binary
from service.service_data import AUTH, START, records, write_config
from ui.conftest import CHROMIUM_FLAGS

#: The attacker's name for 127.0.0.1 (a rebinding DNS server would answer the same).
REBOUND = "rebound.attacker.test"
WINDOW = f"start={START.isoformat()}&end={(START + timedelta(hours=1)).isoformat()}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's loop must be closed before other modules' asyncio.run.
    executable = system_binary("chromium", "chromium")
    flags = [*CHROMIUM_FLAGS, f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=flags)
        yield browser
        browser.close()


def attacker_page(target: str) -> str:
    """The attacker's page: every request it can make to ``target`` without a preflight."""
    batch = json.dumps({"records": records(5, seed=1)})
    silence = json.dumps(
        {"matchers": {"alertname": "~.*"}, "duration": 86400, "created_by": "x", "comment": "x"}
    )
    return f"""<!DOCTYPE html><title>cute cats</title><script>
const target = {json.dumps(target)};
const blob = (text, type) => (type ? new Blob([text], {{type}}) : new Blob([text]));
const batch = {json.dumps(batch)}, silence = {json.dumps(silence)};
const predictions = "/api/v1/models/credit/predictions";
const attacks = [
  ["predictions, a Blob without a type", predictions, blob(batch)],
  ["predictions as text/plain", predictions, blob(batch, "text/plain")],
  ["labels as a form", "/api/v1/models/credit/labels", new URLSearchParams({{records: "[]"}})],
  ["a silence of every alert", "/api/v1/silences", blob(silence)],
  ["evaluate, a Blob", "/api/v1/models/credit/evaluate?{WINDOW}", blob("{{}}")],
  ["evaluate, no body", "/api/v1/models/credit/evaluate?{WINDOW}", undefined],
];
window.outcomes = {{}};
(async () => {{
  for (const [name, path, body] of attacks) {{
    try {{
      const response = await fetch(target + path, {{ mode: "no-cors", method: "POST", body }});
      window.outcomes[name] = response.type;  // "opaque": sent, answer unreadable
    }} catch (error) {{
      window.outcomes[name] = `blocked: ${{error}}`;
    }}
  }}
  try {{
    await fetch(target + "/api/v1/silences", {{
      method: "POST", headers: {{ "Content-Type": "application/json" }}, body: silence,
    }});
    window.outcomes["JSON with a preflight"] = "sent";
  }} catch (error) {{
    window.outcomes["JSON with a preflight"] = "no preflight granted";
  }}
  document.title = "done";
}})();
</script>"""


@pytest.fixture
def attacker() -> Iterator[Callable[[str], str]]:
    """Serve the attacker's page for a target on a port of its own; returns its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(target: str) -> str:
        page = attacker_page(target).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://localhost:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _tokenless(tmp_path: Path) -> Path:
    folder = tmp_path / "tokenless"
    folder.mkdir()
    return write_config(folder, security="")


@pytest.mark.parametrize("tokens", [True, False], ids=["with tokens", "without tokens"])
def test_a_page_on_another_origin_changes_nothing(
    browser: Browser, serve_with, attacker, tmp_path: Path, tokens: bool
) -> None:
    served = serve_with() if tokens else serve_with(config=_tokenless(tmp_path))
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(attacker(served.url))
        page.wait_for_function("document.title === 'done'", timeout=30_000)
        outcomes = page.evaluate("window.outcomes")
    finally:
        context.close()

    # The browser sent every simple request (their answers are opaque to the page)...
    simple = {name: kind for name, kind in outcomes.items() if name != "JSON with a preflight"}
    assert set(simple.values()) == {"opaque"}, outcomes
    assert outcomes["JSON with a preflight"] == "no preflight granted"
    # ...yet the service's store shows nothing changed...
    headers = AUTH if tokens else {}
    with httpx.Client(base_url=served.url, headers=headers, timeout=30) as api:
        assert api.get("/api/v1/models").json()["models"][0]["predictions"] == 0
        assert api.get("/api/v1/silences").json()["silences"] == []
        assert api.get("/api/v1/models/credit/windows").json()["windows"] == []
    # ...because it refused each one, before reading its body.
    log = served.log.read_text()
    for path in ("predictions", "labels", "evaluate"):
        assert f"refused POST /api/v1/models/credit/{path}" in log
    assert "refused POST /api/v1/silences" in log


def test_a_rebound_name_cannot_read_the_service(browser: Browser, serve_with, tmp_path: Path):
    # Without tokens, reads are open on loopback: only the Host check stands between a
    # page of the attacker's (same origin once its name points at 127.0.0.1) and the data.
    served = serve_with(config=_tokenless(tmp_path))
    port = served.url.rsplit(":", 1)[1]
    context = browser.new_context()
    page = context.new_page()
    try:
        for path in ("/api/v1/models", "/api/v1/models/credit/results", "/"):
            rebound = page.goto(f"http://{REBOUND}:{port}{path}")
            assert rebound is not None
            assert rebound.status == 400, path
            assert "is not one of security.trusted_hosts" in rebound.text()
        honest = page.goto(f"{served.url}/api/v1/models")
        assert honest is not None
        assert honest.status == 200
    finally:
        context.close()
