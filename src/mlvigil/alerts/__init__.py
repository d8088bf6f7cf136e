"""Alerting: rules over check results, the alert state machine, routing and notifiers."""
