"""A random walk and the leak-control experiment shared by the leak test and the benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.ml.rl.env import env_arrays
from qts.ml.rl.evaluation import chain, targets_run
from qts.ml.rl.rollout import rollout_targets
from qts.ml.rl.trading_env import TradingEnv

ZERO_COSTS = BacktestConfig(
    market="crypto", cash=100_000.0, commission=0.0, fixed_fee=0.0, min_fee=0.0, sell_tax=0.0,
    slippage_bps=0.0, slippage_vol_mult=0.0, fractional=True, qty_step=1e-8, allow_short=True,
)  # fmt: skip
TRAIN_BARS = 2000


def random_walk(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Daily bars of a driftless random walk (1% a bar); each open is the previous close."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    opens = np.r_[100.0, close[:-1]]
    index = pd.date_range("2015-01-01", periods=n, freq="D", tz="UTC")
    return pd.DataFrame({"open": opens, "high": np.maximum(opens, close),
                         "low": np.minimum(opens, close), "close": close, "volume": 1.0},
                        index=index)  # fmt: skip


def features(bars: pd.DataFrame, leak: bool, seed: int = 0) -> pd.DataFrame:
    """Last bar's return and noise; with `leak`, also the NEXT bar's return (the one an
    action decided now earns), standardised on the training bars."""
    ret = bars["close"].pct_change()
    rng = np.random.default_rng(seed + 1)
    frame = pd.DataFrame({"ret": ret, "noise": rng.normal(size=len(bars))}, index=bars.index)
    if leak:
        frame["next_ret"] = ret.shift(-1).fillna(0.0)
    train = frame.iloc[:TRAIN_BARS]
    return (frame - train.mean()) / train.std()


def oos_result(policy_type: str, leak: bool, seed: int, steps: int, **overrides: object) -> dict:
    """Train on the first TRAIN_BARS bars, trade the rest greedily through the engine."""
    from qts.ml.models import create_model
    from qts.ml.rl.env import action_levels

    bars = random_walk(seed=100 + seed)
    feats = features(bars, leak, seed)
    train = env_arrays(bars.iloc[:TRAIN_BARS], feats.iloc[:TRAIN_BARS], ZERO_COSTS, "RW/USDT")
    policy = create_model(policy_type, **{"seed": seed, **overrides})
    settings = policy.config.env_settings(training=True)
    fns = [lambda: TradingEnv(train, settings) for _ in range(policy.config.n_envs)]
    policy.learn(fns, action_levels(True), steps)
    full = env_arrays(bars, feats, ZERO_COSTS, "RW/USDT")
    targets = rollout_targets(policy, full, TRAIN_BARS)
    frame = pd.DataFrame({"RW/USDT": targets}, index=bars.index)
    universe = {"RW/USDT": bars}
    lo, hi = bars.index[TRAIN_BARS], bars.index[-1]
    return chain([targets_run(frame, universe, ZERO_COSTS, lo, hi)], universe, "1d")
