"""The store's schema, as numbered migrations (``schema_migrations`` records what ran).

A store opened by a newer mlvigil runs the migrations it has not run yet, in order, in
one transaction; a store of an older version keeps working and gains what is new.
Migration 9 adds each drift result's score as a column (computed in Python for new
results; for results stored before, once, from their details).
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE models (
        name VARCHAR PRIMARY KEY,
        table_id INTEGER NOT NULL UNIQUE,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE ingest_batches (
        model VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        idempotency_key VARCHAR NOT NULL,
        rows BIGINT NOT NULL,
        received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (model, kind, idempotency_key)
    );
    CREATE TABLE windows (
        model VARCHAR NOT NULL,
        window_start TIMESTAMPTZ NOT NULL,
        window_end TIMESTAMPTZ NOT NULL,
        rows BIGINT NOT NULL,
        labelled BIGINT NOT NULL,
        evaluated_at TIMESTAMPTZ NOT NULL,
        labels_final BOOLEAN NOT NULL,
        profile BLOB,
        PRIMARY KEY (model, window_start)
    );
    CREATE TABLE results (
        model VARCHAR NOT NULL,
        window_start TIMESTAMPTZ NOT NULL,
        window_end TIMESTAMPTZ NOT NULL,
        "check" VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        "column" VARCHAR,
        value DOUBLE,
        threshold DOUBLE,
        status VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        message VARCHAR NOT NULL,
        details JSON,
        evaluated_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX results_by_window ON results (model, window_start);
    """,
    """
    CREATE TABLE alert_state (
        alert_key VARCHAR PRIMARY KEY,
        state JSON NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE alert_events (
        happened_at TIMESTAMPTZ NOT NULL,
        alert_key VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        alert JSON NOT NULL
    );
    """,
    """
    CREATE SEQUENCE outbox_ids;
    CREATE TABLE outbox (
        id BIGINT PRIMARY KEY DEFAULT nextval('outbox_ids'),
        receiver VARCHAR NOT NULL,
        notification JSON NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TIMESTAMPTZ NOT NULL,
        delivered_at TIMESTAMPTZ,
        last_error VARCHAR
    );
    """,
    """
    CREATE TABLE silences (
        id VARCHAR PRIMARY KEY,
        silence JSON NOT NULL
    );
    """,
    """
    CREATE TABLE alert_groups (
        group_id VARCHAR PRIMARY KEY,
        state JSON NOT NULL
    );
    """,
    """
    ALTER TABLE results ADD COLUMN segment VARCHAR;
    """,
    """
    CREATE TABLE window_profiles (
        window_key VARCHAR PRIMARY KEY,  -- model|window_start in epoch microseconds
        profile BLOB NOT NULL
    );
    INSERT INTO window_profiles
        SELECT model || '|' || epoch_us(window_start), profile FROM windows
        WHERE profile IS NOT NULL;
    UPDATE windows SET profile = NULL;
    """,
    """
    ALTER TABLE windows ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE windows ADD COLUMN first_evaluated_at TIMESTAMPTZ;
    UPDATE windows SET first_evaluated_at = evaluated_at;
    ALTER TABLE windows ADD COLUMN late_rows BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE windows ADD COLUMN late_labels BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE windows ADD COLUMN changes_seen BIGINT NOT NULL DEFAULT 0;
    CREATE SEQUENCE change_ids;
    CREATE TABLE data_changes (
        id BIGINT PRIMARY KEY DEFAULT nextval('change_ids'),
        model VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,           -- predictions or labels
        first_at TIMESTAMPTZ NOT NULL,   -- timestamps of the predictions concerned
        last_at TIMESTAMPTZ NOT NULL,
        rows BIGINT NOT NULL
    );
    """,
    """
    ALTER TABLE results ADD COLUMN score DOUBLE;
    UPDATE results SET score = coalesce(
        TRY_CAST(json_extract_string(details, '$.score') AS DOUBLE),
        CASE WHEN json_extract_string(details, '$.rule') = 'p_value'
                  AND threshold > 0 AND threshold < 1
             THEN ln(greatest(coalesce(
                    TRY_CAST(json_extract_string(details, '$.p_value_adjusted') AS DOUBLE),
                    TRY_CAST(json_extract_string(details, '$.p_value') AS DOUBLE)), 1e-300))
                  / ln(threshold)
             ELSE value / nullif(threshold, 0) END)
    WHERE "check" = 'drift' AND "column" IS NOT NULL AND status IN ('passed', 'failed');
    """,
    """
    -- retention: end of the newest pruned window per model (see service/pruning.py)
    ALTER TABLE models ADD COLUMN pruned_until TIMESTAMPTZ;
    """,
    """
    -- idempotency: a hash of each acknowledged body, so a key reused for another body
    -- is refused (409) instead of dropping its rows; NULL for batches stored before
    ALTER TABLE ingest_batches ADD COLUMN body_hash VARCHAR;
    """,
    """
    -- ordered delivery: notifications of one receiver and group go out in order, and a
    -- newer one supersedes those undelivered (see alerts/outbox.py); a notification
    -- queued before has a group of its own
    ALTER TABLE outbox ADD COLUMN group_key VARCHAR;
    UPDATE outbox SET group_key = 'legacy:' || id;
    ALTER TABLE outbox ADD COLUMN superseded_by BIGINT;
    ALTER TABLE outbox ADD COLUMN superseded_at TIMESTAMPTZ;
    -- errors stored before repeated receivers' answers unmasked: keep their status only
    UPDATE outbox SET last_error = regexp_replace(last_error, '(answered [0-9]+): .*', '\\1', 's')
    WHERE last_error IS NOT NULL;
    """,
    """
    -- profiles pushed for a window by each source (see service/pushed.py)
    CREATE TABLE pushed_profiles (
        model VARCHAR NOT NULL,
        window_start TIMESTAMPTZ NOT NULL,
        source VARCHAR NOT NULL,
        profile BLOB NOT NULL,
        rows BIGINT NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (model, window_start, source)
    );
    """,
    """
    -- performance states (labels against predictions) pushed per window and source
    CREATE TABLE pushed_performance (
        model VARCHAR NOT NULL,
        window_start TIMESTAMPTZ NOT NULL,
        source VARCHAR NOT NULL,
        state BLOB NOT NULL,
        labelled BIGINT NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (model, window_start, source)
    );
    """,
    """
    -- models of one layout share a pair of row tables (see service/row_tables.py); a
    -- model registered before has a row_table of NULL until its rows move to a pair
    CREATE TABLE row_tables (
        id INTEGER PRIMARY KEY,
        signature VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    ALTER TABLE models ADD COLUMN row_table INTEGER;
    """,
)
