"""Backtests run and stored for the API and CLI."""
