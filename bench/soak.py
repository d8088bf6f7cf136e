"""Soak: a real `mlvigil serve` under mixed load for ``--minutes``, with a flaky receiver.

Starts ``mlvigil serve`` (a model of 10 numerical features, 30-second windows, the
scheduler every 2 s, one token with every scope) and a local webhook receiver that
refuses ``--receiver-failures`` of the deliveries (500), then runs at once:

- ingest: JSON batches of 100 rows every 0.2 s and Arrow IPC batches of 2,000 rows
  every second, each with an ``Idempotency-Key``, timed now; every other window's rows
  are shifted (drift), so ``dataset_drift`` fires and resolves every window or two and
  notifications flow;
- reads: a page of ``/results``, the overview and model dashboard, ``/metrics``;
- every 2 s: the server's resident memory (``VmRSS``) and the store's size (file and
  write-ahead log).

Every table keeps ``--retention`` seconds of rows (3 minutes by default), so after
warm-up the data held is steady and a growing RSS would be a leak, not data.

After the load, a drain (at most 60 s) waits until what the receiver last heard of each
alert agrees with the service's alerts, then the server is stopped with SIGTERM. Prints
one JSON object: rows/s, per kind of request its count, p50/p99 latency and errors
(any answer but the expected one, or no answer; a 503 for bodies in flight is counted
apart as ``busy``, and retried), RSS and store size over time, and notifications
received, refused by the receiver, duplicated (the same ``Idempotency-Key`` again), out
of order (a group's notification older than one it already delivered) and lost (an
alert whose last state the receiver never heard). Targets: 0 errors, flat RSS after
warm-up, 0 lost or out of order.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from mlvigil.alerts.notifiers import fingerprint

TOKEN = "soak-token-with-every-scope-0001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FEATURES = [f"f{i}" for i in range(10)]
WINDOW = 30  # seconds
MODEL = "soak"
CONFIG = """
store: store/soak.duckdb
evaluation_interval: 2s
lateness: 2s
models:
  {model}:
    schema:
      features: {features}
      prediction: prediction
      score: score
      target: label
    reference: {{path: reference.parquet}}
    window: {window}s
    retention: {retention}s
    checks:
      drift: {{drift_share: 0.5}}
      quality: {{completeness: {{default_max_null_rate: 0.05}}}}
alerting:
  default_rules:
    dataset_drift: {{for: 1}}
    no_data: false
    quality_failure: false
    performance_degradation: false
    stale_data: false
  receivers:
    flaky: {{webhook: "{receiver}/hook"}}
  route:
    receiver: flaky
    group_by: [alertname, model]
    group_wait: 1s
    group_interval: 2s
    repeat_interval: 1h
security:
  tokens:
    - {{name: soak, scopes: [ingest, read, admin], token: {token}}}
retention:
  windows: {retention}s
  profiles: {retention}s
  alert_events: {retention}s
  notifications: {retention}s
  ingest_batches: {retention}s
"""


class FlakyReceiver:
    """A webhook receiver on 127.0.0.1 that refuses a share of deliveries with 500."""

    def __init__(self, failures: float, seed: int = 7) -> None:
        self.accepted: list[tuple[str, dict[str, Any]]] = []
        self.refused = 0
        self._lock = threading.Lock()
        rng = random.Random(seed)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    refuse = rng.random() < failures
                    if refuse:
                        receiver.refused += 1
                    else:
                        key = self.headers.get("Idempotency-Key", "")
                        receiver.accepted.append((key, json.loads(body)))
                self.send_response(500 if refuse else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def heard(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self.accepted)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Recorder:
    """Latencies and errors per kind of request, shared by the load threads."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.busy = 0
        self.rows = 0
        self._lock = threading.Lock()

    def call(self, kind: str, send: Callable[[], httpx.Response], expect: int = 200) -> None:
        """Time ``send``; a 503 is retried (after its Retry-After), anything else counted."""
        while True:
            started = time.perf_counter()
            try:
                response = send()
            except httpx.HTTPError:
                with self._lock:
                    self.errors[kind] += 1
                return
            elapsed = time.perf_counter() - started
            if response.status_code == 503:
                with self._lock:
                    self.busy += 1
                time.sleep(float(response.headers.get("retry-after", "1")))
                continue
            with self._lock:
                self.latencies[kind].append(elapsed)
                if response.status_code != expect:
                    self.errors[kind] += 1
                    print(
                        f"  {kind}: {response.status_code} {response.text[:200]}", file=sys.stderr
                    )
                elif kind.startswith("ingest"):
                    self.rows += response.json().get("stored", 0)
            return

    def summary(self) -> dict[str, Any]:
        kinds = sorted(set(self.latencies) | set(self.errors))
        return {
            kind: {
                "count": len(self.latencies[kind]),
                "p50_ms": _quantile(self.latencies[kind], 0.50),
                "p99_ms": _quantile(self.latencies[kind], 0.99),
                "errors": self.errors[kind],
            }
            for kind in kinds
        }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(float(np.quantile(values, q)) * 1000, 2)


def _values(rows: int, rng: np.random.Generator, now: datetime) -> dict[str, np.ndarray]:
    drifted = int(now.timestamp()) // WINDOW % 2 == 1
    shift = 3.0 if drifted else 0.0
    data = {name: rng.normal(i + shift, 1.0, rows).round(4) for i, name in enumerate(FEATURES)}
    data["score"] = rng.random(rows).round(4)
    return data


def json_body(rows: int, rng: np.random.Generator, batch: int) -> bytes:
    now = datetime.now(UTC)
    data = _values(rows, rng, now)
    records = [
        {
            "id": f"j{batch}-{i}",
            "timestamp": (now - timedelta(milliseconds=rows - i)).isoformat(),
            "model_version": "1",
            "features": {name: float(data[name][i]) for name in FEATURES},
            "prediction": int(data["score"][i] > 0.5),
            "score": float(data["score"][i]),
            "latency_ms": 3.0,
        }
        for i in range(rows)
    ]
    return orjson.dumps({"records": records})


def arrow_body(rows: int, rng: np.random.Generator, batch: int) -> bytes:
    now = datetime.now(UTC)
    data = _values(rows, rng, now)
    times = [now - timedelta(milliseconds=rows - i) for i in range(rows)]
    table = pa.table(
        {
            "id": [f"a{batch}-{i}" for i in range(rows)],
            "timestamp": pa.array(times, pa.timestamp("us", tz="UTC")),
            **{name: data[name] for name in FEATURES},
            "prediction": (data["score"] > 0.5).astype(np.int64).astype(str),
            "score": data["score"],
            "latency_ms": np.full(rows, 3.0),
        }
    )
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def write_config(folder: Path, receiver: str, retention: float) -> Path:
    rng = np.random.default_rng(999)
    reference = {name: rng.normal(i, 1.0, 5_000).round(4) for i, name in enumerate(FEATURES)}
    reference["score"] = rng.random(5_000).round(4)
    reference["prediction"] = (reference["score"] > 0.5).astype(np.int64).astype(str)
    pq.write_table(pa.table(reference), folder / "reference.parquet")
    features = "{" + ", ".join(f"{name}: numerical" for name in FEATURES) + "}"
    path = folder / "mlvigil.yaml"
    path.write_text(
        CONFIG.format(
            model=MODEL,
            features=features,
            window=WINDOW,
            receiver=receiver,
            token=TOKEN,
            retention=int(retention),
        )
    )
    return path


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _store_mb(store: Path) -> float:
    files = [store, store.with_name(store.name + ".wal")]
    return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 2)


def _loop(stop: threading.Event, period: float, step: Callable[[int], None]) -> None:
    """Run ``step(n)`` every ``period`` seconds until ``stop``."""
    n = 0
    while not stop.is_set():
        started = time.monotonic()
        step(n)
        n += 1
        stop.wait(max(0.0, period - (time.monotonic() - started)))


def load(url: str, recorder: Recorder, stop: threading.Event) -> list[threading.Thread]:
    """Start the ingest and read threads."""
    predictions = f"/api/v1/models/{MODEL}/predictions"
    arrow_type = {"Content-Type": "application/vnd.apache.arrow.stream"}
    json_type = {"Content-Type": "application/json"}

    def ingest_json(client: httpx.Client, rng: np.random.Generator, n: int) -> None:
        body = json_body(100, rng, n)
        headers = {**json_type, "Idempotency-Key": f"json-{n}"}
        recorder.call(
            "ingest_json", lambda: client.post(predictions, content=body, headers=headers), 201
        )

    def ingest_arrow(client: httpx.Client, rng: np.random.Generator, n: int) -> None:
        body = arrow_body(2_000, rng, n)
        headers = {**arrow_type, "Idempotency-Key": f"arrow-{n}"}
        recorder.call(
            "ingest_arrow", lambda: client.post(predictions, content=body, headers=headers), 201
        )

    def reads(client: httpx.Client, rng: np.random.Generator, n: int) -> None:
        kind, path, params = [
            ("results", f"/api/v1/models/{MODEL}/results", {"limit": 500}),
            ("overview", "/api/v1/overview", {}),
            ("dashboard", f"/api/v1/models/{MODEL}/dashboard", {}),
            ("metrics", "/metrics", {}),
        ][n % 4]
        recorder.call(kind, lambda: client.get(path, params=params))

    threads = []
    for seed, (period, work) in enumerate([(0.2, ingest_json), (1.0, ingest_arrow), (0.25, reads)]):

        def run(work: Any = work, period: float = period, seed: int = seed) -> None:
            rng = np.random.default_rng(seed)
            with httpx.Client(base_url=url, headers=AUTH, timeout=60) as client:
                _loop(stop, period, lambda n: work(client, rng, n))

        threads.append(threading.Thread(target=run, daemon=True))
    for thread in threads:
        thread.start()
    return threads


def notification_figures(heard: list[tuple[str, dict[str, Any]]], alerts: list[dict]) -> dict:
    """Duplicates, out of order and lost, from what the receiver heard (see the module)."""
    newest: dict[str, str] = {}
    last: dict[str, tuple[str, str]] = {}  # fingerprint -> (status, startsAt)
    seen_keys: set[str] = set()
    duplicates = out_of_order = 0
    for key, payload in heard:
        if key and key in seen_keys:
            duplicates += 1
            continue
        seen_keys.add(key)
        moment = max(
            (a["endsAt"] if a["status"] == "resolved" else a["startsAt"])
            for a in payload["alerts"] or [{"status": "firing", "startsAt": ""}]
        )
        group = payload["groupKey"]
        if moment < newest.get(group, ""):
            out_of_order += 1
        newest[group] = max(moment, newest.get(group, ""))
        for alert in payload["alerts"]:
            last[alert["fingerprint"]] = (alert["status"], alert["startsAt"])
    firing = {a["fingerprint"] for a in alerts if a["state"] == "firing" and not a["silenced"]}
    lost = sum(1 for f in firing if last.get(f, ("",))[0] != "firing")
    lost += sum(1 for f, (status, _) in last.items() if status == "firing" and f not in firing)
    return {
        "received": len(heard),
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "lost": lost,
        "groups": len(newest),
    }


def _active_alerts(client: httpx.Client) -> list[dict]:
    alerts = client.get("/api/v1/alerts").json()["alerts"]
    return [{**alert, "fingerprint": fingerprint(alert["labels"])} for alert in alerts]


def soak(args: argparse.Namespace) -> dict[str, Any]:
    receiver = FlakyReceiver(args.receiver_failures)
    recorder, stop = Recorder(), threading.Event()
    rss: list[tuple[float, float]] = []
    store_mb: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        config = write_config(Path(folder), receiver.url, args.retention)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
        argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(config)]
        log = Path(folder) / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [*argv, "--port", str(port), "--log-level", "warning"],
                env=env,
                stdout=out,
                stderr=out,
            )
        url = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=url, headers=AUTH, timeout=60)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        print(log.read_text(), file=sys.stderr)
                        raise
                    time.sleep(0.1)
            store = Path(folder) / "store" / "soak.duckdb"
            began = time.monotonic()

            def sample(_: int) -> None:
                at = round(time.monotonic() - began, 1)
                rss.append((at, _rss_mb(server.pid)))
                store_mb.append((at, _store_mb(store)))

            sampler = threading.Thread(target=_loop, args=(stop, 2.0, sample), daemon=True)
            sampler.start()
            threads = load(url, recorder, stop)
            print(f"soak: {args.minutes} min of load on {url}", file=sys.stderr)
            time.sleep(args.minutes * 60)
            stop.set()
            for thread in [*threads, sampler]:
                thread.join(60)
            loaded = time.monotonic() - began
            # Drain: until the receiver's last word on each alert is the service's.
            drain_deadline = time.monotonic() + 60
            while True:
                figures = notification_figures(receiver.heard(), _active_alerts(client))
                if figures["lost"] == 0 or time.monotonic() > drain_deadline:
                    break
                time.sleep(1)
            windows = client.get(f"/api/v1/models/{MODEL}/windows").json()["windows"]
        finally:
            client.close()
            server.send_signal(signal.SIGTERM)
            exit_code = server.wait(60)
            receiver.stop()
        warm = [mb for at, mb in rss if at >= loaded / 3]
    return {
        "minutes": args.minutes,
        "retention_seconds": args.retention,
        "rows_ingested": recorder.rows,
        "rows_per_second": round(recorder.rows / loaded),
        "requests": recorder.summary(),
        "errors": sum(recorder.errors.values()),
        "busy_503": recorder.busy,
        "windows_evaluated": len(windows),
        "rss_mb": rss,
        "rss_after_warmup_mb": {"first": warm[0], "last": warm[-1], "max": max(warm)}
        if warm
        else None,
        "store_mb": store_mb,
        "notifications": {**figures, "refused_by_receiver": receiver.refused},
        "exit_code": exit_code,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--receiver-failures",
        type=float,
        default=0.3,
        help="share of deliveries the receiver refuses",
    )
    parser.add_argument(
        "--retention",
        type=float,
        default=180.0,
        help="seconds every table keeps its rows (a steady state: the store stops growing)",
    )
    print(json.dumps(soak(parser.parse_args())))


if __name__ == "__main__":
    main()
