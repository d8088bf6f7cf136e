"""The prediction logger delivers every record once, or counts and logs why not."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence

import pyarrow.dataset as ds
import pytest
from prometheus_client import CollectorRegistry

from live_servers import wait_until
from mlvigil.exceptions import ConfigError
from mlvigil.telemetry.prediction_log import (
    PredictionLogger,
    RetryPolicy,
    create_prediction_logger,
)
from mlvigil.telemetry.records import LabelRecord, PredictionRecord, new_prediction_id
from mlvigil.telemetry.sinks import HttpSink, ParquetSink

FAST_RETRY = RetryPolicy(initial=0.01, maximum=0.05)


class ListSink:
    """Keeps what it receives; ``gate`` holds writes until set."""

    def __init__(self) -> None:
        self.predictions: list[PredictionRecord] = []
        self.labels: list[LabelRecord] = []
        self.batches: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.closed = False

    def write_predictions(self, records: Sequence[PredictionRecord]) -> None:
        self.gate.wait()
        self.predictions.extend(records)
        self.batches.append(len(records))

    def write_labels(self, records: Sequence[LabelRecord]) -> None:
        self.gate.wait()
        self.labels.extend(records)

    def close(self) -> None:
        self.closed = True


def accepted_ids(receiver) -> list[str]:
    return [
        record["id"]
        for request in receiver.received()
        if request.status == 200
        for record in json.loads(request.body)["records"]
    ]


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def dropped(registry: CollectorRegistry, reason: str, kind: str = "prediction") -> float | None:
    return registry.get_sample_value(
        "mlvigil_prediction_log_dropped_total", {"kind": kind, "reason": reason}
    )


def record(n: int, model: str = "credit") -> PredictionRecord:
    return PredictionRecord(f"p{n}", 1_700_000_000.0 + n, model, "1", {"x": n}, 1, 0.9, 2.0)


def test_a_full_batch_is_sent_without_waiting_for_the_interval(registry):
    sink = ListSink()
    with PredictionLogger(sink, batch_size=10, flush_interval=3600, registry=registry) as log:
        for n in range(10):
            log.log(record(n))
        wait_until(lambda: len(sink.predictions) == 10)
        assert [r.id for r in sink.predictions] == [f"p{n}" for n in range(10)]


def test_a_partial_batch_is_sent_on_the_interval(registry):
    sink = ListSink()
    with PredictionLogger(sink, batch_size=100, flush_interval=0.05, registry=registry) as log:
        log.log(record(1))
        wait_until(lambda: len(sink.predictions) == 1)
        assert log.stats.sent == 1
        assert (
            registry.get_sample_value("mlvigil_prediction_log_sent_total", {"kind": "prediction"})
            == 1
        )


def test_close_sends_what_is_queued_closes_the_sink_and_stops_the_thread(registry):
    sink = ListSink()
    log = PredictionLogger(sink, batch_size=100, flush_interval=3600, registry=registry)
    for n in range(5):
        log.log(record(n))
    log.close()
    log.close()  # idempotent
    assert len(sink.predictions) == 5
    assert sink.closed
    assert not [t for t in threading.enumerate() if t.name == "mlvigil-prediction-log"]


def test_records_queued_at_interpreter_exit_are_written(tmp_path):
    script = textwrap.dedent(
        f"""
        from mlvigil.telemetry.prediction_log import PredictionLogger
        log = PredictionLogger.to_parquet({str(tmp_path)!r}, flush_interval=3600)
        for n in range(7):
            log.log_prediction(model="credit", features={{"x": n}}, prediction=n % 2)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    table = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("x").to_pylist()) == list(range(7))


def test_labels_are_sent_by_id_after_their_predictions(registry):
    sink = ListSink()
    with PredictionLogger(sink, flush_interval=3600, registry=registry) as log:
        prediction_id = log.log_prediction(model="credit", features={"x": 1}, prediction=0)
        assert log.log_label(prediction_id, 1, model="credit", timestamp=5.0)
    assert sink.labels == [LabelRecord(prediction_id, "credit", 1, 5.0)]
    assert sink.predictions[0].id == prediction_id


def test_full_queue_drops_newest_and_counts_and_logs_it(registry, caplog):
    sink = ListSink()
    sink.gate.clear()  # the receiver hangs: nothing leaves the queue
    log = PredictionLogger(sink, capacity=5, batch_size=5, flush_interval=3600, registry=registry)
    kept = [log.log(record(n)) for n in range(8)]
    assert kept == [True] * 5 + [False] * 3
    assert dropped(registry, "queue_full") == 3
    assert log.stats.dropped == {"queue_full": 3}
    assert "dropped 1 prediction records (queue_full" in caplog.text
    sink.gate.set()
    log.close()
    assert [r.id for r in sink.predictions] == [f"p{n}" for n in range(5)]


def test_block_policy_waits_for_room_then_drops_after_the_timeout(registry, caplog):
    sink = ListSink()
    sink.gate.clear()
    log = PredictionLogger(
        sink,
        capacity=2,
        batch_size=2,
        flush_interval=3600,
        on_full="block",
        block_timeout=0.05,
        registry=registry,
    )
    assert log.log(record(0))
    assert log.log(record(1))
    assert not log.log(record(2))  # waited 50 ms, no room came
    assert dropped(registry, "queue_full") == 1
    assert "queue_full" in caplog.text

    outcome: list[bool] = []
    producer = threading.Thread(target=lambda: outcome.append(log.log(record(3))))
    log.block_timeout = None
    producer.start()
    time.sleep(0.05)
    assert producer.is_alive()  # blocked, not dropped
    sink.gate.set()
    producer.join(5)
    assert outcome == [True]
    log.close()
    assert [r.id for r in sink.predictions] == ["p0", "p1", "p3"]


def test_an_outage_within_capacity_loses_nothing_and_logs_once(registry, local_receiver, caplog):
    caplog.set_level(logging.INFO, "mlvigil.telemetry.prediction_log")
    receiver = local_receiver(lambda n, path: 503 if n < 4 else 200)
    log = PredictionLogger.to_service(
        receiver.url, batch_size=10, flush_interval=0.02, retry=FAST_RETRY, registry=registry
    )
    for n in range(25):
        log.log(record(n))
    log.flush(timeout=10)
    log.close()
    assert accepted_ids(receiver) == [f"p{n}" for n in range(25)]
    assert registry.get_sample_value("mlvigil_prediction_log_send_failures_total") == 4
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "503" in warnings[0].getMessage()
    assert "after 4 retries" in caplog.text


def test_a_retried_batch_keeps_its_idempotency_key(registry, local_receiver):
    receiver = local_receiver(lambda n, path: 503 if n < 2 else 200)
    with PredictionLogger.to_service(
        receiver.url, flush_interval=0.02, retry=FAST_RETRY, registry=registry
    ) as log:
        for n in range(3):
            log.log(record(n))
    keys = [request.headers["idempotency-key"] for request in receiver.received()]
    assert len(keys) == 3
    assert len(set(keys)) == 1
    assert keys[0]


def test_a_rejected_batch_is_dropped_counted_and_logged_and_the_next_is_sent(
    registry, local_receiver, caplog
):
    receiver = local_receiver(lambda n, path: 400 if n == 0 else 200)
    with PredictionLogger.to_service(receiver.url, registry=registry) as log:
        log.log(record(0))
        assert log.flush(timeout=10)
        log.log(record(1))
    assert accepted_ids(receiver) == ["p1"]
    assert dropped(registry, "rejected") == 1
    assert "rejected a batch of 1 prediction records" in caplog.text
    assert "rejected by the test receiver" in caplog.text


def test_records_unsent_at_shutdown_are_counted_and_logged(registry, local_receiver, caplog):
    receiver = local_receiver(lambda n, path: 503)
    log = PredictionLogger.to_service(
        receiver.url, flush_interval=0.02, retry=FAST_RETRY, registry=registry
    )
    for n in range(4):
        log.log(record(n))
    log.log_label("p0", 1, model="credit")
    log.close(timeout=0.2)
    assert dropped(registry, "shutdown") == 4
    assert dropped(registry, "shutdown", kind="label") == 1
    assert "shut down with 4 prediction records unsent" in caplog.text
    assert not log.log(record(9))  # after close: dropped, counted
    assert dropped(registry, "shutdown") == 5


def test_concurrent_producers_lose_and_duplicate_nothing(registry):
    sink = ListSink()
    log = PredictionLogger(sink, capacity=50_000, batch_size=500, registry=registry)

    def produce(worker: int) -> None:
        for n in range(2_500):
            log.log_prediction(model="credit", features={}, prediction=n, id=f"{worker}-{n}")

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    ids = [r.id for r in sink.predictions]
    assert len(ids) == len(set(ids)) == 10_000
    for worker in range(4):
        mine = [i for i in ids if i.startswith(f"{worker}-")]
        assert mine == [f"{worker}-{n}" for n in range(2_500)]  # each producer's order kept


def test_prediction_ids_are_unique_and_fresh_in_a_forked_child():
    ids = {new_prediction_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    script = (
        "import os, sys\n"
        "from mlvigil.telemetry.records import new_prediction_id\n"
        "parent = new_prediction_id()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    print(new_prediction_id(), flush=True); os._exit(0)\n"
        "os.waitpid(pid, 0); print(parent)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    child, parent = out.stdout.split()
    assert child.split("-")[0] != parent.split("-")[0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"capacity": 10, "batch_size": 20}, "batch_size <= capacity"),
        ({"flush_interval": 0}, "flush_interval"),
        ({"on_full": "drop_oldest"}, "on_full"),
        ({"block_timeout": -1}, "block_timeout"),
    ],
)
def test_bad_options_are_refused_with_what_to_change(options, message, registry):
    with pytest.raises(ConfigError, match=message):
        PredictionLogger(ListSink(), registry=registry, **options)


def test_the_environment_chooses_the_service_or_parquet(tmp_path, monkeypatch, registry):
    monkeypatch.setenv("MLVIGIL_URL", "http://127.0.0.1:9")
    with create_prediction_logger(registry=registry, flush_at_exit=False) as log:
        assert isinstance(log.sink, HttpSink)
        assert log.sink.base_url == "http://127.0.0.1:9"
    monkeypatch.delenv("MLVIGIL_URL")
    monkeypatch.setenv("MLVIGIL_PREDICTION_LOG_DIR", str(tmp_path))
    with create_prediction_logger(registry=registry) as log:
        assert isinstance(log.sink, ParquetSink)
        assert log.sink.directory == tmp_path


def test_a_forked_worker_sends_its_own_records_not_its_parents(tmp_path):
    script = textwrap.dedent(
        f"""
        import os
        from mlvigil.telemetry.prediction_log import PredictionLogger
        log = PredictionLogger.to_parquet({str(tmp_path)!r}, flush_interval=3600)
        log.log_prediction(model="credit", features={{"who": "parent"}}, prediction=0)
        pid = os.fork()
        if pid == 0:
            log.log_prediction(model="credit", features={{"who": "child"}}, prediction=1)
            log.close()
            os._exit(0)
        os.waitpid(pid, 0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    table = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("who").to_pylist()) == ["child", "parent"]
