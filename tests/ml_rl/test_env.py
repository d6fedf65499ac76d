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


PORTFOLIOS = [
    (["000660", "005380", "005930"], "1d", BacktestConfig(cash=50_000_000, slippage_bps=3.0)),
    (["BTC/USDT", "ETH/USDT"], "1h", BacktestConfig(allow_short=True, leverage=1.5)),
]


@pytest.mark.parametrize(("symbols", "timeframe", "config"), PORTFOLIOS)
def test_portfolio_env_passes_check_env_and_equals_the_engine(
    symbols: list[str], timeframe: str, config: BacktestConfig
) -> None:
    """Portfolio weights over a universe, one cash balance: the engine's equity to 1e-9."""
    from qts.ml.rl.portfolio_env import PortfolioEnv

    loaded = load_bars(symbols, timeframe)
    bars = {s: loaded[s.replace("/", "_")].iloc[:600] for s in symbols}
    spec = config.resolve(symbols)
    arrays = {s: env_arrays(b, _features(b), spec, s) for s, b in bars.items()}
    check_env(PortfolioEnv(arrays, EnvSettings(lookback=3, weight_step=0.1)), warn=True,
              skip_render_check=True)  # fmt: skip
    env = PortfolioEnv(arrays, EnvSettings(lookback=2), start=30)
    env.reset(seed=0)
    rng = np.random.default_rng(3)
    equity, decided = [env.equity], []
    for _ in range(env.end - env.start - 1):
        # Hold each draw a few bars, so some symbols keep their target and others change.
        action = rng.uniform(-1, 1, env.k) if rng.random() < 0.4 or not decided else decided[-1]
        _, _, terminated, truncated, info = env.step(action)
        equity.append(info["equity"])
        decided.append(info["targets"])
        if terminated or truncated:
            break
    index = bars[symbols[0]].index
    frame = pd.DataFrame(0.0, index=index, columns=env.symbols)
    frame.iloc[30 : 30 + len(decided)] = np.array(decided)
    result = run_backtest(_FixedTargets(frame), bars, spec, trade_start=index[30])
    engine = result.equity.to_numpy()
    assert len(result.fills) > 50
    np.testing.assert_allclose(equity, engine[: len(equity)], rtol=0, atol=1e-9 * engine[0])
    assert env.fees == pytest.approx(float(result.fills["fee"].sum()), rel=1e-12)
