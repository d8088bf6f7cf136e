"""Two `mlvigil serve` instances sharing the models of one configuration, over real HTTP.

Each instance owns the models its ``shards`` assignment gives it; an SDK pointed at
either one lands every model's rows on the instance serving it; each instance
exposes only its own models on ``/metrics``; ``mlvigil shards`` prints the same map.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from live_servers import free_port, start_logged, wait_until_serving
from mlvigil.service.shards import shard_of
from mlvigil.telemetry.records import PredictionRecord
from mlvigil.telemetry.sinks import HttpSink
from service.service_data import AUTH, START, TOKEN, write_config

#: ``credit`` and ``fraud`` pinned to an instance each; ``churn`` placed by its hash.
PINNED = {"credit": 0, "fraud": 1}


@dataclass(frozen=True)
class Instance:
    url: str
    process: subprocess.Popen[bytes]


def _config(directory: Path, urls: list[str]) -> Path:
    path = write_config(directory)
    text = path.read_text()
    model = text[text.index("  credit:\n") :].split("\nsecurity:")[0]
    others = "".join(
        model.replace("  credit:\n", f"  {name}:\n    shard: {PINNED[name]}\n", 1)
        if name in PINNED
        else model.replace("  credit:\n", f"  {name}:\n", 1)
        for name in ("fraud", "churn")
    )
    assert model in text
    text = text.replace(model, model + others, 1)
    text = text.replace("  credit:\n", "  credit:\n    shard: 0\n", 1)
    text += f"shards:\n  instances: [{', '.join(urls)}]\n"
    path.write_text(text.replace("store: store/mlvigil.duckdb", "store: store/${SHARD}.duckdb"))
    return path


@pytest.fixture
def instances(tmp_path: Path) -> Iterator[list[Instance]]:
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    template = _config(tmp_path, urls).read_text()
    started: list[Instance] = []
    try:
        for index, (port, url) in enumerate(zip(ports, urls, strict=True)):
            config = tmp_path / f"mlvigil-{index}.yaml"
            config.write_text(template.replace("${SHARD}", f"shard-{index}"))
            env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
            env["MLVIGIL_SHARD"] = str(index)
            argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(config)]
            log = tmp_path / f"serve-{index}.log"
            process = start_logged([*argv, "--port", str(port)], log, env=env)
            started.append(Instance(url, process))
            wait_until_serving(f"{url}/readyz", process, log)
        yield started
    finally:
        for instance in started:
            instance.process.kill()
            instance.process.wait()


def _owner(model: str) -> int:
    return PINNED.get(model, shard_of(model, 2))


def _records(model: str, rows: int = 40) -> list[PredictionRecord]:
    start = START.timestamp()
    return [
        PredictionRecord(
            f"{model}-{i}",
            start + i * 30.0,
            model,
            "1",
            {"income": 40_000.0 + 500 * i, "age": 30.0 + i % 20, "region": "north"},
            int(i % 2),
            0.7,
            3.0,
        )
        for i in range(rows)
    ]


def _models(instance: Instance) -> dict[str, int]:
    answer = httpx.get(f"{instance.url}/api/v1/models", headers=AUTH, timeout=10)
    answer.raise_for_status()
    return {m["name"]: m["predictions"] for m in answer.json()["models"]}


def test_each_instance_serves_only_the_models_assigned_to_it(instances: list[Instance]) -> None:
    for index, instance in enumerate(instances):
        expected = sorted(m for m in ("credit", "fraud", "churn") if _owner(m) == index)
        assert sorted(_models(instance)) == expected


def test_a_request_for_another_instances_model_is_answered_421_with_its_url(
    instances: list[Instance],
) -> None:
    first, second = instances
    answer = httpx.post(
        f"{first.url}/api/v1/models/fraud/predictions",
        json={"records": []},
        headers=AUTH,
        timeout=10,
    )
    assert answer.status_code == 421
    assert answer.json()["instance"] == second.url
    assert answer.headers["location"] == second.url
    assert "fraud" in answer.json()["detail"]
    missing = httpx.get(f"{first.url}/api/v1/models/nope", headers=AUTH, timeout=10)
    assert missing.status_code == 404  # a model no instance serves is still unknown


@pytest.mark.parametrize("entry", [0, 1])
def test_an_sdk_pointed_at_either_instance_lands_rows_where_each_model_is_served(
    instances: list[Instance], entry: int
) -> None:
    sink = HttpSink(instances[entry].url, token=TOKEN)
    try:
        for model in ("credit", "fraud", "churn"):
            sink.write_predictions(_records(model))
            sink.write_predictions(_records(model, rows=50))  # straight there this time
    finally:
        sink.close()
    for index, instance in enumerate(instances):
        stored = _models(instance)
        for model in ("credit", "fraud", "churn"):
            if _owner(model) == index:
                assert stored[model] == 50  # the second batch replaced the first's 40 ids
            else:
                assert model not in stored


def test_each_instances_metrics_expose_only_its_own_models(instances: list[Instance]) -> None:
    sink = HttpSink(instances[0].url, token=TOKEN)
    try:
        for model in ("credit", "fraud"):
            sink.write_predictions(_records(model))
    finally:
        sink.close()
    window = {"start": START.isoformat(), "end": START.replace(hour=START.hour + 1).isoformat()}
    for model, index in PINNED.items():
        evaluated = httpx.post(
            f"{instances[index].url}/api/v1/models/{model}/evaluate",
            params=window,
            headers=AUTH,
            timeout=60,
        )
        assert evaluated.status_code == 200, evaluated.text
    deadline = time.monotonic() + 30
    for model, index in PINNED.items():
        other = instances[1 - index]
        while True:
            text = httpx.get(f"{instances[index].url}/metrics", headers=AUTH, timeout=10).text
            if f'model="{model}"' in text or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert f'model="{model}"' in text
        assert f'model="{model}"' not in httpx.get(f"{other.url}/metrics", headers=AUTH).text


def test_mlvigil_shards_prints_the_assignment_every_instance_uses(tmp_path: Path) -> None:
    urls = ["http://mlvigil-0:8000", "http://mlvigil-1:8000"]
    config = _config(tmp_path, urls)
    config.write_text(config.read_text().replace("${SHARD}", "any"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    done = subprocess.run(
        [sys.executable, "-m", "mlvigil", "shards", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    served = json.loads(done.stdout)
    assert served == {
        url: sorted(m for m in ("credit", "fraud", "churn") if _owner(m) == i)
        for i, url in enumerate(urls)
    }
