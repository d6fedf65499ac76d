"""Shared fixtures: real KRX daily sample bars and tiny model settings that train in seconds."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from qts.ml.samples import build_samples, load_bars

# Small enough for a shared 2-core machine; big enough to learn something.
TINY: dict[str, dict[str, Any]] = {
    "lstm": {"hidden_size": 8, "epochs": 2, "lookback": 8},
    "transformer": {"d_model": 8, "n_heads": 2, "num_layers": 1, "dim_feedforward": 16,
                    "epochs": 2, "lookback": 8},
    "tcn": {"channels": 8, "levels": 2, "epochs": 2, "lookback": 8},
    "nbeats": {"width": 16, "n_blocks": 2, "epochs": 2, "lookback": 8},
    "cnn": {"channels": 8, "epochs": 2, "lookback": 8},
    "attention": {"d_model": 8, "n_heads": 2, "epochs": 2, "lookback": 8},
    "lightgbm": {"epochs": 30, "num_threads": 1},
    "stacking": {"base_models": ["lightgbm", "nbeats"], "n_folds": 2, "base_overrides": {
        "lightgbm": {"epochs": 20, "num_threads": 1}, "nbeats": {"width": 8, "n_blocks": 1, "epochs": 2}}},
}  # fmt: skip


@pytest.fixture(scope="session")
def krx_bars() -> dict[str, pd.DataFrame]:
    return load_bars(["005930", "000660", "005380"], "1d")


@pytest.fixture(scope="session")
def seq_samples(krx_bars: dict[str, pd.DataFrame]) -> Any:
    return build_samples(krx_bars, horizon=1, lookback=8, feature_set="basic")


@pytest.fixture(scope="session")
def tab_samples(krx_bars: dict[str, pd.DataFrame]) -> Any:
    return build_samples(krx_bars, horizon=1, lookback=1, feature_set="basic")
