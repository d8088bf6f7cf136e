"""The store: migrations, schema evolution, retention, label lag."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import orjson
import pytest
from service_data import START, records

from mlvigil.exceptions import ConfigError
from mlvigil.service.ingest import labels_from_json, predictions_from_json
from mlvigil.service.row_tables import GROUP_SIZE, wanted_layout
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


def _wider(model, feature: str = "tenure"):
    features = {**model.schema.features, feature: "numerical"}
    return replace(model, schema=model.schema.model_copy(update={"features": features}))


def test_models_of_one_layout_share_a_pair_of_tables_and_see_only_their_own_rows(settings):
    credit = settings.models["credit"]
    models = {"credit": credit, "twin": replace(credit, name="twin")}
    store = Store(settings.store, models)
    assert _data_tables(store) == {"predictions_g1", "labels_g1"}
    assert store.data_range("twin") is None
    _ingest(store, settings, records(10))
    _label(store, settings, [{"id": "p1-0", "label": 1, "timestamp": START.isoformat()}])
    assert store.counts("twin") == (0, 0)
    assert store.data_range("twin") is None
    assert store.label_lag("twin") is None
    assert store.last_received("twin") is None
    # The same ids, sent to the twin: its rows and labels, not credit's
    body = orjson.dumps({"records": records(4)})
    store.insert_predictions("twin", predictions_from_json(body, models["twin"]))
    labels = orjson.dumps({"records": [{"id": "p1-0", "label": 0}]})
    store.insert_labels("twin", labels_from_json(labels, models["twin"]))
    hour = (START, START + timedelta(hours=1))
    assert store.window_table("twin", *hour).num_rows == 4
    assert store.counts("credit") == (10, 1)
    store.close()

    reopened = Store(settings.store, models)
    assert _data_tables(reopened) == {"predictions_g1", "labels_g1"}
    assert reopened.counts("credit") == (10, 1)
    assert reopened.counts("twin") == (4, 1)
    credit_labels = reopened.window_table("credit", *hour).column("__label").to_pylist()
    twin_labels = reopened.window_table("twin", *hour).column("__label").to_pylist()
    assert [label for label in credit_labels if label is not None] == ["1"]
    assert [label for label in twin_labels if label is not None] == ["0"]
    reopened.close()


def test_a_full_pair_of_tables_makes_room_in_another(settings):
    credit = settings.models["credit"]
    models = {f"m{i}": replace(credit, name=f"m{i}") for i in range(GROUP_SIZE + 1)}
    store = Store(settings.store, models)
    assert len(_data_tables(store)) == 4
    store.close()


def test_a_model_whose_layout_grows_moves_with_its_rows_and_its_neighbours_stay(settings):
    credit = settings.models["credit"]
    models = {"credit": credit, "twin": replace(credit, name="twin")}
    store = Store(settings.store, models)
    _ingest(store, settings, records(10))
    _label(store, settings, [{"id": "p1-0", "label": 1}])
    body = orjson.dumps({"records": records(4)})
    store.insert_predictions("twin", predictions_from_json(body, models["twin"]))
    store.close()

    grown = {**models, "credit": _wider(credit)}
    store = Store(settings.store, grown)
    assert _data_tables(store) == {"predictions_g1", "labels_g1", "predictions_g2", "labels_g2"}
    assert store.counts("credit") == (10, 1)
    assert store.counts("twin") == (4, 0)
    window = store.window_table("credit", START, START + timedelta(hours=1))
    assert window.column("tenure").null_count == window.num_rows
    store.close()
    store = Store(settings.store, grown)  # the same layouts: nothing moves again
    assert store.counts("credit") == (10, 1)
    assert len(_data_tables(store)) == 4
    store.close()
    # The twin grows the same way: it joins credit, and the pair it leaves empty goes
    store = Store(settings.store, {name: _wider(model) for name, model in models.items()})
    assert _data_tables(store) == {"predictions_g2", "labels_g2"}
    assert store.counts("twin") == (4, 0)
    store.close()


def test_a_store_with_tables_of_each_model_moves_their_rows_to_shared_ones(settings):
    """A store written before models shared tables gave each model a pair of its own."""
    import duckdb

    credit = settings.models["credit"]
    settings.store.parent.mkdir(parents=True, exist_ok=True)
    old = duckdb.connect(str(settings.store))
    old.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)"
    )
    for version, sql in enumerate(MIGRATIONS[:-1], start=1):
        old.execute(sql)
        old.execute("INSERT INTO schema_migrations VALUES (?, now())", [version])
    layout = wanted_layout(credit, None)
    columns = ", ".join(f'"{name}" {kind}' for name, kind in layout.predictions)
    old.execute(f"CREATE TABLE predictions_1 ({columns})")
    old.execute(
        "CREATE TABLE labels_1 (id VARCHAR PRIMARY KEY, label DOUBLE, "
        "timestamp TIMESTAMPTZ, received_at TIMESTAMPTZ)"
    )
    old.execute("INSERT INTO models (name, table_id) VALUES ('credit', 1)")
    old.execute(
        "INSERT INTO predictions_1 (id, timestamp, age) VALUES ('a', ?, 30), ('b', ?, 40)",
        [START, START + timedelta(minutes=5)],
    )
    old.execute("INSERT INTO labels_1 VALUES ('a', 1, ?, ?)", [START, START])
    old.close()

    store = Store(settings.store, {"credit": credit})
    assert _data_tables(store) == {"predictions_g1", "labels_g1"}
    assert store.counts("credit") == (2, 1)
    window = store.window_table("credit", START, START + timedelta(hours=1)).to_pylist()
    assert {(row["id"], row["age"]) for row in window} == {("a", 30.0), ("b", 40.0)}
    assert store.data_range("credit") == (START, START + timedelta(minutes=5))
    store.close()
