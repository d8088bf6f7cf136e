"""The monitoring service: ingest, store, scheduled evaluation, API and metrics."""
