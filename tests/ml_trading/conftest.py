"""A tiny LightGBM fitted on the 5 KRX samples up to 2025-01-31 (bars after it are out of
sample), served from memory by an inference engine; fits in about three seconds."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from qts.db import Database
from qts.db.migrate import upgrade
from qts.events import InProcessEventBus
from qts.ml.inference import InferenceEngine, fit_in_memory
from qts.ml.samples import load_bars

TRAIN_END = "2025-01-31"
TINY_LGBM: dict[str, Any] = {"epochs": 30, "num_threads": 1}


@pytest.fixture(scope="session")
def krx5() -> dict[str, pd.DataFrame]:
    return load_bars(None, "1d")


@pytest.fixture(scope="session")
def tiny_model(krx5: dict[str, pd.DataFrame]) -> tuple[Any, Any]:
    return fit_in_memory("lightgbm", krx5, end=TRAIN_END, overrides=TINY_LGBM)


def engine_with(tiny_model: tuple[Any, Any]) -> InferenceEngine:
    """A fresh engine (its own in-memory feature stores) serving the tiny model as `tiny/1`."""
    engine = InferenceEngine()
    engine.add("tiny", "1", *tiny_model)
    return engine


@pytest.fixture
def db(db_url: str):  # type: ignore[no-untyped-def]
    upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'qts.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def bus() -> InProcessEventBus:
    return InProcessEventBus()
