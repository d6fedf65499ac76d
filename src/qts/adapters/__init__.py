"""Storage and locking adapters picked by configuration: SQL and Redis feature stores, login throttle, job locks."""
