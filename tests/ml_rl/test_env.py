"""The RL environment is the backtest: SB3's `check_env` passes for every variant, and one
action sequence played through the env and through `run_backtest` gives the same equity curve
(KRX lots and dated sell tax, crypto fractional sizing, shorts, slippage with a vol term)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("stable_baselines3")
from stable_baselines3.common.env_checker import check_env

from qts.backtest.config import BacktestConfig
from qts.backtest.engine import run_backtest
from qts.ml.evaluation.backtest import _FixedTargets
from qts.ml.rl.env import EnvSettings, env_arrays
from qts.ml.rl.trading_env import TradingEnv
from qts.ml.samples import load_bars


def _features(bars: pd.DataFrame) -> pd.DataFrame:
    close = bars["close"]
    frame = pd.DataFrame({"ret": close.pct_change(), "ret5": close.pct_change(5)})
    return (frame - frame.mean()) / frame.std()


def _play(env: TradingEnv, actions: np.ndarray) -> tuple[list[float], list[float]]:
    """Equity at each close from the start row, and the target decided at each bar."""
    env.reset(seed=0)
    equity, targets = [env.equity], []
    for a in actions:
        _, _, terminated, truncated, info = env.step(a)
        equity.append(info["equity"])
        targets.append(info["target"])
        if terminated or truncated:
            break
    return equity, targets


VARIANTS = [
    ("005930", "1d", BacktestConfig(cash=10_000_000, slippage_bps=5.0), "discrete"),
    ("005930", "1d", BacktestConfig(cash=3_000_000, allow_short=True), "continuous"),
    ("BTC/USDT", "1h", BacktestConfig(slippage_vol_mult=0.5, min_fee=1.0), "discrete"),
    ("BTC/USDT", "1h", BacktestConfig(allow_short=True, leverage=2.0), "continuous"),
]


@pytest.mark.parametrize(("symbol", "timeframe", "config", "kind"), VARIANTS)
def test_check_env_passes(symbol: str, timeframe: str, config: BacktestConfig, kind: str) -> None:
    bars = load_bars([symbol], timeframe)[symbol.replace("/", "_")].iloc[:400]
    arrays = env_arrays(bars, _features(bars), config, symbol)
    settings = EnvSettings(lookback=4, action_space=kind, weight_step=0.25 * (kind != "discrete"))
    check_env(TradingEnv(arrays, settings), warn=True, skip_render_check=True)
    check_env(TradingEnv(arrays, EnvSettings(episode_length=50, random_start=True)))


@pytest.mark.parametrize(("symbol", "timeframe", "config", "kind"), VARIANTS)
def test_env_equity_equals_backtest_engine(
    symbol: str, timeframe: str, config: BacktestConfig, kind: str
) -> None:
    bars = load_bars([symbol], timeframe)[symbol.replace("/", "_")].iloc[:1500]
    arrays = env_arrays(bars, _features(bars), config, symbol)
    env = TradingEnv(arrays, EnvSettings(lookback=3, action_space=kind), start=30)
    rng = np.random.default_rng(7)
    n = env.end - env.start
    if kind == "discrete":
        # Runs of held actions, so on_change targets trade on some bars and not others.
        actions = np.repeat(rng.integers(0, env.action_space.n, n // 3 + 1), 3)[: n - 1]
    else:
        actions = rng.uniform(-1.0, 1.0, size=(n - 1, 1)).astype(np.float32)
    equity, targets = _play(env, actions)
    index = bars.index
    decided = pd.Series(0.0, index=index)
    decided.iloc[env.start : env.start + len(targets)] = targets
    frame = decided.to_frame(symbol)
    result = run_backtest(_FixedTargets(frame), {symbol: bars}, config, trade_start=index[30])
    engine = result.equity.to_numpy()
    assert len(result.fills) > 20, "the sequence must trade for the comparison to mean much"
    np.testing.assert_allclose(equity, engine[: len(equity)], rtol=0, atol=1e-9 * engine[0])
    assert env.fees == pytest.approx(float(result.fills["fee"].sum()), rel=1e-12)
