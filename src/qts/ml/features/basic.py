"""The `basic` preset: eight returns-based columns (log returns over 1, 5 and 20 bars, 20-bar
realised volatility, close vs its 20-bar mean, the bar's range and body, the volume's 20-bar
z-score), all causal. Small enough for quick experiments and tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .context import FeatureContext
from .definition import FeatureDefinition

BASIC_COLUMNS = (
    "logret_1", "logret_5", "logret_20", "logret_std_20", "close_vs_sma_20", "range", "body",
    "volume_z_20",
)  # fmt: skip


def compute_basic(bars: pd.DataFrame, ctx: FeatureContext | None = None) -> pd.DataFrame:
    close = bars["close"]
    log_ret = np.log(close).diff()
    volume = np.log1p(bars["volume"])
    out = pd.DataFrame(index=bars.index)
    out["logret_1"] = log_ret
    out["logret_5"] = log_ret.rolling(5).sum()
    out["logret_20"] = log_ret.rolling(20).sum()
    out["logret_std_20"] = log_ret.rolling(20).std()
    out["close_vs_sma_20"] = close / close.rolling(20).mean() - 1.0
    out["range"] = (bars["high"] - bars["low"]) / close
    out["body"] = (close - bars["open"]) / close
    out["volume_z_20"] = (volume - volume.rolling(20).mean()) / volume.rolling(20).std()
    return out.replace([np.inf, -np.inf], np.nan).astype(np.float64)


BASIC = FeatureDefinition(
    name="basic",
    fn=compute_basic,
    group="basic",
    columns=BASIC_COLUMNS,
    description="Log returns (1, 5, 20 bars), 20-bar volatility, close vs 20-bar mean, range, "
    "body, volume z-score",
)
