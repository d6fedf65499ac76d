"""A fresh data directory per test: what a new user starts from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def fresh_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from qts.cli import common
    from qts.config import reset_settings_cache

    data_dir = tmp_path / "var"
    monkeypatch.setenv("QTS_DATA_DIR", str(data_dir))
    for name in ("QTS_DATABASE_URL", "QTS_REDIS_URL", "QTS_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    reset_settings_cache()
    common._migrated.clear()
    yield data_dir
    reset_settings_cache()
    common._migrated.clear()
