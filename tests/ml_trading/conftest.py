"""A tiny LightGBM fitted on the 5 KRX samples up to 2025-01-31 (bars after it are out of
sample), served from memory by an inference engine; fits in about three seconds."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from qts.ml.inference import InferenceEngine, fit_in_memory
from qts.ml.samples import load_bars

TRAIN_END = "2025-01-31"
TINY_LGBM: dict[str, Any] = {"epochs": 30, "num_threads": 1}
# `db` (both backends), `sqlite_db` and `bus` come from tests/conftest.py.


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
