"""The store: migrations, schema evolution, retention, label lag."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import orjson
import pytest
from service_data import START, records

from mlvigil.exceptions import ConfigError
from mlvigil.service.ingest import labels_from_json, predictions_from_json
from mlvigil.service.store import MIGRATIONS, Store
from mlvigil.service.versions_config import OutcomeModel


def _store(settings, **model_changes):
    models = {
        name: replace(model, **model_changes) if model_changes else model
        for name, model in settings.models.items()
    }
    return Store(settings.store, models)


def _ingest(store: Store, settings, rows: list[dict]) -> None:
    body = orjson.dumps({"records": rows})
    store.insert_predictions("credit", predictions_from_json(body, settings.models["credit"]))


def _label(store: Store, settings, labels: list[dict]) -> None:
    body = orjson.dumps({"records": labels})
    store.insert_labels("credit", labels_from_json(body, settings.models["credit"]))


def test_migrations_run_once_and_reopening_keeps_data(settings):
    store = _store(settings)
    _ingest(store, settings, records(10))
    assert store.schema_version == len(MIGRATIONS)
    store.close()
    reopened = _store(settings)
    assert reopened.schema_version == len(MIGRATIONS)
    assert reopened.counts("credit") == (10, 0)
    reopened.close()


def test_profiles_stored_before_migration_7_stay_readable(settings):
    import duckdb

    settings.store.parent.mkdir(parents=True, exist_ok=True)
    old = duckdb.connect(str(settings.store))
    old.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)"
    )
    for version, sql in enumerate(MIGRATIONS[:6], start=1):
        old.execute(sql)
        old.execute("INSERT INTO schema_migrations VALUES (?, now())", [version])
    old.execute(
        "INSERT INTO windows VALUES ('credit', ?, ?, 10, 0, now(), false, ?)",
        [START, START + timedelta(hours=1), b"a profile"],
    )
    old.close()

    store = _store(settings)
    assert store.schema_version == len(MIGRATIONS)
    assert store.profile("credit", START) == b"a profile"
    assert store.profile("credit", START + timedelta(hours=1)) is None
    store.close()


def test_a_new_feature_adds_a_column_and_a_changed_type_is_refused(settings):
    _store(settings).close()
    credit = settings.models["credit"]
    wider = replace(
        credit,
        schema=credit.schema.model_copy(
            update={"features": {**credit.schema.features, "tenure": "numerical"}}
        ),
    )
    store = Store(settings.store, {"credit": wider})
    rows = [{**r, "features": {**r["features"], "tenure": 3.0}} for r in records(2)]
    body = orjson.dumps({"records": rows})
    store.insert_predictions("credit", predictions_from_json(body, wider))  # in the new layout
    window = store.window_table("credit", START, START + timedelta(hours=1))
    assert window.column("tenure").to_pylist() == [3.0, 3.0]
    store.close()
    retyped = replace(
        credit,
        schema=credit.schema.model_copy(
            update={"features": {**credit.schema.features, "age": "categorical"}}
        ),
    )
    with pytest.raises(ConfigError, match="column 'age' is stored as DOUBLE but now configured"):
        Store(settings.store, {"credit": retyped})


def test_an_outcome_declared_later_is_stored_with_labels_and_replaces_the_predictions(settings):
    store = _store(settings)
    rows = records(4)
    _ingest(store, settings, rows)
    _label(store, settings, [{"id": rows[0]["id"], "label": 1}])
    store.close()
    credit = settings.models["credit"]
    schema = credit.schema.model_copy(update={"outcomes": {"revenue": OutcomeModel()}})
    settings = replace(settings, models={"credit": replace(credit, schema=schema)})
    store = _store(settings)  # the existing label table gains the outcome column
    sent = [{**r, "revenue": 5.0} for r in records(4, seed=9)]
    for row, index in zip(sent, range(10, 14), strict=True):
        row["id"] = f"late-{index}"
    _ingest(store, settings, sent)
    _label(store, settings, [{"id": "late-10", "label": 0, "revenue": 42.0}])
    _label(store, settings, [{"id": "late-11", "label": 1}])
    window = store.window_table("credit", START, START + timedelta(hours=1)).to_pylist()
    revenue = {row["id"]: row["revenue"] for row in window}
    assert revenue["late-10"] == 42.0  # known later, posted with the label
    assert revenue["late-11"] == 5.0  # the label says nothing of it: as predicted
    assert revenue[rows[0]["id"]] is None
    store.close()


def test_retention_deletes_old_predictions_and_labels_but_keeps_results(settings):
    store = _store(settings)
    _ingest(store, settings, records(10, start=START))
    _ingest(store, settings, records(5, start=START + timedelta(days=2), seed=2))
    _label(store, settings, [{"id": "p1-0", "label": 1, "timestamp": "2026-11-20T10:30:00Z"}])
    deleted = store.delete_before("credit", START + timedelta(days=1))
    assert deleted == 10
    assert store.counts("credit") == (5, 0)
    store.close()


def test_label_lag_is_the_median_delay_from_prediction_to_label(settings):
    store = _store(settings)
    batch = records(3, start=START)  # timestamps START, +10 min, +20 min
    _ingest(store, settings, batch)
    label_time = (START + timedelta(hours=2)).isoformat()
    _label(store, settings, [{"id": r["id"], "label": 1, "timestamp": label_time} for r in batch])
    assert store.label_lag("credit") == pytest.approx(timedelta(minutes=110).total_seconds())
    store.close()


def test_the_store_holds_duckdb_to_the_configured_memory_limit(tmp_path, settings):
    store = Store(tmp_path / "limited.duckdb", settings.models, memory_limit_bytes=256 * 2**20)
    try:
        (limit,) = store.read("SELECT current_setting('memory_limit')").fetchone()
    finally:
        store.close()
    assert limit == "256.0 MiB"


def _data_tables(store: Store) -> set[str]:
    rows = store.read(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_name LIKE 'predictions_%' OR table_name LIKE 'labels_%'"
    ).fetchall()
    return {name for (name,) in rows}


def test_a_model_gets_its_tables_at_its_first_write(settings):
    credit = settings.models["credit"]
    store = Store(settings.store, {"credit": credit, "idle": replace(credit, name="idle")})
    assert _data_tables(store) == set()  # a new store creates none up front
    assert store.counts("idle") == (0, 0)
    assert store.data_range("idle") is None
    assert store.label_lag("idle") is None
    assert store.last_received("idle") is None
    _ingest(store, settings, records(10))
    assert len(_data_tables(store)) == 2  # credit's predictions and labels, not idle's
    _label(store, settings, [{"id": "p1-0", "label": 1, "timestamp": START.isoformat()}])
    store.close()

    reopened = Store(settings.store, {"credit": credit, "idle": replace(credit, name="idle")})
    assert reopened.counts("credit") == (10, 1)
    assert reopened.counts("idle") == (0, 0)
    assert len(_data_tables(reopened)) == 2
    reopened.close()
