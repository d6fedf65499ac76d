"""What every command that touches stored data does first: make the data directory and bring
the database schema up to date (idempotent), so any command works on a fresh machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_migrated: set[str] = set()


def ensure_database(data_dir: Path | None = None) -> str:
    """Apply `data_dir` (when given), create it, migrate the database; returns its URL."""
    from qts.config import get_settings, reset_settings_cache
    from qts.db.migrate import upgrade

    if data_dir is not None:
        os.environ["QTS_DATA_DIR"] = str(data_dir)
        reset_settings_cache()
    settings = get_settings()
    settings.ensure_data_dir()
    url = settings.effective_database_url
    if url not in _migrated:
        upgrade(url)
        _migrated.add(url)
    return url


def open_database(data_dir: Path | None = None) -> Any:
    from qts.db import Database

    return Database(ensure_database(data_dir))


def app_context(data_dir: Path | None = None) -> Any:
    from qts.config import get_settings
    from qts.services.context import AppContext

    ensure_database(data_dir)
    return AppContext.from_settings(get_settings())
