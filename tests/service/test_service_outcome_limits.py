"""Business outcomes judged by limits learned from the reference's outcome column."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from service_data import CONFIG, SECURITY, START, applicants, records

from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import predictions_from_json
from mlvigil.service.monitor import MonitoringService

HOUR = timedelta(hours=1)


def test_a_conversion_rate_below_its_learned_limit_fails_and_a_usual_one_passes(tmp_path):
    reference = applicants(4_000, seed=0)
    labels = [int(i < 45_000) for i in reference["income"]]
    converted = (np.random.default_rng(5).random(4_000) < 0.2).astype(float)
    pq.write_table(
        pa.table({**reference, "prediction": labels, "label": labels, "converted": converted}),
        tmp_path / "reference.parquet",
    )
    config = CONFIG.replace(
        "      target: label\n", "      target: label\n      outcomes: {converted: rate}\n"
    ).replace(
        "reference: {path: reference.parquet}",
        "reference: {path: reference.parquet, chunk_rows: 300}",
    )
    (tmp_path / "mlvigil.yaml").write_text(config + SECURITY)
    service = MonitoringService(load_service_config(tmp_path / "mlvigil.yaml"))
    try:
        rng = np.random.default_rng(8)
        for hour, rate in enumerate((0.2, 0.05)):
            start = START + hour * HOUR
            rows = [
                {**r, "converted": float(rng.random() < rate)}
                for r in records(300, seed=hour + 1, start=start)
            ]
            body = orjson.dumps({"records": rows})
            credit = service.config.models["credit"]
            service.store.insert_predictions("credit", predictions_from_json(body, credit))
            service.evaluate("credit", start, start + HOUR)
        usual, dropped = (
            next(
                r
                for r in service.store.results(
                    "credit", start=START + h * HOUR, end=START + (h + 1) * HOUR
                )
                if r.metric == "converted_rate" and r.segment is None
            )
            for h in (0, 1)
        )
        assert usual.status.value == "passed", usual.message
        assert 0.1 < usual.threshold < 0.2  # the learned lower limit: mean - 3 sd
        assert "within its learned limit" in usual.message
        assert dropped.status.value == "failed", dropped.message
        assert dropped.threshold == usual.threshold
        assert "below its learned limit" in dropped.message
        drifted = {r.column for r in service.store.results("credit") if r.check.value == "drift"}
        assert "converted" not in drifted  # an outcome is not data to drift-check
    finally:
        service.close()
