"""Scheduled job runs, health checks and the system monitor."""
