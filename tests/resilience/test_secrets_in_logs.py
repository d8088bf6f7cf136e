"""A receiver's secret (in its URL's path and query) appears in no log, answer or record.

A real `mlvigil serve` delivers to a webhook whose URL holds a secret path segment and
a ``?token=``; the receiver first refuses with an error page echoing the request line,
then accepts; a test notification is refused, then accepted. The service's own JSON
log, the 502 answer of ``POST /api/v1/alerts/test`` and the outbox's ``last_error``
keep the receiver's scheme and host, the status and a masked excerpt, never the secret.
"""

from __future__ import annotations

import duckdb
import httpx
import pytest
from alerting_helpers import alerting, bad_rows, last_closed_hour, post_predictions
from receivers import ScriptedReceiver, Seen

from live_servers import wait_until

SEGMENT = "T0SECRETPATHSEGMENT"
TOKEN = "SECRETQUERYTOKEN42"


@pytest.fixture
def receiver():
    """Refuses the first notification and the first test notification, accepts the rest."""
    refused: set[bool] = set()

    def respond(n: int, seen: Seen) -> int:
        test = b"mlvigil_test" in seen.body
        if test in refused:
            return 200
        refused.add(test)
        return 503

    started = ScriptedReceiver(respond)
    yield started
    started.stop()


def test_a_receivers_secret_is_in_no_log_answer_or_stored_error(serve_with, auth, receiver):
    hook = f"{receiver.url}/hooks/{SEGMENT}/B1?token={TOKEN}"
    served = serve_with(alerting({"hook": hook}))
    post_predictions(served.url, auth, bad_rows(last_closed_hour(), "a"))
    wait_until(lambda: len(receiver.answered(200)) == 1)  # refused once, then delivered
    assert receiver.seen[0].status == 503

    test = f"{served.url}/api/v1/alerts/test"
    refused = httpx.post(test, json={"receiver": "hook"}, headers=auth, timeout=30)
    assert refused.status_code == 502
    detail = refused.json()["detail"]
    assert "answered 503" in detail
    assert "Cannot POST" in detail  # the excerpt is there, masked
    accepted = httpx.post(test, json={"receiver": "hook"}, headers=auth, timeout=30)
    assert accepted.status_code == 200
    served.process.terminate()
    served.process.wait(timeout=30)

    with duckdb.connect(str(served.store), read_only=True) as store:
        (error,) = store.execute("SELECT last_error FROM outbox").fetchone()
    assert "answered 503" in error
    log = served.log.read_text()
    assert "notification to hook failed" in log  # the failure was logged...
    for text in (log, detail, error):
        assert SEGMENT not in text  # ...without the secret
        assert TOKEN not in text
