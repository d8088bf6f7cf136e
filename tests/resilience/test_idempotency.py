"""A batch, a prediction and a label are each stored once, whatever a client repeats.

Before, the same ``Idempotency-Key`` with a different body answered 201 and silently
dropped the new rows; a prediction sent twice was stored twice and counted twice in its
window; a label batch naming an id twice kept the first although the newer should win.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ingest_service import (
    credit_records,
    evaluate,
    last_hour,
    post_json,
    results,
    stored,
    write_config,
)
from serving import Served, launch, stop


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = launch(tmp_path, config=write_config(tmp_path))
    yield server
    stop(server)


def test_a_key_reused_for_another_body_is_a_409_and_stores_nothing(served):
    first = {"records": credit_records(5, last_hour(), prefix="a-")}
    other = {"records": credit_records(5, last_hour(), prefix="b-")}
    key = {"Idempotency-Key": "batch-7"}
    assert post_json(served.url, "credit", "predictions", first, **key).status_code == 201
    retry = post_json(served.url, "credit", "predictions", first, **key)
    assert retry.status_code == 201
    assert retry.json()["duplicate_batch"] is True
    conflict = post_json(served.url, "credit", "predictions", other, **key)
    assert conflict.status_code == 409, conflict.text
    assert (
        "'batch-7' was already used for a different predictions batch" in conflict.json()["detail"]
    )
    assert stored(served.url, "credit") == 5

    labels = {"records": [{"id": "a-1-0", "label": 1}]}
    relabel = {"records": [{"id": "a-1-0", "label": 0}]}
    assert post_json(served.url, "credit", "labels", labels, **key).status_code == 201
    assert post_json(served.url, "credit", "labels", relabel, **key).status_code == 409


def test_a_prediction_sent_again_replaces_the_stored_one_and_counts_once(served):
    start = last_hour()
    batch = credit_records(30, start, prefix="p-")
    assert post_json(served.url, "credit", "predictions", {"records": batch}).status_code == 201
    for record in batch:  # the client retries (no key), with a corrected score
        record["score"] = 0.3
    again = post_json(served.url, "credit", "predictions", {"records": batch + batch[:4]})
    assert again.status_code == 201
    assert stored(served.url, "credit") == 30
    window = evaluate(served.url, "credit", start).json()["windows"][0]
    assert window["rows"] == 30
    assert again.json() == {"stored": 30, "replaced": 30, "duplicate_batch": False}


def test_the_same_id_at_another_time_is_another_prediction(served):
    batch = credit_records(2, last_hour(), prefix="loan-")
    batch[1]["id"] = batch[0]["id"]  # the same loan, scored again later
    answer = post_json(served.url, "credit", "predictions", {"records": batch})
    assert answer.json()["stored"] == 2
    assert stored(served.url, "credit") == 2


def test_the_last_label_of_an_id_in_a_batch_wins(served):
    start = last_hour()
    batch = credit_records(40, start, prefix="l-")
    for record in batch:
        record["prediction"] = 1
    assert post_json(served.url, "credit", "predictions", {"records": batch}).status_code == 201
    labels = [{"id": r["id"], "label": 0} for r in batch] + [
        {"id": r["id"], "label": 1} for r in batch
    ]
    answer = post_json(served.url, "credit", "labels", {"records": labels})
    assert answer.json()["stored"] == 40
    assert evaluate(served.url, "credit", start).status_code == 200
    accuracy = [
        r["value"]
        for r in results(served.url, "credit", check="performance")
        if r["metric"] == "accuracy" and r["segment"] is None
    ]
    assert accuracy == [1.0]  # every last label agrees with its prediction
