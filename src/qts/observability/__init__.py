"""Logging set-up, Prometheus metrics and secret redaction."""
